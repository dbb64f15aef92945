package stats

import (
	"math"
	"testing"
)

// The 95% t quantile with 4 degrees of freedom is 2.776445 (tables).
func TestTInterval95HandComputed(t *testing.T) {
	cases := []struct {
		v      []float64
		mean   float64
		lo, hi float64
	}{
		// mean 3, sd √2.5, se √0.5, t₄ = 2.7764451
		{[]float64{1, 2, 3, 4, 5}, 3, 3 - 2.7764451*math.Sqrt(0.5), 3 + 2.7764451*math.Sqrt(0.5)},
		// two values: t₁ = 12.7062047, sd = √2, se = 1
		{[]float64{0, 2}, 1, 1 - 12.7062047, 1 + 12.7062047},
	}
	for _, c := range cases {
		m, ci := TInterval95(c.v)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(ci[0]-c.lo) > 1e-6 || math.Abs(ci[1]-c.hi) > 1e-6 {
			t.Errorf("TInterval95(%v) = %g %v, want %g [%g %g]", c.v, m, ci, c.mean, c.lo, c.hi)
		}
	}
	for _, v := range [][]float64{nil, {7}} {
		m, ci := TInterval95(v)
		if !math.IsNaN(ci[0]) || !math.IsNaN(ci[1]) {
			t.Errorf("TInterval95(%v) interval %v, want NaN", v, ci)
		}
		if len(v) == 1 && m != 7 {
			t.Errorf("mean of {7} = %g", m)
		}
	}
}
