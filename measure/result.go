package measure

import (
	"fmt"
	"math"

	"github.com/ggmi-dev/ggmi/internal/stats"
)

// Interval is a 95% confidence interval [lo, hi]; both ends are NaN when
// it was not computed. It is the one interval type of measure: estimator
// results, bootstrap results and the coverage harness all use it.
//
// The k-NN estimators (KSG, entropy, KL) take their intervals from
// half-samples ([KNNInterval]); entropy and KL extend them by the bias
// extrapolated from n/4, n/2 and n rows. Estimators without an interval of
// their own get one from [Bootstrap] in the suite. [CoverageCases] and
// [RunCoverage] measure every interval's coverage on distributions with a
// known truth (go run ./bench/coverage; docs/metrics.md says which
// intervals are known to be approximate).
type Interval [2]float64

// HalfWidth is (hi − lo)/2.
func (iv Interval) HalfWidth() float64 { return (iv[1] - iv[0]) / 2 }

// Contains reports whether lo ≤ v ≤ hi.
func (iv Interval) Contains(v float64) bool { return iv[0] <= v && v <= iv[1] }

// Result is one estimate.
type Result struct {
	Name     string         // estimator name
	Value    float64        // the estimate
	CI95     Interval       // 95% interval; NaN when not computed
	N        int            // sample size used
	Settings map[string]any // every setting and auxiliary output (p-values, per-n values, …)
}

// CIApproximate is the Settings key under which an estimator says that its
// interval is known not to hold its 95% coverage in some cases (the value
// says why; docs/metrics.md gives the measured coverage). The Markdown
// tables of ggmi measure and ggmi compare print "approximate" next to such
// an interval.
const CIApproximate = "ci_approximate"

// ApproximateCI returns the reason r's interval is marked approximate, or
// "" when it is not.
func (r Result) ApproximateCI() string {
	s, _ := r.Settings[CIApproximate].(string)
	return s
}

// setting returns the setting k of r as a T, or an error naming what it
// holds instead (estimators record their auxiliary outputs in Settings;
// the suite reads some of them back).
func setting[T any](r Result, k string) (T, error) {
	v, ok := r.Settings[k].(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("measure: %s result has no %T setting %q (have %T)", r.Name, zero, k, r.Settings[k])
	}
	return v, nil
}

// meanOf is the mean of v (NaN when empty).
func meanOf(v []float64) float64 { return stats.Mean(v) }

// tCI95 is the 95% Student-t interval of the mean of v.
func tCI95(v []float64) Interval {
	_, ci := stats.TInterval95(v)
	return ci
}

var nanCI = Interval{math.NaN(), math.NaN()}

// checkRows validates a sample: non-empty, rectangular, finite.
func checkRows(name string, x [][]float64, minN int) (n, d int, err error) {
	if n, d, err = checkShape(name, x, minN); err != nil {
		return 0, 0, err
	}
	for i, r := range x {
		if !finiteRow(r) {
			return 0, 0, fmt.Errorf("measure: %s row %d is not finite", name, i)
		}
	}
	return n, d, nil
}

// checkShape is checkRows without the finiteness scan, for callers that
// detect non-finite rows on their own pass over the data.
func checkShape(name string, x [][]float64, minN int) (n, d int, err error) {
	n = len(x)
	if n == 0 {
		return 0, 0, fmt.Errorf("measure: %s is empty", name)
	}
	if n < minN {
		return 0, 0, fmt.Errorf("measure: %s has %d points, need at least %d", name, n, minN)
	}
	d = len(x[0])
	if d == 0 {
		return 0, 0, fmt.Errorf("measure: %s has zero-dimensional points", name)
	}
	for i, r := range x {
		if len(r) != d {
			return 0, 0, fmt.Errorf("measure: %s row %d has %d values, want %d", name, i, len(r), d)
		}
	}
	return n, d, nil
}

// finiteRow reports whether every value of r is finite: v·0 is 0 for a
// finite v and NaN for ±Inf and NaN, so the sum is 0 exactly when all are
// finite (one multiply-add per value, no branches).
func finiteRow(r []float64) bool {
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(r); i += 2 {
		s0 += r[i] * 0
		s1 += r[i+1] * 0
	}
	if i < len(r) {
		s0 += r[i] * 0
	}
	return s0+s1 == 0
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		t := a[i] - b[i]
		s += t * t
	}
	return s
}
