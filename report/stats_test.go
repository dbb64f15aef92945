package report

import (
	"errors"
	"math"
	"testing"

	"github.com/ggmi-dev/ggmi/sim"
)

// Spearman's ρ against values computed by hand: without ties
// ρ = 1 − 6Σd²/(n(n²−1)); with ties, the Pearson correlation of the
// average ranks.
func TestSpearmanHandComputed(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		want float64
	}{
		// Ranks of y: 2 1 4 3 5, Σd² = 4, ρ = 1 − 24/120.
		{"no ties", []float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.8},
		{"perfect", []float64{0.1, 0.5, 0.7}, []float64{10, 20, 30}, 1},
		{"reversed", []float64{3, 1, 2}, []float64{1, 3, 2}, -1},
		{"monotone transform", []float64{1, 2, 3, 4}, []float64{1, 8, 27, 64}, 1},
		// Ranks of x: 1 2.5 2.5 4; of y: 1 2 3 4. Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5: ρ = 3/√10.
		{"ties in x", []float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 3 / math.Sqrt(10)},
		// Ranks 1.5 1.5 3.5 3.5 and 1.5 3.5 1.5 3.5 are orthogonal.
		{"ties in both, independent", []float64{1, 1, 2, 2}, []float64{1, 2, 1, 2}, 0},
		// Ranks of x: 1.5 1.5 3 4 5; of y: 1 3 2 4.5 4.5 (means 3). dx = −1.5 −1.5 0 1 2, dy = −2 0 −1 1.5 1.5:
		// Σdxdy = 3 + 0 + 0 + 1.5 + 3 = 7.5, Σdx² = 9.5, Σdy² = 9.5: ρ = 7.5/9.5.
		{"ties in both", []float64{5, 5, 6, 7, 8}, []float64{1, 3, 2, 9, 9}, 7.5 / 9.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Spearman(c.x, c.y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 1e-12 {
				t.Errorf("ρ = %.15f, want %.15f", got, c.want)
			}
			// ρ is symmetric in its arguments.
			if back, _ := Spearman(c.y, c.x); math.Abs(back-got) > 1e-12 {
				t.Errorf("ρ(y, x) = %g, ρ(x, y) = %g", back, got)
			}
		})
	}
}

func TestAverageRanks(t *testing.T) {
	got := sim.Ranks([]float64{10, 30, 20, 30, 10, 30})
	want := []float64{1.5, 5, 3, 5, 1.5, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranks %v, want %v", got, want)
		}
	}
}

func TestSpearmanErrors(t *testing.T) {
	cases := []struct {
		name     string
		x, y     []float64
		constant bool
	}{
		{"length mismatch", []float64{1, 2, 3}, []float64{1, 2}, false},
		{"one pair", []float64{1}, []float64{1}, false},
		{"NaN", []float64{1, math.NaN(), 3}, []float64{1, 2, 3}, false},
		{"Inf", []float64{1, 2, 3}, []float64{1, math.Inf(1), 3}, false},
		{"constant x", []float64{2, 2, 2}, []float64{1, 2, 3}, true},
		{"constant y", []float64{1, 2, 3}, []float64{4, 4, 4}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Spearman(c.x, c.y)
			if err == nil {
				t.Fatalf("ρ = %g, want an error", got)
			}
			if !math.IsNaN(got) {
				t.Errorf("ρ = %g with an error, want NaN", got)
			}
			if errors.Is(err, ErrConstant) != c.constant {
				t.Errorf("error %v: ErrConstant %v, want %v", err, !c.constant, c.constant)
			}
		})
	}
}

func TestSpearmanCI(t *testing.T) {
	cases := []struct {
		name   string
		x, y   []float64
		seed   uint64
		lo, hi float64 // bounds the interval must lie within
		exact  bool    // the interval must be exactly [lo, hi]
	}{
		// Every resample of a monotone relation (ties only on repeated
		// pairs) has ρ = 1.
		{"monotone", []float64{1, 2, 3, 4, 5, 6}, []float64{2, 4, 5, 9, 10, 12}, 1, 1, 1, true},
		{"anti-monotone", []float64{1, 2, 3, 4, 5, 6}, []float64{6, 5, 4, 3, 2, 1}, 2, -1, -1, true},
		// A noisy positive relation over 12 configurations.
		{"noisy", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			[]float64{1.2, 0.8, 2.9, 2.1, 4.4, 3.0, 6.1, 5.5, 5.2, 8.8, 7.9, 9.1}, 3, 0.5, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			est, err := SpearmanCI(c.x, c.y, 1000, c.seed)
			if err != nil {
				t.Fatal(err)
			}
			rho, _ := Spearman(c.x, c.y)
			if est.Value != rho || est.N != len(c.x) {
				t.Errorf("estimate %+v, want value %g and n %d", est, rho, len(c.x))
			}
			lo, hi := est.CI95[0], est.CI95[1]
			if c.exact {
				if math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 {
					t.Errorf("interval [%g, %g], want [%g, %g]", lo, hi, c.lo, c.hi)
				}
				return
			}
			if !(c.lo <= lo && lo <= rho && rho <= hi && hi <= c.hi) {
				t.Errorf("interval [%g, %g] around ρ = %g, want within [%g, %g]", lo, hi, rho, c.lo, c.hi)
			}
			// The same seed gives the same interval; another seed another.
			again, _ := SpearmanCI(c.x, c.y, 1000, c.seed)
			other, _ := SpearmanCI(c.x, c.y, 1000, c.seed+1)
			if again.CI95 != est.CI95 {
				t.Errorf("seed %d: %v then %v", c.seed, est.CI95, again.CI95)
			}
			if other.CI95 == est.CI95 {
				t.Errorf("seeds %d and %d give the same interval %v", c.seed, c.seed+1, est.CI95)
			}
		})
	}
}

// Resamples that repeat a single pair have no ρ and are left out: with
// three distinct pairs that is 1 in 9 and the interval is defined; with two
// it is every other resample, and the interval is either undefined or, when
// defined, the only value ρ takes.
func TestSpearmanCIDegenerate(t *testing.T) {
	est, err := SpearmanCI([]float64{1, 2, 3}, []float64{1, 3, 2}, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	if est.Value != 0.5 || math.IsNaN(est.CI95[0]) || est.CI95[0] > 0.5 || est.CI95[1] < 0.5 {
		t.Errorf("three pairs: %+v, want ρ 0.5 inside a defined interval", est)
	}
	two, err := SpearmanCI([]float64{1, 2}, []float64{2, 1}, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	if two.Value != -1 || (!math.IsNaN(two.CI95[0]) && two.CI95 != [2]float64{-1, -1}) {
		t.Errorf("two pairs: %+v", two)
	}
	if _, err := SpearmanCI([]float64{1, 1, 1}, []float64{1, 2, 3}, 100, 1); !errors.Is(err, ErrConstant) {
		t.Errorf("constant x: error %v, want ErrConstant", err)
	}
}
