package gmm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// log2Pi is log(2π).
var log2Pi = math.Log(2 * math.Pi)

// ErrNotPositiveDefinite reports a covariance matrix whose Cholesky
// factorisation failed.
var ErrNotPositiveDefinite = errors.New("covariance is not positive definite")

// Mixture is a Gaussian mixture with full covariance matrices. Create it
// with [New]; its fields are read-only afterwards (use [Mixture.Clone] and
// [New] to change parameters).
type Mixture struct {
	dim     int
	weights []float64 // K
	means   []float64 // K·d
	covs    []float64 // K·d·d, symmetric
	chol    []float64 // K·d·d, lower Cholesky factor L with Σ = L·Lᵀ
	prec    []float64 // K·d·d, lower triangular L⁻¹ (precision Cholesky)
	logc    []float64 // K, log w_k − d/2·log 2π − log det L
	cumw    []float64 // K, cumulative weights for sampling
}

// New builds a mixture from weights (normalised to sum to 1), means (each of
// length d) and covariances (each d×d, row-major, symmetric positive
// definite). It returns an error naming the offending component when the
// shapes disagree, a weight is negative or not finite, or a covariance is
// not positive definite.
func New(weights []float64, means [][]float64, covs [][]float64) (*Mixture, error) {
	k := len(weights)
	if k == 0 {
		return nil, errors.New("mixture needs at least one component")
	}
	if len(means) != k || len(covs) != k {
		return nil, fmt.Errorf("mixture has %d weights, %d means and %d covariances", k, len(means), len(covs))
	}
	d := len(means[0])
	if d == 0 {
		return nil, errors.New("mixture dimension must be at least 1")
	}
	mu := make([]float64, 0, k*d)
	cv := make([]float64, 0, k*d*d)
	for i := range k {
		if len(means[i]) != d {
			return nil, fmt.Errorf("component %d: mean has length %d, want %d", i, len(means[i]), d)
		}
		if len(covs[i]) != d*d {
			return nil, fmt.Errorf("component %d: covariance has %d entries, want %d", i, len(covs[i]), d*d)
		}
		mu = append(mu, means[i]...)
		cv = append(cv, covs[i]...)
	}
	return newFlat(d, append([]float64(nil), weights...), mu, cv)
}

// newFlat builds a mixture that takes ownership of the flat slices.
func newFlat(d int, w, mu, cv []float64) (*Mixture, error) {
	return newFlatOn(nil, d, w, mu, cv)
}

// newFlatOn is newFlat with the components factored in parallel on tm
// (sequentially when tm is nil).
func newFlatOn(tm *team, d int, w, mu, cv []float64) (*Mixture, error) {
	k := len(w)
	var sum float64
	for i, v := range w {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("component %d: weight %v is not a finite non-negative number", i, v)
		}
		sum += v
	}
	if !(sum > 0) {
		return nil, errors.New("mixture weights sum to zero")
	}
	for _, v := range mu {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("mixture mean is not finite")
		}
	}
	m := &Mixture{
		dim:     d,
		weights: w,
		means:   mu,
		covs:    cv,
		chol:    make([]float64, k*d*d),
		prec:    make([]float64, k*d*d),
		logc:    make([]float64, k),
		cumw:    make([]float64, k),
	}
	var c float64
	for i := range w {
		w[i] /= sum
		c += w[i]
		m.cumw[i] = c
	}
	m.cumw[k-1] = 1
	errs := make([]error, k)
	tm.run(k, k*d*d*d >= 20000, func(i int) {
		// Symmetrise: callers may pass matrices with rounding asymmetry.
		s := cv[i*d*d : (i+1)*d*d]
		for r := range d {
			for q := range r {
				a := 0.5 * (s[r*d+q] + s[q*d+r])
				s[r*d+q], s[q*d+r] = a, a
			}
		}
		errs[i] = m.factor(i)
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("component %d: %w", i, err)
		}
	}
	return m, nil
}

// factor computes the Cholesky factor, its inverse and the log-normaliser of
// component i from m.covs and m.weights.
func (m *Mixture) factor(i int) error {
	d := m.dim
	dd := d * d
	logdet, ok := cholesky(m.covs[i*dd:(i+1)*dd], m.chol[i*dd:(i+1)*dd], d)
	if !ok {
		return ErrNotPositiveDefinite
	}
	invLower(m.chol[i*dd:(i+1)*dd], m.prec[i*dd:(i+1)*dd], d)
	lw := math.Inf(-1)
	if m.weights[i] > 0 {
		lw = math.Log(m.weights[i])
	}
	m.logc[i] = lw - 0.5*float64(d)*log2Pi - 0.5*logdet
	return nil
}

// Dim is the dimension of the space.
func (m *Mixture) Dim() int { return m.dim }

// K is the number of components.
func (m *Mixture) K() int { return len(m.weights) }

// Weight is the mixing weight of component k.
func (m *Mixture) Weight(k int) float64 { return m.weights[k] }

// Mean returns a copy of component k's mean.
func (m *Mixture) Mean(k int) []float64 {
	return append([]float64(nil), m.means[k*m.dim:(k+1)*m.dim]...)
}

// Cov returns a copy of component k's covariance, d×d row-major.
func (m *Mixture) Cov(k int) []float64 {
	dd := m.dim * m.dim
	return append([]float64(nil), m.covs[k*dd:(k+1)*dd]...)
}

// Component returns component k as a single-Gaussian mixture.
func (m *Mixture) Component(k int) *Mixture {
	c, err := New([]float64{1}, [][]float64{m.Mean(k)}, [][]float64{m.Cov(k)})
	if err != nil { // cannot happen: the factor was valid in m
		panic(err)
	}
	return c
}

// Sub returns the mixture of components [from, to) with their weights
// renormalised.
func (m *Mixture) Sub(from, to int) (*Mixture, error) {
	if from < 0 || to > m.K() || from >= to {
		return nil, fmt.Errorf("component range [%d,%d) outside [0,%d)", from, to, m.K())
	}
	d := m.dim
	return newFlat(d,
		append([]float64(nil), m.weights[from:to]...),
		append([]float64(nil), m.means[from*d:to*d]...),
		append([]float64(nil), m.covs[from*d*d:to*d*d]...))
}

// compLogProb is log(w_k · N(x; μ_k, Σ_k)); z is scratch of length d.
func (m *Mixture) compLogProb(k int, x, z []float64) float64 {
	d := m.dim
	mu := m.means[k*d : (k+1)*d]
	p := m.prec[k*d*d : (k+1)*d*d]
	var q float64
	switch d {
	case 1:
		t := p[0] * (x[0] - mu[0])
		q = t * t
	case 2:
		d0 := x[0] - mu[0]
		d1 := x[1] - mu[1]
		t0 := p[0] * d0
		t1 := p[2]*d0 + p[3]*d1
		q = t0*t0 + t1*t1
	default:
		for j := range d {
			z[j] = x[j] - mu[j]
		}
		for r := range d {
			row := p[r*d : r*d+r+1]
			var s0, s1 float64
			j := 0
			for ; j+1 < len(row); j += 2 {
				s0 += row[j] * z[j]
				s1 += row[j+1] * z[j+1]
			}
			if j < len(row) {
				s0 += row[j] * z[j]
			}
			s := s0 + s1
			q += s * s
		}
	}
	return m.logc[k] - 0.5*q
}

// LogProb is the log-density of the mixture at the point x (length d).
func (m *Mixture) LogProb(x []float64) float64 {
	z := make([]float64, m.dim)
	lp := make([]float64, m.K())
	return m.logProb(x, z, lp)
}

// compLogProbs writes log(w_k · N(x; μ_k, Σ_k)) for every k into lp and
// returns the largest; z is scratch of length d.
func (m *Mixture) compLogProbs(x, z, lp []float64) float64 {
	mx := math.Inf(-1)
	if m.dim == 2 {
		// The simulation's case: inline, no calls.
		x0, x1 := x[0], x[1]
		for k := range lp {
			mu := m.means[2*k : 2*k+2]
			p := m.prec[4*k : 4*k+4]
			d0 := x0 - mu[0]
			d1 := x1 - mu[1]
			t0 := p[0] * d0
			t1 := p[2]*d0 + p[3]*d1
			v := m.logc[k] - 0.5*(t0*t0+t1*t1)
			lp[k] = v
			if v > mx {
				mx = v
			}
		}
		return mx
	}
	for k := range lp {
		v := m.compLogProb(k, x, z)
		lp[k] = v
		if v > mx {
			mx = v
		}
	}
	return mx
}

func (m *Mixture) logProb(x, z, lp []float64) float64 {
	mx := m.compLogProbs(x, z, lp)
	if math.IsInf(mx, -1) {
		return mx
	}
	var s float64
	for _, v := range lp {
		if t := v - mx; t > expCutoff {
			s += expNeg(t)
		}
	}
	return mx + math.Log(s)
}

// expCutoff is where exp(t) stops mattering next to the largest term of a
// log-sum-exp: 19 terms below e^-40 ≈ 4e-18 add less than half an ulp of 1.
const expCutoff = -40

// LogProbs writes the log-density of each of the n points in x (n·d values,
// row-major) into out (length n) and returns out; out is allocated when nil.
func (m *Mixture) LogProbs(x []float64, out []float64) []float64 {
	d := m.dim
	n := len(x) / d
	if out == nil {
		out = make([]float64, n)
	}
	z := make([]float64, d)
	lp := make([]float64, m.K())
	for i := range n {
		out[i] = m.logProb(x[i*d:(i+1)*d], z, lp)
	}
	return out
}

// MeanLogProb is the mean log-density of the n points of x (n·d values):
// the average log-likelihood of the data under the mixture.
func (m *Mixture) MeanLogProb(x []float64) float64 {
	var s float64
	for _, v := range m.LogProbs(x, nil) {
		s += v
	}
	return s / float64(len(x)/m.dim)
}

// Sample draws n points (n·d values, row-major) and their component labels.
// Components are chosen independently for each point by their weights.
func (m *Mixture) Sample(rng *rand.Rand, n int) (x []float64, labels []int) {
	x = make([]float64, n*m.dim)
	labels = make([]int, n)
	m.SampleInto(rng, x, labels)
	return x, labels
}

// SampleInto fills x (n·d values) with draws from the mixture; labels, when
// not nil, receives each point's component.
func (m *Mixture) SampleInto(rng *rand.Rand, x []float64, labels []int) {
	d := m.dim
	n := len(x) / d
	z := make([]float64, d)
	for i := range n {
		k := m.pick(rng.Float64())
		if labels != nil {
			labels[i] = k
		}
		m.sampleComp(rng, k, x[i*d:(i+1)*d], z)
	}
}

// SampleComponent fills x (n·d values) with draws from component k alone.
func (m *Mixture) SampleComponent(rng *rand.Rand, k int, x []float64) {
	d := m.dim
	z := make([]float64, d)
	for i := range len(x) / d {
		m.sampleComp(rng, k, x[i*d:(i+1)*d], z)
	}
}

func (m *Mixture) pick(u float64) int {
	// Linear scan: K is small in every use of this package.
	for k, c := range m.cumw {
		if u < c {
			return k
		}
	}
	return len(m.cumw) - 1
}

func (m *Mixture) sampleComp(rng *rand.Rand, k int, out, z []float64) {
	d := m.dim
	mu := m.means[k*d : (k+1)*d]
	l := m.chol[k*d*d : (k+1)*d*d]
	for j := range d {
		z[j] = rng.NormFloat64()
	}
	for r := range d {
		s := mu[r]
		for j := 0; j <= r; j++ {
			s += l[r*d+j] * z[j]
		}
		out[r] = s
	}
}

// Clone returns a deep copy.
func (m *Mixture) Clone() *Mixture {
	c := *m
	c.weights = append([]float64(nil), m.weights...)
	c.means = append([]float64(nil), m.means...)
	c.covs = append([]float64(nil), m.covs...)
	c.chol = append([]float64(nil), m.chol...)
	c.prec = append([]float64(nil), m.prec...)
	c.logc = append([]float64(nil), m.logc...)
	c.cumw = append([]float64(nil), m.cumw...)
	return &c
}

// Concat joins mixtures of the same dimension into one whose weights are the
// given per-part weights times each part's own weights (renormalised).
func Concat(parts []*Mixture, partWeights []float64) (*Mixture, error) {
	if len(parts) == 0 || len(parts) != len(partWeights) {
		return nil, errors.New("concat needs one weight per part")
	}
	d := parts[0].dim
	var w, mu, cv []float64
	for i, p := range parts {
		if p.dim != d {
			return nil, fmt.Errorf("part %d has dimension %d, want %d", i, p.dim, d)
		}
		for _, pw := range p.weights {
			w = append(w, pw*partWeights[i])
		}
		mu = append(mu, p.means...)
		cv = append(cv, p.covs...)
	}
	return newFlat(d, w, mu, cv)
}
