package measure

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Result is one estimate.
type Result struct {
	Name     string         // estimator name (registry key)
	Value    float64        // the estimate
	CI95     [2]float64     // 95% interval; NaN when not computed
	N        int            // sample size used
	Settings map[string]any // every setting and auxiliary output (p-values, per-n values, …)
}

// Input carries what registry estimators read: embeddings X and Y (paired
// rows for HSIC and MI, two samples for divergences), texts, optional
// per-text log-probabilities, numeric parameters and a seed.
type Input struct {
	X, Y     [][]float64
	Texts    []string
	LogProbs []float64
	Params   map[string]float64
	Seed     uint64
}

func (in Input) param(name string, def float64) float64 {
	if v, ok := in.Params[name]; ok {
		return v
	}
	return def
}

// Estimator computes a Result from an Input.
type Estimator func(in Input) (Result, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Estimator{}
)

// Register adds an estimator under name; registering a name twice is an error.
func Register(name string, e Estimator) error {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" || e == nil {
		return errors.New("measure: register needs a name and an estimator")
	}
	if _, ok := registry[name]; ok {
		return fmt.Errorf("measure: estimator %q already registered", name)
	}
	registry[name] = e
	return nil
}

// Lookup returns the estimator registered under name.
func Lookup(name string) (Estimator, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("measure: unknown estimator %q (have %v)", name, namesLocked())
	}
	return e, nil
}

// Names lists the registered estimators, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var nanCI = [2]float64{math.NaN(), math.NaN()}

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
