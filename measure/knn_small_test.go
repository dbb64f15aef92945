package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Small sets whose quarter-samples hold k rows or fewer (15 points, k = 3:
// quarter-samples of 3) give a finite estimate and interval, not a panic.
func TestKNNSmallSets(t *testing.T) {
	for _, n := range []int{8, 11, 15} {
		rng := rand.New(rand.NewPCG(7, uint64(n)))
		x := make([][]float64, n)
		y := make([][]float64, n)
		for i := range x {
			x[i] = []float64{rng.NormFloat64(), rng.NormFloat64()}
			y[i] = []float64{rng.NormFloat64() + 1, rng.NormFloat64()}
		}
		h, err := KLEntropy(x, 3)
		if err != nil {
			t.Fatalf("n=%d entropy: %v", n, err)
		}
		kl, err := KLDivergence(x, y, 3)
		if err != nil {
			t.Fatalf("n=%d KL: %v", n, err)
		}
		for _, r := range []Result{h, kl} {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || math.IsNaN(r.CI95[0]) || math.IsNaN(r.CI95[1]) {
				t.Errorf("n=%d: value %g interval %v", n, r.Value, r.CI95)
			}
			if _, ok := r.Settings["mean_quarter"]; ok && n < 16 {
				t.Errorf("n=%d: mean_quarter recorded from quarter-samples of %d rows", n, n/4)
			}
		}
	}
}
