package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ExpNeg agrees with math.Exp to about 2 ulp over (−700, 0], at the edges
// too, and defers to math.Exp outside.
func TestExpNeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	worst := 0.0
	edges := []float64{0, math.Copysign(0, -1), -1e-300, -math.Ln2 / 128, -math.Ln2, -1, -39.999999, -699.99}
	for i := range 1_000_000 {
		u := -700 * rng.Float64()
		if i < len(edges) {
			u = edges[i]
		}
		got, want := ExpNeg(u), math.Exp(u)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 5e-16 {
		t.Fatalf("largest relative error %.3g", worst)
	}
	for _, u := range []float64{-700, -745, -746, -1e10, 3, math.Inf(-1)} {
		if ExpNeg(u) != math.Exp(u) {
			t.Errorf("ExpNeg(%g) = %g, want math.Exp's %g", u, ExpNeg(u), math.Exp(u))
		}
	}
	if !math.IsNaN(ExpNeg(math.NaN())) {
		t.Error("ExpNeg(NaN) is not NaN")
	}
}
