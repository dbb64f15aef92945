package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// MeanCI on hand-computed numbers: {2, 4, 6} has mean 4, sample std 2 and
// half-width t(0.975, 2)·2/√3 = 4.302653·1.154701 = 4.968275.
func TestMeanCI(t *testing.T) {
	cases := []struct {
		name           string
		xs             []float64
		mean, std, lo  float64
		hi             float64
		n              int
		undefinedRange bool
	}{
		{"three seeds", []float64{2, 4, 6}, 4, 2, 4 - 4.968275, 4 + 4.968275, 3, false},
		// {1, 2, 3, 4}: mean 2.5, std √(5/3) = 1.290994, t(0.975, 3) =
		// 3.182446, half-width 2.054260.
		{"four seeds", []float64{1, 2, 3, 4}, 2.5, 1.290994, 2.5 - 2.054260, 2.5 + 2.054260, 4, false},
		{"NaN left out", []float64{2, math.NaN(), 4, 6, math.Inf(1)}, 4, 2, 4 - 4.968275, 4 + 4.968275, 3, false},
		{"one seed", []float64{3}, 3, math.NaN(), 0, 0, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iv := MeanCI(c.xs)
			if iv.N != c.n || !near(iv.Mean, c.mean, 1e-9) {
				t.Fatalf("%+v", iv)
			}
			if c.undefinedRange {
				if !math.IsNaN(iv.Lo) || !math.IsNaN(iv.Hi) || !math.IsNaN(iv.Std) {
					t.Fatalf("interval of one value %+v", iv)
				}
				return
			}
			if !near(iv.Std, c.std, 1e-6) || !near(iv.Lo, c.lo, 1e-5) || !near(iv.Hi, c.hi, 1e-5) {
				t.Fatalf("%+v, want std %g [%g, %g]", iv, c.std, c.lo, c.hi)
			}
		})
	}
	if iv := MeanCI(nil); iv.N != 0 || !math.IsNaN(iv.Mean) {
		t.Fatalf("empty %+v", iv)
	}
	b, err := json.Marshal(MeanCI([]float64{3}))
	if err != nil || !strings.Contains(string(b), `"ci95_lo":null`) {
		t.Fatalf("JSON of an undefined interval: %s %v", b, err)
	}
}

// The gap over seeds: test losses {2.0, 2.2, 2.4} and train losses
// {1.5, 1.6, 1.7} give gaps {0.5, 0.6, 0.7}: mean 0.6, std 0.1,
// half-width 4.302653·0.1/√3 = 0.248414.
func TestGapCI(t *testing.T) {
	test, train := []float64{2.0, 2.2, 2.4}, []float64{1.5, 1.6, 1.7}
	var gaps []float64
	for i := range test {
		gaps = append(gaps, Gap(test[i], train[i]))
	}
	iv := MeanCI(gaps)
	if !near(iv.Mean, 0.6, 1e-12) || !near(iv.Std, 0.1, 1e-12) || !near(iv.Hi-iv.Mean, 0.248414, 1e-6) {
		t.Fatalf("%+v", iv)
	}
	if Gap(1, 3) != 2 || !math.IsNaN(Gap(math.NaN(), 1)) {
		t.Fatal("gap is not |test − train|")
	}
}
