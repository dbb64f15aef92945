//go:build !amd64

package measure

import "gonum.org/v1/gonum/floats"

// dotFast is the inner product of a and b[:len(a)] (gonum's kernel).
func dotFast(a, b []float64) float64 { return floats.Dot(a, b[:len(a)]) }

// dot4 sets out[r] = a[r]·b for the up to four rows a; missing rows give 0.
func dot4(a [][]float64, b []float64, out *[4]float64) {
	for r := range 4 {
		out[r] = 0
		if r < len(a) && len(b) > 0 {
			out[r] = floats.Dot(a[r][:len(b)], b)
		}
	}
}

// dot4x2 sets out[r] = a[r]·b0 and out[4+r] = a[r]·b1 for the up to four
// rows a; missing rows give 0.
func dot4x2(a [][]float64, b0, b1 []float64, out *[8]float64) { dot4x2Go(a, b0, b1, out) }
