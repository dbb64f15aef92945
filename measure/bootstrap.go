package measure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// BootstrapOptions configure Bootstrap.
type BootstrapOptions struct {
	Resamples int     // B; 0 means 200
	Level     float64 // coverage; 0 means 0.95
	Seed      uint64
	// Workers evaluate resamples at once (GOMAXPROCS when ≤ 0). Resample b
	// always draws from its own generator seeded with (Seed, b), so the
	// interval does not depend on Workers.
	Workers int
	// MaxN bounds the size of each resample (0: no bound). A group of n >
	// MaxN rows is resampled with m = MaxN rows (the m-out-of-n bootstrap of
	// Bickel, Götze & van Zwet 1997) and the deviations of the resampled
	// statistics from their mean are scaled by √(m/n) around the full-sample
	// estimate: CI = θ̂ + √(m/n)·[q_lo(θ* − θ̄*), q_hi(θ* − θ̄*)]. This keeps
	// the cost of a CI bounded on large data sets; it assumes a
	// √n-consistent estimator.
	MaxN int
	// Subsample draws resamples without replacement (half-sampling,
	// Politis & Romano 1994) instead of the classical bootstrap: each group
	// of n rows gives m = ⌊n/2⌋ distinct rows (at most MaxN), and
	// CI = θ̂ + √(m/(n−m))·[q_lo(θ* − θ̄*), q_hi(θ* − θ̄*)], the finite-population
	// factor m/(n−m) turning the spread of size-m subsamples into that of
	// the full sample (exact for a mean; 1 for half-samples). Statistics
	// that change with repeated rows — distinct n-gram ratios, compression,
	// Vendi, kernel sums with a diagonal — are biased by the duplicates of
	// the classical bootstrap and need this variant. With two groups the
	// larger factor is used (a wider interval).
	Subsample bool
	// Context, when set, stops the resampling once it is done: Bootstrap
	// then returns its error. The statistic of a resample already started
	// runs to its end.
	Context context.Context
}

// BootstrapResult is a bootstrap interval and how it was made.
type BootstrapResult struct {
	CI        Interval
	Resamples int     // resamples that gave a finite value
	Failed    int     // resamples whose statistic failed or was not finite
	M         []int   // resample size per group
	SE        float64 // standard deviation of the resampled statistics (rescaled by √(m/n))
	Method    string  // "percentile", "m-out-of-n percentile" or "half-sampling"
	// HalfMean is the mean of the resampled statistics (unscaled): with
	// Subsample, the statistic's mean at half the sample size.
	HalfMean float64
}

// Settings returns the interval's description for Result.Settings.
func (b BootstrapResult) Settings() map[string]any {
	return map[string]any{"method": b.Method, "resamples": b.Resamples, "failed": b.Failed, "m": b.M, "se": b.SE}
}

// Bootstrap returns the percentile bootstrap interval of a statistic of one
// or more independent groups of rows (one group for a one-sample or paired
// statistic, two for a two-sample one). stat receives, per group, the row
// indices of a resample drawn with replacement and must not keep them.
// est is the statistic on the full sample (used only by the m-out-of-n
// variant). Resamples whose statistic fails or is not finite are counted in
// Failed and left out; more than half failing is an error.
func Bootstrap(sizes []int, est float64, stat func(idx [][]int) (float64, error), opt BootstrapOptions) (BootstrapResult, error) {
	if len(sizes) == 0 {
		return BootstrapResult{}, errors.New("measure: bootstrap without groups")
	}
	for g, n := range sizes {
		if n < 2 {
			return BootstrapResult{}, fmt.Errorf("measure: bootstrap group %d has %d rows, need at least 2", g, n)
		}
	}
	B := opt.Resamples
	if B == 0 {
		B = 200
	}
	if B < 2 {
		return BootstrapResult{}, fmt.Errorf("measure: bootstrap needs at least 2 resamples (got %d)", B)
	}
	level := opt.Level
	if level == 0 {
		level = 0.95
	}
	if !(level > 0 && level < 1) {
		return BootstrapResult{}, fmt.Errorf("measure: bootstrap level must be in (0, 1) (got %g)", level)
	}
	m := make([]int, len(sizes))
	scale := 1.0
	sub := false
	for g, n := range sizes {
		m[g] = n
		if opt.Subsample {
			if n < 4 {
				return BootstrapResult{}, fmt.Errorf("measure: half-sampling group %d has %d rows, need at least 4", g, n)
			}
			m[g] = n / 2
			if opt.MaxN > 0 {
				m[g] = min(m[g], opt.MaxN)
			}
			f := math.Sqrt(float64(m[g]) / float64(n-m[g]))
			if !sub || f > scale {
				scale = f
			}
			sub = true
			continue
		}
		if opt.MaxN > 0 && n > opt.MaxN {
			m[g] = opt.MaxN
			sub = true
			scale = math.Min(scale, math.Sqrt(float64(opt.MaxN)/float64(n)))
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, B)
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	vals := make([]float64, B)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx := make([][]int, len(sizes))
			perm := make([][]int, len(sizes))
			swaps := make([]int, 0)
			for g := range idx {
				idx[g] = make([]int, m[g])
				if opt.Subsample {
					perm[g] = make([]int, sizes[g])
					for i := range perm[g] {
						perm[g][i] = i
					}
				}
			}
			for b := range next {
				if ctx.Err() != nil {
					vals[b] = math.NaN()
					continue
				}
				rng := rand.New(rand.NewPCG(opt.Seed, uint64(b)+0xb007))
				for g, n := range sizes {
					if !opt.Subsample {
						for i := range idx[g] {
							idx[g][i] = rng.IntN(n)
						}
						continue
					}
					// Partial Fisher–Yates, undone afterwards so that every
					// resample starts from the identity (worker-independent).
					p := perm[g]
					swaps = swaps[:0]
					for i := range m[g] {
						j := i + rng.IntN(n-i)
						p[i], p[j] = p[j], p[i]
						swaps = append(swaps, j)
					}
					copy(idx[g], p[:m[g]])
					for i := m[g] - 1; i >= 0; i-- {
						j := swaps[i]
						p[i], p[j] = p[j], p[i]
					}
				}
				v, err := stat(idx)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					v = math.NaN()
				}
				vals[b] = v
			}
		}()
	}
	for b := range B {
		next <- b
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return BootstrapResult{}, err
	}
	ok := vals[:0:0]
	for _, v := range vals {
		if !math.IsNaN(v) {
			ok = append(ok, v)
		}
	}
	res := BootstrapResult{Resamples: len(ok), Failed: B - len(ok), M: m, Method: "percentile"}
	if len(ok) < 2 || res.Failed*2 > B {
		return res, fmt.Errorf("measure: bootstrap: %d of %d resamples failed", res.Failed, B)
	}
	slices.Sort(ok)
	mean, sd := meanSD(ok)
	a := (1 - level) / 2
	lo, hi := Quantile(ok, a), Quantile(ok, 1-a)
	res.SE = sd
	res.HalfMean = mean
	if sub {
		res.Method = "m-out-of-n percentile"
		if opt.Subsample {
			res.Method = "half-sampling"
		}
		res.SE = sd * scale
		lo, hi = est+scale*(lo-mean), est+scale*(hi-mean)
	}
	res.CI = Interval{lo, hi}
	return res, nil
}

// Quantile returns the p-quantile of sorted values with linear
// interpolation between order statistics (type 7 of Hyndman & Fan 1996,
// numpy's default): h = (n−1)p, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	if i < 0 {
		return sorted[0]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// pick returns the rows of x at idx (shared, not copied).
func pickRows[T any](x []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = x[j]
	}
	return out
}
