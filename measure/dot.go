package measure

import "gonum.org/v1/gonum/floats"

// dot4x2Go is the portable dot4x2.
func dot4x2Go(a [][]float64, b0, b1 []float64, out *[8]float64) {
	n := len(b0)
	for r := range 4 {
		out[r], out[4+r] = 0, 0
		if r < len(a) && n > 0 {
			out[r] = floats.Dot(a[r][:n], b0)
			out[4+r] = floats.Dot(a[r][:n], b1[:n])
		}
	}
}
