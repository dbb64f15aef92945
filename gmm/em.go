package gmm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
)

// CovarianceType selects the covariance structure EM fits.
type CovarianceType int

const (
	// Full fits a full covariance matrix per component.
	Full CovarianceType = iota
	// Diag fits a diagonal covariance matrix per component.
	Diag
)

func (c CovarianceType) String() string {
	switch c {
	case Full:
		return "full"
	case Diag:
		return "diag"
	}
	return fmt.Sprintf("CovarianceType(%d)", int(c))
}

// InitMethod selects how EM starts.
type InitMethod int

const (
	// InitKMeans runs k-means (greedy k-means++ seeding, then Lloyd) and
	// starts from its hard assignment: scikit-learn's default "kmeans".
	InitKMeans InitMethod = iota
	// InitKMeansPP assigns each point to the nearest k-means++ seed.
	InitKMeansPP
	// InitRandom starts from uniformly random responsibilities.
	InitRandom
)

func (m InitMethod) String() string {
	switch m {
	case InitKMeans:
		return "kmeans"
	case InitKMeansPP:
		return "k-means++"
	case InitRandom:
		return "random"
	}
	return fmt.Sprintf("InitMethod(%d)", int(m))
}

// FitOptions configures [FitEM]. Zero values take scikit-learn's defaults.
type FitOptions struct {
	Components int            // number of components K (required, ≥ 1)
	Covariance CovarianceType // Full (default) or Diag
	Init       InitMethod     // InitKMeans (default), InitKMeansPP or InitRandom
	NInit      int            // independent starts, best kept (default 1)
	Tol        float64        // convergence threshold on the mean log-likelihood (default 1e-3)
	MaxIter    int            // EM iterations per start (default 100)
	RegCovar   float64        // ridge added to covariance diagonals (default 1e-6)
	Seed       uint64         // seed of every random choice
	// Workers bounds the goroutines of one fit (0: GOMAXPROCS). Results do
	// not depend on it: partial sums are reduced in a fixed block order.
	Workers int
	// Context, when set, stops the fit between iterations once it is done;
	// FitEM then returns its error.
	Context context.Context
}

// Fit is the result of [FitEM].
type Fit struct {
	Model *Mixture
	// LowerBound is the mean per-point log-likelihood at the last E-step,
	// i.e. of the parameters just before the final M-step (scikit-learn's
	// lower_bound_). EM only raises it, so Model scores at least this on the
	// data; [Mixture.MeanLogProb] gives the exact score (scikit-learn's
	// score(X)) at the cost of one more pass.
	LowerBound float64
	// History holds the mean log-likelihood evaluated at the start of each
	// EM iteration; EM guarantees it never decreases, except right after a
	// component is re-seeded.
	History    []float64
	Iterations int
	Converged  bool
	// Reseeded counts components that lost all their points and were placed
	// at the worst-explained point.
	Reseeded int
	// Ridge is the covariance ridge finally used (RegCovar, or larger when a
	// covariance needed it to be positive definite).
	Ridge float64
}

func (o *FitOptions) defaults() error {
	if o.Components < 1 {
		return fmt.Errorf("number of components must be at least 1, got %d", o.Components)
	}
	if o.NInit == 0 {
		o.NInit = 1
	}
	if o.NInit < 0 {
		return fmt.Errorf("n_init must be at least 1, got %d", o.NInit)
	}
	if o.Tol == 0 {
		o.Tol = 1e-3
	}
	if o.Tol < 0 || math.IsNaN(o.Tol) {
		return fmt.Errorf("tol must be non-negative, got %v", o.Tol)
	}
	if o.MaxIter == 0 {
		o.MaxIter = 100
	}
	if o.MaxIter < 0 {
		return fmt.Errorf("max_iter must be at least 1, got %d", o.MaxIter)
	}
	if o.RegCovar == 0 {
		o.RegCovar = 1e-6
	}
	if o.RegCovar < 0 || math.IsNaN(o.RegCovar) {
		return fmt.Errorf("reg_covar must be non-negative, got %v", o.RegCovar)
	}
	if o.Covariance != Full && o.Covariance != Diag {
		return fmt.Errorf("unknown covariance type %d", int(o.Covariance))
	}
	if o.Init < InitKMeans || o.Init > InitRandom {
		return fmt.Errorf("unknown init method %d", int(o.Init))
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

func (o *FitOptions) ctxErr() error {
	if o.Context == nil {
		return nil
	}
	return o.Context.Err()
}

// FitEM fits a Gaussian mixture to the n points of x (n·d values, row-major)
// by expectation–maximisation. It is deterministic for a given Seed whatever
// the number of workers. It returns an error for invalid options, fewer
// points than components, or non-finite data; degenerate data (duplicate
// points, n < d, components that lose their points) is handled without NaN.
func FitEM(x []float64, d int, opt FitOptions) (*Fit, error) {
	if err := opt.defaults(); err != nil {
		return nil, fmt.Errorf("gmm fit: %w", err)
	}
	if d < 1 {
		return nil, fmt.Errorf("gmm fit: dimension must be at least 1, got %d", d)
	}
	if len(x)%d != 0 {
		return nil, fmt.Errorf("gmm fit: %d values are not a whole number of %d-dimensional points", len(x), d)
	}
	n := len(x) / d
	if n < opt.Components {
		return nil, fmt.Errorf("gmm fit: %d points cannot fit %d components", n, opt.Components)
	}
	tm := newTeam(opt.Workers)
	defer tm.close()
	// Work on centred data: it keeps the quadratic-feature path accurate
	// and changes nothing else (EM is translation equivariant).
	centre, bad := pointMean(x, n, d, tm)
	if bad >= 0 {
		return nil, fmt.Errorf("gmm fit: point %d coordinate %d is not finite (%v)", bad/d, bad%d, x[bad])
	}
	xc := make([]float64, len(x))
	tm.run((n+blockSize-1)/blockSize, n*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			for a := range d {
				xc[i*d+a] = x[i*d+a] - centre[a]
			}
		}
	})
	x = xc
	var best *Fit
	var firstErr error
	for s := range opt.NInit {
		if err := opt.ctxErr(); err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15^uint64(s)))
		f, err := fitOnce(rng, x, n, d, opt, tm)
		if cerr := opt.ctxErr(); cerr != nil {
			return nil, cerr
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if best == nil || f.LowerBound > best.LowerBound {
			best = f
		}
	}
	if best == nil {
		return nil, fmt.Errorf("gmm fit: %w", firstErr)
	}
	m := best.Model
	for j := range m.K() {
		for a := range d {
			m.means[j*d+a] += centre[a]
		}
	}
	return best, nil
}

// em holds the work space of one EM run.
type em struct {
	x       []float64
	n, d, k int
	opt     FitOptions
	tm      *team     // runs the block loops
	resp    []float64 // n·k
	blocks  int
	// per-block partial sums
	pNk   []float64 // blocks·k
	pSum  []float64 // blocks·k·d
	pCov  []float64 // blocks·k·d·d
	pLL   []float64 // blocks
	ridge float64
	// Quadratic-feature path (d ≥ featureMinDim): per point the features
	// [x_a·x_b (a ≥ b), x_a, 1], so that one matrix product per block gives
	// every component's Mahalanobis form (E-step) and every component's
	// weighted moments (M-step).
	quad bool // the quadratic-feature path is on
	// momFresh says pMom holds the moments of the current resp (the E-step
	// computed them in the same pass).
	momFresh bool
	nf       int         // stride of a feature row: nq rounded up to a multiple of 8
	nq       int         // number of features: d(d+1)/2 + d + 1
	bufs     [][]float64 // per-block feature buffers
	vmat     []float64   // k·nf, per-component coefficients of the quadratic form
	pMom     []float64   // blocks·k·nf
	// fidx[a·d+b] (a ≥ b) is the position of x_a·x_b among the features:
	// row after row of the lower triangle, or, when d is a multiple of 8,
	// the circulant order of quadCirc (whole-vector stores).
	fidx []int
	circ bool
	// single[i] is the only component with a non-zero responsibility for
	// point i, or −1 when there are several (feature path only).
	single []int32
}

// featureMinDim is the smallest dimension that uses the quadratic-feature
// path; below it, the direct per-point loops are faster.
const featureMinDim = 4

// subBlock is the number of points whose features are built at once: small
// enough that their features, the coefficients and the moments stay in the
// processor's first-level cache (in 16-D, 20 KB each for the features and
// 13 KB each for the others with 10 components).
const subBlock = 16

// blockBuf is block b's feature buffer, allocated on first use and kept
// for the fit (a block is handled by one goroutine at a time).
func (e *em) blockBuf(b int) []float64 {
	if e.bufs[b] == nil {
		e.bufs[b] = make([]float64, subBlock*e.nf)
	}
	return e.bufs[b]
}

// features writes the quadratic features of points [lo, hi) into buf.
func (e *em) features(lo, hi int, buf []float64) {
	d, nf, nq := e.d, e.nf, e.nq
	var padArr [64]float64
	pad := padArr[:]
	if 2*d > len(pad) {
		pad = make([]float64, 2*d)
	}
	for i := lo; i < hi; i++ {
		xi := e.x[i*d : (i+1)*d]
		f := buf[(i-lo)*nf : (i-lo+1)*nf]
		q := d * (d + 1) / 2
		// nf ≥ q+d+1 leaves the spare values both write past q.
		if e.circ {
			quadCirc(xi, f, pad)
		} else {
			quad(xi, f, pad)
		}
		copy(f[q:], xi)
		f[nq-1] = 1
		clear(f[nq:])
	}
}

const blockSize = 1024

func fitOnce(rng *rand.Rand, x []float64, n, d int, opt FitOptions, tm *team) (*Fit, error) {
	k := opt.Components
	e := &em{x: x, n: n, d: d, k: k, opt: opt, ridge: opt.RegCovar, tm: tm}
	e.resp = make([]float64, n*k)
	e.blocks = (n + blockSize - 1) / blockSize
	e.pNk = make([]float64, e.blocks*k)
	e.pSum = make([]float64, e.blocks*k*d)
	e.pCov = make([]float64, e.blocks*k*d*d)
	e.pLL = make([]float64, e.blocks)
	if d >= featureMinDim {
		e.quad = true
		e.nq = d*(d+1)/2 + d + 1
		e.nf = (e.nq + 7) &^ 7
		e.circ = d%8 == 0
		e.fidx = make([]int, d*d)
		for a := range d {
			for b := 0; b <= a; b++ {
				if e.circ {
					e.fidx[a*d+b] = circIndex(a, b, d)
				} else {
					e.fidx[a*d+b] = a*(a+1)/2 + b
				}
			}
		}
		e.vmat = make([]float64, ((k+3)&^3)*e.nf) // padded to 4 rows of zeros
		e.pMom = make([]float64, e.blocks*k*e.nf)
		e.bufs = make([][]float64, e.blocks)
		e.single = make([]int32, n)
	}

	switch opt.Init {
	case InitKMeans, InitKMeansPP:
		var labels []int
		stop := func() bool { return opt.ctxErr() != nil }
		if opt.Init == InitKMeans {
			labels = kmeans(rng, x, n, d, k, tm, stop)
		} else {
			c := kmeansPP(rng, x, n, d, k, tm, stop)
			if c == nil {
				return nil, opt.ctxErr()
			}
			labels = make([]int, n)
			assign(x, c, n, d, k, labels, make([]float64, n), tm)
		}
		if labels == nil {
			return nil, opt.ctxErr()
		}
		for i, l := range labels {
			e.resp[i*k+l] = 1
		}
	case InitRandom:
		for i := range n {
			var s float64
			for j := range k {
				v := rng.Float64()
				e.resp[i*k+j] = v
				s += v
			}
			for j := range k {
				e.resp[i*k+j] /= s
			}
		}
	}
	fit := &Fit{}
	model, reseeded, err := e.mStep(nil)
	if err != nil {
		return nil, err
	}
	fit.Reseeded += reseeded
	lower := math.Inf(-1)
	for it := 1; it <= opt.MaxIter; it++ {
		if err := opt.ctxErr(); err != nil {
			return nil, err
		}
		prev := lower
		lower = e.eStep(model)
		fit.History = append(fit.History, lower)
		fit.Iterations = it
		model, reseeded, err = e.mStep(model)
		if err != nil {
			return nil, err
		}
		fit.Reseeded += reseeded
		if math.Abs(lower-prev) < opt.Tol {
			fit.Converged = true
			break
		}
	}
	fit.Model = model
	fit.LowerBound = lower
	fit.Ridge = e.ridge
	if math.IsNaN(lower) {
		return nil, errors.New("log-likelihood is not a number")
	}
	return fit, nil
}

// parallel runs f over the blocks on the fit's team.
func (e *em) parallel(f func(b int)) {
	e.tm.run(e.blocks, e.n*e.k*e.d >= 20000, f)
}

// eStep fills resp with normalised responsibilities under m and returns the
// mean per-point log-likelihood.
func (e *em) eStep(m *Mixture) float64 {
	n, d, k := e.n, e.d, e.k
	if e.quad {
		e.setQuadratic(m)
	}
	e.parallel(func(b int) {
		lo, hi := b*blockSize, min((b+1)*blockSize, n)
		if !e.quad {
			z := make([]float64, d)
			ll := newLLSum()
			for i := lo; i < hi; i++ {
				r := e.resp[i*k : (i+1)*k]
				e.normalize(i, m.compLogProbs(e.x[i*d:(i+1)*d], z, r), &ll)
			}
			e.pLL[b] = ll.value()
			return
		}
		// Fused pass: per sub-block, build the features once, compute the
		// responsibilities, and accumulate the moments the next M-step needs.
		nf := e.nf
		mom := e.pMom[b*k*nf : (b+1)*k*nf]
		clear(mom)
		buf := e.blockBuf(b)
		var q [4]float64
		var o8 [8]float64
		ll := newLLSum()
		for s0 := lo; s0 < hi; s0 += subBlock {
			s1 := min(s0+subBlock, hi)
			e.features(s0, s1, buf)
			// Mahalanobis forms: four points by two components at a time,
			// then the remaining points one at a time.
			i := s0
			for ; i+4 <= s1; i += 4 {
				f := buf[(i-s0)*nf:]
				for j := 0; j < k; j += 2 {
					dot4x2(f, nf, e.vmat[j*nf:], nf, nf, &o8)
					for t := range 4 {
						r := e.resp[(i+t)*k : (i+t+1)*k]
						r[j] = -0.5 * o8[2*t]
						if j+1 < k {
							r[j+1] = -0.5 * o8[2*t+1]
						}
					}
				}
			}
			for ; i < s1; i++ {
				f := buf[(i-s0)*nf : (i-s0+1)*nf]
				r := e.resp[i*k : (i+1)*k]
				for j := 0; j < k; j += 4 {
					dot4(f, e.vmat[j*nf:], nf, &q)
					for t := j; t < min(j+4, k); t++ {
						r[t] = -0.5 * q[t-j]
					}
				}
			}
			for i := s0; i < s1; i++ {
				r := e.resp[i*k : (i+1)*k]
				mx := math.Inf(-1)
				for j := range k {
					v := m.logc[j] + r[j]
					r[j] = v
					if v > mx {
						mx = v
					}
				}
				e.normalize(i, mx, &ll)
			}
			e.accumulate(s0, s1, buf, mom)
		}
		e.pLL[b] = ll.value()
	})
	e.momFresh = e.quad
	var s float64
	for _, v := range e.pLL {
		s += v
	}
	return s / float64(n)
}

// normalize turns row i of resp from log-probabilities (largest mx) into
// responsibilities and adds the point's log-likelihood to ll.
func (e *em) normalize(i int, mx float64, ll *llSum) {
	r := e.resp[i*e.k : (i+1)*e.k]
	var t float64
	nz, last := 0, 0
	for j, v := range r {
		var p float64
		if u := v - mx; u > expCutoff {
			p = expNeg(u)
			nz++
			last = j
		}
		r[j] = p
		t += p
	}
	inv := 1 / t
	for j := range r {
		r[j] *= inv
	}
	if e.single != nil {
		e.single[i] = int32(last)
		if nz != 1 {
			e.single[i] = -1
		}
	}
	ll.add(mx, t)
}

// markSingles sets single for points [lo, hi) from resp.
func (e *em) markSingles(lo, hi int) {
	k := e.k
	for i := lo; i < hi; i++ {
		nz, last := 0, 0
		for j, v := range e.resp[i*k : (i+1)*k] {
			if v != 0 {
				nz++
				last = j
			}
		}
		e.single[i] = int32(last)
		if nz != 1 {
			e.single[i] = -1
		}
	}
}

// llSum accumulates Σ (mx_i + log t_i) with one logarithm per block instead
// of one per point: the t_i (each between 1 and K) are multiplied, and the
// product is renormalised through its binary exponent every 16 factors.
type llSum struct {
	s    float64 // Σ mx_i
	prod float64 // Π t_i, scaled
	exp  int     // binary exponent taken out of prod
	n    int
}

func newLLSum() llSum { return llSum{prod: 1} }

func (a *llSum) add(mx, t float64) {
	a.s += mx
	a.prod *= t
	a.n++
	if a.n&15 == 0 {
		f, e := math.Frexp(a.prod)
		a.prod, a.exp = f, a.exp+e
	}
}

func (a *llSum) value() float64 {
	return a.s + math.Log(a.prod) + float64(a.exp)*math.Ln2
}

// accumulate adds the responsibility-weighted features of points [s0, s1)
// (in buf) to mom, k rows of nf values.
func (e *em) accumulate(s0, s1 int, buf, mom []float64) {
	k, nf := e.k, e.nf
	var r4 [4]float64
	var r8 [8]float64
	i := s0
	for ; i+4 <= s1; i += 4 {
		f := buf[(i-s0)*nf:]
		if sg := e.single[i : i+4]; sg[0]|sg[1]|sg[2]|sg[3] >= 0 {
			// One component per point (well-separated components): one
			// row each instead of the 4×2 kernel over every pair.
			for t, c := range sg {
				axpy(e.resp[(i+t)*k+int(c)], f[t*nf:(t+1)*nf], mom[int(c)*nf:(int(c)+1)*nf])
			}
			continue
		}
		j := 0
		for ; j+2 <= k; j += 2 {
			nz := 0
			for t := range 4 {
				a, b := e.resp[(i+t)*k+j], e.resp[(i+t)*k+j+1]
				r8[2*t], r8[2*t+1] = a, b
				if a != 0 {
					nz++
				}
				if b != 0 {
					nz++
				}
			}
			switch {
			case nz == 0:
			case nz <= 2:
				// Mostly zeros (well-separated components): one row at a
				// time costs a fraction of the 4×2 kernel.
				for q, r := range r8 {
					if r != 0 {
						c := j + q&1
						axpy(r, f[(q>>1)*nf:(q>>1+1)*nf], mom[c*nf:(c+1)*nf])
					}
				}
			default:
				axpy4x2(&r8, f, nf, mom[j*nf:], nf, nf)
			}
		}
		for ; j < k; j++ {
			r4[0], r4[1], r4[2], r4[3] = e.resp[i*k+j], e.resp[(i+1)*k+j], e.resp[(i+2)*k+j], e.resp[(i+3)*k+j]
			if r4 != [4]float64{} {
				axpy4(&r4, f, nf, mom[j*nf:(j+1)*nf])
			}
		}
	}
	for ; i < s1; i++ {
		f := buf[(i-s0)*nf : (i-s0+1)*nf]
		for j := range k {
			if rj := e.resp[i*k+j]; rj != 0 {
				axpy(rj, f, mom[j*nf:(j+1)*nf])
			}
		}
	}
}

// setQuadratic fills vmat with each component's quadratic-form
// coefficients over the features [x_a·x_b, x_a, 1]:
// (x−μ)ᵀP(x−μ) = Σ P_aa x_a² + Σ_{a>b} 2P_ab x_a x_b − 2(Pμ)ᵀx + μᵀPμ.
func (e *em) setQuadratic(m *Mixture) {
	d, nf := e.d, e.nf
	dd := d * d
	pm := make([]float64, dd)
	pmu := make([]float64, d)
	for j := range e.k {
		li := m.prec[j*dd : (j+1)*dd]
		for a := range d {
			for b := 0; b <= a; b++ {
				var s float64
				for r := a; r < d; r++ {
					s += li[r*d+a] * li[r*d+b]
				}
				pm[a*d+b], pm[b*d+a] = s, s
			}
		}
		mu := m.means[j*d : (j+1)*d]
		var c float64
		for a := range d {
			var s float64
			for b := range d {
				s += pm[a*d+b] * mu[b]
			}
			pmu[a] = s
			c += s * mu[a]
		}
		v := e.vmat[j*nf : (j+1)*nf]
		q := d * (d + 1) / 2
		for a := range d {
			for b := 0; b <= a; b++ {
				if a == b {
					v[e.fidx[a*d+b]] = pm[a*d+a]
				} else {
					v[e.fidx[a*d+b]] = 2 * pm[a*d+b]
				}
			}
		}
		for a := range d {
			v[q+a] = -2 * pmu[a]
		}
		v[e.nq-1] = c
	}
}

// moments accumulates, from resp, each component's total responsibility w
// and weighted sum of points mu (and, on the feature path, the weighted
// second moments in mom, k·(d(d+1)/2) values in feature order, see fidx).
func (e *em) moments() (w, mu, mom []float64) {
	n, d, k := e.n, e.d, e.k
	if e.quad {
		nf := e.nf
		if !e.momFresh {
			e.parallel(func(b int) {
				lo, hi := b*blockSize, min((b+1)*blockSize, n)
				mom := e.pMom[b*k*nf : (b+1)*k*nf]
				clear(mom)
				buf := e.blockBuf(b)
				for s0 := lo; s0 < hi; s0 += subBlock {
					s1 := min(s0+subBlock, hi)
					e.features(s0, s1, buf)
					e.markSingles(s0, s1)
					e.accumulate(s0, s1, buf, mom)
				}
			})
		}
		e.momFresh = false
		all := make([]float64, k*nf)
		for b := range e.blocks {
			for q, v := range e.pMom[b*k*nf : (b+1)*k*nf] {
				all[q] += v
			}
		}
		p := e.nq - d - 1
		w = make([]float64, k)
		mu = make([]float64, k*d)
		mom = make([]float64, k*p)
		for j := range k {
			row := all[j*nf : (j+1)*nf]
			copy(mom[j*p:(j+1)*p], row[:p])
			copy(mu[j*d:(j+1)*d], row[p:p+d])
			w[j] = row[e.nq-1]
		}
		return w, mu, mom
	}
	e.parallel(func(b int) {
		lo, hi := b*blockSize, min((b+1)*blockSize, n)
		// Local sums, copied out once: neighbouring blocks' partial sums
		// share cache lines.
		nk := make([]float64, k)
		sum := make([]float64, k*d)
		defer func() {
			copy(e.pNk[b*k:(b+1)*k], nk)
			copy(e.pSum[b*k*d:(b+1)*k*d], sum)
		}()
		for i := lo; i < hi; i++ {
			xi := e.x[i*d : (i+1)*d]
			r := e.resp[i*k : (i+1)*k]
			for j, rj := range r {
				if rj == 0 {
					continue
				}
				nk[j] += rj
				s := sum[j*d : (j+1)*d]
				for a, v := range xi {
					s[a] += rj * v
				}
			}
		}
	})
	w = make([]float64, k)
	mu = make([]float64, k*d)
	for b := range e.blocks {
		for j := range k {
			w[j] += e.pNk[b*k+j]
		}
		for j := range k * d {
			mu[j] += e.pSum[b*k*d+j]
		}
	}
	return w, mu, nil
}

// mStep re-estimates the parameters from resp. prev (nil at start) supplies
// the log-likelihoods used to re-seed empty components.
func (e *em) mStep(prev *Mixture) (*Mixture, int, error) {
	n, d, k := e.n, e.d, e.k
	dd := d * d
	// Re-seed components that lost their points: the worst-explained point
	// whose own component keeps at least one point moves to the empty
	// component, then the moments are recomputed, until none is empty.
	const empty = 1e-8
	reseeded := 0
	isNew := make([]bool, k)
	used := map[int]bool{}
	var w, mu, mom []float64
	for attempt := 0; ; attempt++ {
		w, mu, mom = e.moments()
		var empties []int
		for j := range k {
			if !(w[j] > empty) {
				empties = append(empties, j)
			}
		}
		if len(empties) == 0 {
			break
		}
		if attempt > k {
			return nil, 0, fmt.Errorf("cannot re-seed %d empty components", len(empties))
		}
		for _, j := range empties {
			p := e.worstPoint(prev, used, w)
			if p < 0 {
				return nil, 0, fmt.Errorf("no point left to re-seed component %d", j)
			}
			used[p] = true
			reseeded++
			isNew[j] = true
			r := e.resp[p*k : (p+1)*k]
			clear(r)
			r[j] = 1
		}
		e.momFresh = false
	}
	for j := range k {
		inv := 1 / w[j]
		for a := range d {
			mu[j*d+a] *= inv
		}
	}
	cov := make([]float64, k*dd)
	if mom != nil {
		p := d * (d + 1) / 2
		for j := range k {
			cj := cov[j*dd : (j+1)*dd]
			m := mu[j*d : (j+1)*d]
			inv := 1 / w[j]
			for a := range d {
				for b := 0; b <= a; b++ {
					if e.opt.Covariance == Full || a == b {
						v := mom[j*p+e.fidx[a*d+b]]*inv - m[a]*m[b]
						cj[a*d+b], cj[b*d+a] = v, v
					}
				}
			}
		}
	} else {
		// Scatter around the new means (lower triangle only).
		e.parallel(func(b int) {
			lo, hi := b*blockSize, min((b+1)*blockSize, n)
			c := make([]float64, k*dd)
			defer copy(e.pCov[b*k*dd:(b+1)*k*dd], c)
			diff := make([]float64, d)
			for i := lo; i < hi; i++ {
				xi := e.x[i*d : (i+1)*d]
				r := e.resp[i*k : (i+1)*k]
				for j, rj := range r {
					if rj == 0 {
						continue
					}
					m := mu[j*d : (j+1)*d]
					cj := c[j*dd : (j+1)*dd]
					if e.opt.Covariance == Diag {
						for a := range d {
							t := xi[a] - m[a]
							cj[a*d+a] += rj * t * t
						}
						continue
					}
					for a := range d {
						diff[a] = xi[a] - m[a]
					}
					for a := range d {
						ra := rj * diff[a]
						row := cj[a*d : a*d+a+1]
						for q := range row {
							row[q] += ra * diff[q]
						}
					}
				}
			}
		})
		for b := range e.blocks {
			for j := range k * dd {
				cov[j] += e.pCov[b*k*dd+j]
			}
		}
		for j := range k {
			cj := cov[j*dd : (j+1)*dd]
			inv := 1 / w[j]
			for a := range d {
				for q := 0; q <= a; q++ {
					v := cj[a*d+q] * inv
					cj[a*d+q] = v
					cj[q*d+a] = v
				}
			}
		}
	}
	if reseeded > 0 {
		// A re-seeded component holds one point; give it the average
		// covariance of the others (or unit variance when all are new).
		avg := make([]float64, dd)
		others := 0
		for j := range k {
			if !isNew[j] {
				others++
				for q := range dd {
					avg[q] += cov[j*dd+q]
				}
			}
		}
		for q := range dd {
			if others > 0 {
				avg[q] /= float64(others)
			} else if q%(d+1) == 0 {
				avg[q] = 1
			}
		}
		for j := range k {
			if isNew[j] {
				copy(cov[j*dd:(j+1)*dd], avg)
			}
		}
	}
	weights := make([]float64, k)
	for j := range k {
		weights[j] = w[j] / float64(n)
	}
	// Add the ridge; grow it when a covariance is numerically singular.
	for {
		c := append([]float64(nil), cov...)
		for j := range k {
			for a := range d {
				c[j*dd+a*d+a] += e.ridge
			}
		}
		m, err := newFlatOn(e.tm, d, append([]float64(nil), weights...), append([]float64(nil), mu...), c)
		if err == nil {
			return m, reseeded, nil
		}
		if !errors.Is(err, ErrNotPositiveDefinite) || e.ridge > 1e6 {
			return nil, 0, fmt.Errorf("m-step (ridge %g): %w", e.ridge, err)
		}
		e.ridge = math.Max(e.ridge*10, 1e-12)
	}
}

// worstPoint is the point with the lowest log-likelihood under the previous
// model (or the farthest from the data mean at start), among the points not
// yet used whose main component holds at least two points' weight, so that
// moving it empties nothing. It returns −1 when there is none.
func (e *em) worstPoint(prev *Mixture, used map[int]bool, w []float64) int {
	n, d, k := e.n, e.d, e.k
	var score func(i int) float64
	if prev == nil {
		mean := make([]float64, d)
		for i := range n {
			for a := range d {
				mean[a] += e.x[i*d+a] / float64(n)
			}
		}
		score = func(i int) float64 { return -sqDist(e.x[i*d:(i+1)*d], mean) }
	} else {
		ll := prev.LogProbs(e.x, nil)
		score = func(i int) float64 { return ll[i] }
	}
	best, bv := -1, math.Inf(1)
	for i := range n {
		if used[i] {
			continue
		}
		r := e.resp[i*k : (i+1)*k]
		main := 0
		for j := range r {
			if r[j] > r[main] {
				main = j
			}
		}
		if w[main] < 2 {
			continue
		}
		if v := score(i); best < 0 || v < bv {
			best, bv = i, v
		}
	}
	return best
}
