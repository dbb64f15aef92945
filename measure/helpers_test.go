package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

func gauss(rng *rand.Rand, n, d int, mu, sd float64) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = mu + sd*rng.NormFloat64()
		}
	}
	return x
}

// corrPair draws n pairs of standard normals with correlation rho.
func corrPair(rng *rand.Rand, n int, rho float64) (x, y [][]float64) {
	for range n {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x = append(x, []float64{a})
		y = append(y, []float64{rho*a + math.Sqrt(1-rho*rho)*b})
	}
	return
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %g", name, got, want, tol)
	}
}
