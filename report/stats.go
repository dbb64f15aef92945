package report

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/ggmi-dev/ggmi/sim"
	"gonum.org/v1/gonum/stat"
)

// ErrConstant reports a rank correlation of a variable that takes a single
// value: its ranks have no variance and ρ is undefined.
var ErrConstant = errors.New("report: constant variable, rank correlation undefined")

// Spearman returns Spearman's rank correlation ρ of the pairs (x[i], y[i]):
// the Pearson correlation of their ranks, tied values sharing the mean of
// the ranks they span (average ranks). It needs at least two finite pairs
// and returns ErrConstant when x or y takes a single value.
func Spearman(x, y []float64) (float64, error) {
	if err := checkPairs(x, y, 2); err != nil {
		return math.NaN(), err
	}
	return spearman(x, y)
}

func spearman(x, y []float64) (float64, error) {
	rx, ry := sim.Ranks(x), sim.Ranks(y)
	mx, my := stat.Mean(rx, nil), stat.Mean(ry, nil)
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN(), ErrConstant
	}
	r := sxy / math.Sqrt(sxx*syy)
	// Rounding can carry |ρ| a hair past 1.
	return math.Max(-1, math.Min(1, r)), nil
}

// SpearmanCI returns Spearman's ρ of the pairs with a percentile bootstrap
// 95% interval: reps resamples of the pairs drawn with replacement (the
// pairs are the unit, e.g. one per configuration) from a PCG generator
// seeded with seed, ρ computed on each, and the 2.5% and 97.5% empirical
// quantiles of the defined ones. Resamples in which x or y is constant
// have no ρ and are left out; when more than half are, the interval is
// NaN. The Estimate's N is the number of pairs. reps ≤ 0 means 2,000.
func SpearmanCI(x, y []float64, reps int, seed uint64) (Estimate, error) {
	nan := Estimate{Value: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}, N: len(x)}
	if err := checkPairs(x, y, 2); err != nil {
		return nan, err
	}
	rho, err := spearman(x, y)
	if err != nil {
		return nan, err
	}
	if reps <= 0 {
		reps = 2000
	}
	n := len(x)
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	bx, by := make([]float64, n), make([]float64, n)
	rhos := make([]float64, 0, reps)
	for range reps {
		for j := range n {
			i := rng.IntN(n)
			bx[j], by[j] = x[i], y[i]
		}
		if r, err := spearman(bx, by); err == nil {
			rhos = append(rhos, r)
		}
	}
	est := Estimate{Value: rho, CI95: nan.CI95, N: n}
	if 2*len(rhos) < reps {
		return est, nil
	}
	sort.Float64s(rhos)
	est.CI95 = [2]float64{stat.Quantile(0.025, stat.Empirical, rhos, nil), stat.Quantile(0.975, stat.Empirical, rhos, nil)}
	return est, nil
}

func checkPairs(x, y []float64, minN int) error {
	if len(x) != len(y) {
		return fmt.Errorf("report: rank correlation of %d x values and %d y values", len(x), len(y))
	}
	if len(x) < minN {
		return fmt.Errorf("report: rank correlation needs at least %d pairs, have %d", minN, len(x))
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return fmt.Errorf("report: rank correlation: pair %d is not finite", i)
		}
	}
	return nil
}
