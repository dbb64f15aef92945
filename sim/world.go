package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/ggmi-dev/ggmi/gmm"
)

// World is one draw of the App. B world: the ground truth G, the anchor
// data, the generative model M, the synthetic data (after curation) and
// the two fitted models.
type World struct {
	Config Config

	// G is the ground truth: K+J components with equal weights. Its first K
	// components are the anchor part, the next J the unsampled part.
	G *gmm.Mixture
	// AnchorDist is the distribution the anchors are drawn from: G's first K
	// components, equally weighted.
	AnchorDist *gmm.Mixture
	// M is the generative model: K components fitted per label from the
	// anchors, J copied from G, L random task-irrelevant ones; equal weights.
	M *gmm.Mixture

	Anchors      []float64 // K·N_k points, row-major
	AnchorLabels []int     // the G component each anchor came from
	Synthetic    []float64 // the synthetic points kept after curation
	SynthLabels  []int     // the M component each kept point came from
	Rejected     []float64 // synthetic points removed by curation
	// LogGThreshold is the curation threshold on log g(x) (−Inf without
	// curation): points of M below it are rejected.
	LogGThreshold float64

	PiAnchor *gmm.Fit // GMM fitted on the anchors
	PiGen    *gmm.Fit // GMM fitted on the synthetic data
}

// randomMean draws a mean uniform in [lo, hi)^d.
func randomMean(rng *rand.Rand, d int, lo, hi float64) []float64 {
	m := make([]float64, d)
	for i := range m {
		m[i] = lo + (hi-lo)*rng.Float64()
	}
	return m
}

// randomCov draws a d×d covariance by the chosen recipe.
func randomCov(rng *rand.Rand, d int, recipe CovRecipe, ridge float64) []float64 {
	a := make([]float64, d*d)
	for i := range a {
		a[i] = rng.Float64()
	}
	c := make([]float64, d*d)
	switch recipe {
	case CovReference:
		b := make([]float64, d*d)
		for i := range b {
			b[i] = rng.Float64()
		}
		// R = A·Bᵀ; NumPy's multivariate_normal samples x = z·√s·Vᵀ from the
		// SVD R = U·diag(s)·Vᵀ, i.e. from the covariance V·diag(s)·Vᵀ.
		r := mat.NewDense(d, d, nil)
		r.Mul(mat.NewDense(d, d, a), mat.NewDense(d, d, b).T())
		var svd mat.SVD
		if !svd.Factorize(r, mat.SVDFull) {
			// Cannot happen for a finite matrix; fall back to the SPD recipe.
			return randomCov(rng, d, CovSPD, ridge)
		}
		s := svd.Values(nil)
		var v mat.Dense
		svd.VTo(&v)
		for i := range d {
			for j := range d {
				var t float64
				for q := range d {
					t += v.At(i, q) * s[q] * v.At(j, q)
				}
				c[i*d+j] = t
			}
		}
	default:
		for i := range d {
			for j := range d {
				var t float64
				for q := range d {
					t += a[i*d+q] * a[j*d+q]
				}
				c[i*d+j] = t
			}
		}
	}
	for i := range d {
		c[i*d+i] += ridge
	}
	return c
}

// NewWorld draws a world for cfg (which must be valid) from rng.
func NewWorld(cfg Config, rng *rand.Rand) (*World, error) {
	return newWorld(context.Background(), cfg, rng)
}

func newWorld(ctx context.Context, cfg Config, rng *rand.Rand) (*World, error) {
	d := cfg.Dim
	w := &World{Config: cfg, LogGThreshold: math.Inf(-1)}

	// Ground truth G.
	kj := cfg.K + cfg.J
	gw := make([]float64, kj)
	gm := make([][]float64, kj)
	gc := make([][]float64, kj)
	for i := range kj {
		gw[i] = 1
		gm[i] = randomMean(rng, d, cfg.MeanLow, cfg.MeanHigh)
		gc[i] = randomCov(rng, d, cfg.Covariance, cfg.CovRidge)
	}
	g, err := gmm.New(gw, gm, gc)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	w.G = g
	if w.AnchorDist, err = g.Sub(0, cfg.K); err != nil {
		return nil, err
	}

	// Anchors: N_k points from each of the first K components, labels kept.
	nk := cfg.AnchorPerComp
	w.Anchors = make([]float64, cfg.K*nk*d)
	w.AnchorLabels = make([]int, cfg.K*nk)
	for k := range cfg.K {
		g.SampleComponent(rng, k, w.Anchors[k*nk*d:(k+1)*nk*d])
		for i := range nk {
			w.AnchorLabels[k*nk+i] = k
		}
	}

	// Generative model M.
	n := cfg.K + cfg.J + cfg.L
	mw := make([]float64, n)
	mm := make([][]float64, n)
	mc := make([][]float64, n)
	for i := range mw {
		mw[i] = 1
	}
	for k := range cfg.K {
		pts := w.Anchors[k*nk*d : (k+1)*nk*d]
		mm[k], mc[k] = meanCov(pts, d)
		for a := range d {
			mc[k][a*d+a] += cfg.AnchorCovRidge
		}
	}
	for j := range cfg.J {
		mm[cfg.K+j] = g.Mean(cfg.K + j)
		mc[cfg.K+j] = g.Cov(cfg.K + j)
	}
	for l := range cfg.L {
		i := cfg.K + cfg.J + l
		mm[i] = randomMean(rng, d, cfg.MeanLow, cfg.MeanHigh)
		mc[i] = randomCov(rng, d, cfg.Covariance, cfg.CovRidge)
	}
	if w.M, err = gmm.New(mw, mm, mc); err != nil {
		return nil, fmt.Errorf("generative model M: %w", err)
	}

	// Synthetic data and curation ε.
	syn, labels := w.M.Sample(rng, cfg.Synthetic)
	w.Synthetic, w.SynthLabels = syn, labels
	if cfg.CurateQuantile > 0 {
		lg := g.LogProbs(syn, nil)
		drop := int(cfg.CurateQuantile * float64(cfg.Synthetic))
		if drop > 0 {
			order := make([]int, len(lg))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return lg[order[a]] < lg[order[b]] })
			// Keep points strictly above the highest dropped density.
			w.LogGThreshold = lg[order[drop-1]]
			reject := make([]bool, len(lg))
			for _, i := range order[:drop] {
				reject[i] = true
			}
			var kept, rej []float64
			var kl []int
			for i := range lg {
				p := syn[i*d : (i+1)*d]
				if reject[i] {
					rej = append(rej, p...)
				} else {
					kept = append(kept, p...)
					kl = append(kl, labels[i])
				}
			}
			w.Synthetic, w.SynthLabels, w.Rejected = kept, kl, rej
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Fits.
	fit := func(x []float64, k int) (*gmm.Fit, error) {
		return gmm.FitEM(x, d, gmm.FitOptions{
			Components: k, Tol: cfg.EMTol, MaxIter: cfg.EMMaxIter, NInit: cfg.EMNInit,
			RegCovar: cfg.EMRegCovar, Seed: rng.Uint64(), Workers: 1, Context: ctx,
		})
	}
	if w.PiAnchor, err = fit(w.Anchors, cfg.anchorComponents()); err != nil {
		return nil, fmt.Errorf("fit π_anchor: %w", err)
	}
	if w.PiGen, err = fit(w.Synthetic, cfg.genComponents()); err != nil {
		return nil, fmt.Errorf("fit π_gen: %w", err)
	}
	return w, nil
}

// meanCov is the sample mean and unbiased sample covariance (ddof 1, as
// NumPy's np.cov) of the points of x.
func meanCov(x []float64, d int) ([]float64, []float64) {
	n := len(x) / d
	mu := make([]float64, d)
	for i := range n {
		for a := range d {
			mu[a] += x[i*d+a]
		}
	}
	for a := range d {
		mu[a] /= float64(n)
	}
	c := make([]float64, d*d)
	for i := range n {
		for a := range d {
			for b := range d {
				c[a*d+b] += (x[i*d+a] - mu[a]) * (x[i*d+b] - mu[b])
			}
		}
	}
	den := float64(n - 1)
	if n < 2 {
		den = 1
	}
	for i := range c {
		c[i] /= den
	}
	return mu, c
}
