//go:build !amd64 || purego

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

// syrkTile adds a 4×8 tile of UᵀU to acc (see the amd64 version).
func syrkTile(u []float64, ds, m, p0, q0 int, acc []float64) {
	syrkTileGo(u, ds, m, p0, q0, acc)
}
