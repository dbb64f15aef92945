package vecmath

import (
	"math"
	"testing"
)

// DotGo sums exactly where every partial sum is an integer below 2⁵³, for
// every length through the blocks of four and the tail, and reads no
// more of b than len(a).
func TestDotGo(t *testing.T) {
	for n := range 40 {
		a, b := make([]float64, n), make([]float64, n+2)
		want := 0.0
		for i := range a {
			a[i], b[i] = float64(i+1), float64(2*i-7)
			want += a[i] * b[i]
		}
		b[n], b[n+1] = math.NaN(), math.NaN()
		if got := DotGo(a, b); got != want {
			t.Errorf("n %d: %v, want %v", n, got, want)
		}
	}
	// The order is fixed: lanes 1e16, 1, −1e16, 0 sum as (1e16+1)+(−1e16),
	// 0 since 1e16+1 rounds to 1e16; (s0+s2)+(s1+s3) would give 1.
	if got := DotGo([]float64{1e16, 1, -1e16, 0}, []float64{1, 1, 1, 1}); got != 0 {
		t.Errorf("summation order: %v, want 0", got)
	}
}
