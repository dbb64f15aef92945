package measure

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
)

var long = flag.Bool("long", false, "run the full coverage harness (R = 200 replicates per case; minutes)")

// TestCoverage runs every interval-reporting estimator on distributions
// with a known truth. The quick run (default) uses 25 replicates and fails
// when a checked case's Wilson interval of the coverage (or size) misses
// its target range entirely; -long uses 200 and requires the point
// coverage in [0.92, 0.98] (size in [0.03, 0.07]) for checked cases.
func TestCoverage(t *testing.T) {
	R := 25
	if *long {
		R = 200
	}
	if testing.Short() && !*long {
		R = 10
	}
	var rows []CoverageRow
	for _, c := range CoverageCases(!*long) {
		if !*long && !c.Checked {
			continue
		}
		r := RunCoverage(c, R, 20261205)
		rows = append(rows, r)
		pass := r.Plausible()
		if *long {
			pass = r.OK()
		}
		if c.Checked && !pass {
			t.Errorf("%s, %s: rate %.3f (Wilson [%.3f, %.3f]) over %d replicates, %d failed", r.Estimator, r.Case, r.Rate, r.Wilson[0], r.Wilson[1], R, r.Failed)
		}
	}
	t.Logf("\n%s", CoverageMarkdown(rows))
}

// The closed forms behind the coverage cases, against Monte Carlo.
func TestCoverageTruths(t *testing.T) {
	// Wilson: the textbook example 0 of 10 → [0, 0.2775].
	if w := Wilson(0, 10); w[0] != 0 || math.Abs(w[1]-0.27753) > 1e-4 {
		t.Errorf("Wilson(0, 10) = %v", w)
	}
	// Population HSIC and MMD² against large-sample U-statistics.
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := corrPairs(rng, 3000, 0.5)
	k, _, _ := Gram(x, Kernel{Sigma2: 1}, 0)
	l, _, _ := Gram(y, Kernel{Sigma2: 1}, 0)
	if got, want := HSICUnbiased(k, l, 3000), HSICGaussianTruth(0.5, 1, 1); math.Abs(got-want) > 0.25*want { // numpy, 4·10⁶ draws of each term: 0.01097
		t.Errorf("HSIC: U-statistic %g, closed form %g", got, want)
	}
	if h := HSICGaussianTruth(0, 1, 2); math.Abs(h) > 1e-15 {
		t.Errorf("HSIC of independent variables %g, want 0", h)
	}
	a := gaussRows(rng, 3000, []float64{0, 0}, []float64{1, 1})
	b := gaussRows(rng, 3000, []float64{0.5, 0}, []float64{1, 1})
	m, _ := MMD(a, b, MMDOptions{Sigma2: 1})
	if want := MMDGaussianTruth([]float64{0.5, 0}, 1); math.Abs(m.Value-want) > 0.25*want { // numpy, 4·10⁶ draws: 0.02680
		t.Errorf("MMD²: U-statistic %g, closed form %g", m.Value, want)
	}
	// Vendi: isotropic gives exactly d; the anisotropic truth agrees with a
	// large sample.
	if v := VendiGaussianTruth([]float64{1, 1, 1}); math.Abs(v-3) > 1e-9 {
		t.Errorf("isotropic Vendi truth %g, want 3", v)
	}
	big := gaussRows(rng, 8000, []float64{0, 0, 0}, []float64{1, 2, 4})
	vr, _ := Vendi(big)
	if want := VendiGaussianTruth([]float64{1, 2, 4}); math.Abs(vr.Value-want) > 0.02 {
		t.Errorf("Vendi: sample %g, integral %g", vr.Value, want)
	}
}
