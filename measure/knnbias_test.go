package measure

import (
	"math"
	"testing"
)

// The bias extension of knnInterval on statistics whose value depends only
// on the subsample size m, θ(m) = θ∞ + c·m^(−a): for a = 1/2 Aitken's and
// Richardson's extrapolations are both exact (bias −c·n^(−1/2)); for a = 1
// Aitken gives d₁ = −c/n, exactly the bias, and the n^(−1/2) rate the
// larger −(1 + √2)·c/n, which is used (conservative); for a = 1/4 Aitken's is larger
// and exact again.
func TestKNNBiasExtension(t *testing.T) {
	const n, theta, c = 400, 2.0, 3.0
	for _, tc := range []struct {
		a    float64
		want float64 // θ∞ − θ̂ the extension reports
	}{
		{0.5, -c / math.Sqrt(n)},
		{1, -(1 + math.Sqrt2) * c / n},
		{0.25, -c * math.Pow(n, -0.25)},
	} {
		stat := func(idx [][]int) (float64, error) { return theta + c*math.Pow(float64(len(idx[0])), -tc.a), nil }
		v, _ := stat([][]int{make([]int, n)})
		set := map[string]any{}
		ci, err := knnInterval(v, nil, []int{n}, KNNInterval{Resamples: 20, Seed: 1, BiasAware: true}, stat, set)
		if err != nil {
			t.Fatal(err)
		}
		got := set["bias_extrapolated"].(float64)
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("a = %g: bias %.15g, want %.15g", tc.a, got, tc.want)
		}
		// The interval is the point (no spread) extended down by the bias.
		if math.Abs(ci[1]-v) > 1e-12 || math.Abs(ci[0]-(v+tc.want)) > 1e-12 {
			t.Errorf("a = %g: interval %v, want [%g, %g]", tc.a, ci, v+tc.want, v)
		}
	}
}
