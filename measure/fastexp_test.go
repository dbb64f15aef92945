package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expNeg agrees with math.Exp to 1e-15 relative over the kernel range and
// at the edges, and falls back for underflow, −Inf and NaN.
func TestExpNeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	worst := 0.0
	check := func(x float64) {
		got, want := expNeg(x), math.Exp(x)
		if want == 0 {
			if got != 0 {
				t.Errorf("exp(%g) = %g, want 0", x, got)
			}
			return
		}
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	for range 1_000_000 {
		check(-rng.Float64() * 50)
		check(-rng.ExpFloat64() * 100)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), -1e-300, -math.Ln2 / 128, -math.Ln2, -1, -699.99, -700, -745, -746, -1e10} {
		check(x)
	}
	if worst > 1e-15 {
		t.Errorf("largest relative error %.3g", worst)
	}
	if expNeg(math.Inf(-1)) != 0 || !math.IsNaN(expNeg(math.NaN())) || expNeg(0) != 1 {
		t.Error("special values")
	}
}
