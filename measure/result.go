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
		for _, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, 0, fmt.Errorf("measure: %s row %d is not finite", name, i)
			}
		}
	}
	return n, d, nil
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		t := a[i] - b[i]
		s += t * t
	}
	return s
}
