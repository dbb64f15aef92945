package measure

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/ggmi-dev/ggmi/gmm"
)

// A CoverageCase is one estimator on one distribution with a known truth:
// Run draws a fresh sample from rng and returns the estimate, its 95%
// interval and (for tests) the p-value. Kind "interval" counts how often the
// interval covers Truth; kind "size" counts how often p ≤ 0.05 under a true
// null (the test's size).
type CoverageCase struct {
	Estimator string
	Case      string
	Kind      string  // "interval" or "size"
	Truth     float64 // the estimand (interval cases)
	// Checked marks cases where the estimator is consistent at the sample
	// size and its interval is expected to cover 92–98% of the time (size:
	// 3–7%); the others are reported as known approximations.
	Checked bool
	Note    string
	// Scale multiplies the replicates of a cheap case in the full run
	// (Replicates); 0 means 1.
	Scale int
	Run   func(rng *rand.Rand, seed uint64) (est float64, ci Interval, p float64, err error)
}

// Replicates is the number of replicates the full run gives c when the
// others get R: R·Scale, so that cases costing milliseconds per replicate
// pin their coverage down more tightly at no real cost.
func (c CoverageCase) Replicates(R int) int {
	return R * max(c.Scale, 1)
}

// CoverageRow is the outcome of R replicates of a case.
type CoverageRow struct {
	Estimator, Case, Kind, Note string
	Truth                       float64
	Checked                     bool
	R, Hits, Failed             int
	Rate                        float64  // coverage (interval) or rejection rate at α = 0.05 (size)
	Wilson                      Interval // Wilson 95% interval of Rate
	MeanEst, MeanHalfWidth      float64
	Seconds                     float64
}

// OK reports whether the row meets its target: coverage in [0.92, 0.98] or
// size in [0.03, 0.07] (the point estimate).
func (r CoverageRow) OK() bool {
	if r.Kind == "size" {
		return r.Rate >= 0.03 && r.Rate <= 0.07
	}
	return r.Rate >= 0.92 && r.Rate <= 0.98
}

// Plausible reports whether the target range and the Wilson interval of
// the rate overlap (the check a small number of replicates supports).
func (r CoverageRow) Plausible() bool {
	lo, hi := 0.92, 0.98
	if r.Kind == "size" {
		lo, hi = 0.03, 0.07
	}
	return r.Wilson[1] >= lo && r.Wilson[0] <= hi
}

// Wilson returns the Wilson score 95% interval of a binomial proportion.
func Wilson(hits, n int) Interval {
	if n == 0 {
		return Interval{0, 1}
	}
	z := 1.959963984540054
	p := float64(hits) / float64(n)
	fn := float64(n)
	den := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / den
	h := z / den * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))
	return Interval{math.Max(0, c-h), math.Min(1, c+h)}
}

// RunCoverage runs R replicates of c; replicate r draws from a generator
// seeded with (seed, r). Replicates whose estimator fails are counted in
// Failed and count as misses.
func RunCoverage(c CoverageCase, R int, seed uint64) CoverageRow {
	t0 := time.Now()
	row := CoverageRow{Estimator: c.Estimator, Case: c.Case, Kind: c.Kind, Note: c.Note, Truth: c.Truth, Checked: c.Checked, R: R}
	var se, sh float64
	ok := 0
	for r := range R {
		rng := rand.New(rand.NewPCG(seed, uint64(r)+1))
		est, ci, p, err := c.Run(rng, seed^uint64(r)*0x9e3779b97f4a7c15)
		if err != nil || math.IsNaN(est) {
			row.Failed++
			continue
		}
		ok++
		se += est
		if c.Kind == "size" {
			if p <= 0.05 {
				row.Hits++
			}
			continue
		}
		sh += (ci[1] - ci[0]) / 2
		if ci[0] <= c.Truth && c.Truth <= ci[1] {
			row.Hits++
		}
	}
	row.Rate = float64(row.Hits) / float64(R)
	row.Wilson = Wilson(row.Hits, R)
	if ok > 0 {
		row.MeanEst, row.MeanHalfWidth = se/float64(ok), sh/float64(ok)
	}
	row.Seconds = time.Since(t0).Seconds()
	return row
}

// CoverageMarkdown renders rows as a Markdown table.
func CoverageMarkdown(rows []CoverageRow) string {
	s := "| estimator | case | truth | R | coverage / size | Wilson 95% | mean estimate | mean half-width | target met | s |\n"
	s += "|---|---|---:|---:|---:|---|---:|---:|---|---:|\n"
	for _, r := range rows {
		truth, target := fmt.Sprintf("%.4g", r.Truth), "yes"
		if r.Kind == "size" {
			truth = "H0 true"
		}
		if !r.OK() {
			target = "no"
		}
		if !r.Checked {
			target += " (known approximate)"
		}
		hw := fmt.Sprintf("%.4g", r.MeanHalfWidth)
		if r.Kind == "size" {
			hw = "–"
		}
		fail := ""
		if r.Failed > 0 {
			fail = fmt.Sprintf(" (%d failed)", r.Failed)
		}
		s += fmt.Sprintf("| %s | %s | %s | %d%s | %.3f | [%.3f, %.3f] | %.4g | %s | %s | %.0f |\n",
			r.Estimator, r.Case, truth, r.R, fail, r.Rate, r.Wilson[0], r.Wilson[1], r.MeanEst, hw, target, r.Seconds)
	}
	return s
}

// gaussRows draws n rows of N(mu, diag(v)).
func gaussRows(rng *rand.Rand, n int, mu, v []float64) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		r := make([]float64, len(mu))
		for j := range r {
			r[j] = mu[j] + math.Sqrt(v[j])*rng.NormFloat64()
		}
		out[i] = r
	}
	return out
}

// corrPairs draws n pairs of standard normals with correlation rho.
func corrPairs(rng *rand.Rand, n int, rho float64) ([][]float64, [][]float64) {
	x := make([][]float64, n)
	y := make([][]float64, n)
	for i := range x {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x[i] = []float64{a}
		y[i] = []float64{rho*a + math.Sqrt(1-rho*rho)*b}
	}
	return x, y
}

func diagCov(v []float64) []float64 {
	d := len(v)
	c := make([]float64, d*d)
	for i, x := range v {
		c[i*d+i] = x
	}
	return c
}

// gaussKernelMean returns E exp(−½ zᵀAz) for z ~ N(0, S), A = diag(a):
// det(I + S·A)^(−1/2).
func gaussKernelMean(s []float64, a []float64) float64 {
	d := len(a)
	m := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			v := s[i*d+j] * a[j]
			if i == j {
				v++
			}
			m.Set(i, j, v)
		}
	}
	return 1 / math.Sqrt(mat.Det(m))
}

// HSICGaussianTruth is the population HSIC of standard normal X and Y with
// correlation rho under Gaussian kernels of bandwidths s2x, s2y:
// E[k(X,X′)l(Y,Y′)] + E[k]E[l] − 2E[k(X,X′)l(Y,Y″)], each term a Gaussian
// integral det(I + ΣA)^(−1/2) with Σ the covariance of the differences.
func HSICGaussianTruth(rho, s2x, s2y float64) float64 {
	a := []float64{1 / s2x, 1 / s2y}
	t1 := gaussKernelMean([]float64{2, 2 * rho, 2 * rho, 2}, a)
	t2 := gaussKernelMean([]float64{2}, a[:1]) * gaussKernelMean([]float64{2}, a[1:])
	t3 := gaussKernelMean([]float64{2, rho, rho, 2}, a)
	return t1 + t2 - 2*t3
}

// MMDGaussianTruth is the population MMD² between N(0, I_d) and N(μ, I_d)
// under a Gaussian kernel of bandwidth s2:
// 2(1 + 2/s2)^(−d/2)·(1 − exp(−‖μ‖²/(2(s2 + 2)))).
func MMDGaussianTruth(mu []float64, s2 float64) float64 {
	var m2 float64
	for _, v := range mu {
		m2 += v * v
	}
	return 2 * math.Pow(1+2/s2, -float64(len(mu))/2) * (1 - math.Exp(-m2/(2*(s2+2))))
}

// VendiGaussianTruth is the population cosine-kernel Vendi score of
// N(0, diag(v)): exp of the entropy of the eigenvalues λ_j = E[x_j²/‖x‖²]
// of E[uuᵀ], u = x/‖x‖, each the integral
// ∫₀^∞ v_j(1 + 2tv_j)⁻¹ Π_i(1 + 2tv_i)^(−1/2) dt (Gauss–Legendre on
// t = s/(1−s), 2,000 nodes).
func VendiGaussianTruth(v []float64) float64 {
	var h float64
	for j := range v {
		f := func(s float64) float64 {
			if s >= 1 {
				return 0
			}
			t := s / (1 - s)
			p := v[j] / (1 + 2*t*v[j])
			for _, vi := range v {
				p /= math.Sqrt(1 + 2*t*vi)
			}
			return p / ((1 - s) * (1 - s))
		}
		l := quad.Fixed(f, 0, 1, 2000, quad.Legendre{}, 0)
		h -= l * math.Log(l)
	}
	return math.Exp(h)
}

// suiteBoot mirrors the bootstrap the measure suite uses by default (Run:
// 200 half-samples, at most 2,000 rows each).
func suiteBoot(seed uint64) BootstrapOptions {
	return BootstrapOptions{Resamples: 200, Seed: seed, MaxN: 2000, Subsample: true, Workers: 1}
}

// CoverageCases lists the cases of the coverage harness. quick shrinks the
// k-NN half-sample counts so a default test run takes seconds (the same
// estimators and distributions).
func CoverageCases(quick bool) []CoverageCase {
	knnB := 100
	if quick {
		knnB = 40
	}
	var cases []CoverageCase
	// GMM Monte-Carlo estimators (the simulation's KL, TV, entropy).
	p2, _ := gmm.New([]float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 0.3, 0.3, 1}})
	q2, _ := gmm.New([]float64{1}, [][]float64{{1, -0.5}}, [][]float64{{2, 0, 0, 0.5}})
	klTruth, _ := gmm.GaussianKL([]float64{0, 0}, []float64{1, 0.3, 0.3, 1}, []float64{1, -0.5}, []float64{2, 0, 0, 0.5})
	hTruth, _ := gmm.GaussianEntropy([]float64{1, 0.3, 0.3, 1}, 2)
	p1, _ := gmm.New([]float64{1}, [][]float64{{0}}, [][]float64{{1}})
	q1, _ := gmm.New([]float64{1}, [][]float64{{1}}, [][]float64{{1}})
	tvTruth := 2*distuv.UnitNormal.CDF(0.5) - 1
	est := func(e gmm.Estimate) (float64, Interval, float64, error) {
		return e.Value, Interval{e.Value - 1.96*e.SE, e.Value + 1.96*e.SE}, math.NaN(), nil
	}
	cases = append(cases,
		CoverageCase{Estimator: "gmm MC KL", Case: "2-D Gaussians, 1,000 draws", Kind: "interval", Truth: klTruth, Checked: true, Scale: 5,
			Run: func(rng *rand.Rand, _ uint64) (float64, Interval, float64, error) {
				return est(gmm.KL(rng, p2, q2, 1000))
			}},
		CoverageCase{Estimator: "gmm MC TV", Case: "N(0,1) vs N(1,1), 1,000 draws", Kind: "interval", Truth: tvTruth, Checked: true, Scale: 5,
			Run: func(rng *rand.Rand, _ uint64) (float64, Interval, float64, error) {
				return est(gmm.TV(rng, p1, q1, 1000))
			}},
		CoverageCase{Estimator: "gmm MC entropy", Case: "2-D Gaussian, 1,000 draws", Kind: "interval", Truth: hTruth, Checked: true, Scale: 5,
			Run: func(rng *rand.Rand, _ uint64) (float64, Interval, float64, error) {
				return est(gmm.Entropy(rng, p2, 1000))
			}},
	)
	// KSG mutual information.
	rho := 0.8
	cases = append(cases, CoverageCase{Estimator: "KSG MI", Case: "ρ = 0.8, n = 500, k = 3", Kind: "interval",
		Truth: -0.5 * math.Log(1-rho*rho), Checked: true,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x, y := corrPairs(rng, 500, rho)
			r, err := KSG(x, y, KSGOptions{CI: KNNInterval{Resamples: knnB, Seed: seed}})
			return r.Value, r.CI95, math.NaN(), err
		}})
	// k-NN entropy: what KLEntropyOpt's "auto" picks (the weighted
	// k-ensemble in 3-D, fixed k = 3 in 10-D) and, for comparison, the
	// other method in each dimension.
	for _, c := range []struct {
		d, n    int
		method  string
		checked bool
		note    string
	}{{3, 1000, "ensemble", true, ""},
		{10, 1000, "fixed-k", true, "bias ≈ +0.18 nats (2.3 SE) at n = 1,000, caught by the extrapolated-bias extension"},
		{3, 1000, "fixed-k", false, "for comparison: bias ≈ −0.04 nats (0.85 SE), decaying more slowly than the extension assumes"},
		{10, 1000, "ensemble", false, "for comparison: the bias left after the leading term is not what the extension sees"}} {
		v := make([]float64, c.d)
		mu := make([]float64, c.d)
		for j := range v {
			v[j] = 1 + float64(j%3)
		}
		h, _ := gmm.GaussianEntropy(diagCov(v), c.d)
		name := fmt.Sprintf("%d-D Gaussian, n = %d, k = 1…10 weighted", c.d, c.n)
		if c.method == "fixed-k" {
			name = fmt.Sprintf("%d-D Gaussian, n = %d, fixed k = 3", c.d, c.n)
		}
		cases = append(cases, CoverageCase{Estimator: "k-NN entropy", Case: name,
			Kind: "interval", Truth: h, Checked: c.checked, Note: c.note,
			Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
				r, err := KLEntropyOpt(gaussRows(rng, c.n, mu, v), KNNEntropyOptions{K: 3, Method: c.method, CI: KNNInterval{Resamples: knnB, Seed: seed, BiasAware: true}})
				return r.Value, r.CI95, math.NaN(), err
			}})
	}
	// k-NN KL: the weighted ensemble of WKV's fixed-k estimators (the
	// default in these dimensions) and WKV's adaptive estimator (the
	// default above 10 dimensions) on the thin tail, for comparison.
	zero3, one3 := []float64{0, 0, 0}, []float64{1, 1, 1}
	for _, c := range []struct {
		name         string
		muP, vP, vQ  []float64
		muQ          []float64
		n            int
		checked      bool
		note, method string
	}{
		{"3-D, Q broader (σ²_Q = 2), n = m = 1,000", zero3, one3, []float64{2, 2, 2}, zero3, 1000, true, "over-covers (0.990 at R = 200): the extension over-reaches where the ensemble has left little bias", "ensemble"},
		{"3-D, mean shift (1, 1, 0), n = m = 1,000", []float64{1, 1, 0}, one3, one3, zero3, 1000, true, "", "ensemble"},
		{"3-D, P in Q's thin tail (σ²_Q = 0.5), n = m = 1,000", zero3, one3, []float64{0.5, 0.5, 0.5}, zero3, 1000, false, "p/q is unbounded in P's tails: the bias decays far more slowly than n/4, n/2, n show; a lower bound", "ensemble"},
		{"3-D, P in Q's thin tail, WKV adaptive (eq. 17)", zero3, one3, []float64{0.5, 0.5, 0.5}, zero3, 1000, false, "the estimator used above 10 dimensions, for comparison", "adaptive"},
	} {
		truth, _ := gmm.GaussianKL(c.muP, diagCov(c.vP), c.muQ, diagCov(c.vQ))
		cases = append(cases, CoverageCase{Estimator: "k-NN KL", Case: c.name, Kind: "interval", Truth: truth, Checked: c.checked, Note: c.note,
			Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
				x := gaussRows(rng, c.n, c.muP, c.vP)
				y := gaussRows(rng, c.n, c.muQ, c.vQ)
				r, err := KLDivergenceOpt(x, y, KNNKLOptions{K: 3, Method: c.method, CI: KNNInterval{Resamples: knnB, Seed: seed}})
				return r.Value, r.CI95, math.NaN(), err
			}})
	}
	// HSIC: the suite's interval (biased HSIC, half-sampling) with fixed
	// bandwidths, and the permutation test's size.
	cases = append(cases, CoverageCase{Estimator: "HSIC", Case: "ρ = 0.5, σ² = 1, n = 300 (suite interval)", Kind: "interval",
		Truth: HSICGaussianTruth(0.5, 1, 1), Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x, y := corrPairs(rng, 300, 0.5)
			k, _, _ := Gram(x, Kernel{Sigma2: 1}, 0)
			l, _, _ := Gram(y, Kernel{Sigma2: 1}, 0)
			n := len(x)
			v := HSICBiased(k, l, n)
			b, err := Bootstrap([]int{n}, v, func(ix [][]int) (float64, error) { return hsicSub(k, l, n, ix[0]), nil }, suiteBoot(seed))
			return v, b.CI, math.NaN(), err
		}})
	cases = append(cases, CoverageCase{Estimator: "HSIC permutation test", Case: "independent, n = 100, 199 permutations, median heuristic", Kind: "size", Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x, y := corrPairs(rng, 100, 0)
			r, err := HSIC(x, y, HSICOptions{Permutations: 199, Seed: seed})
			if err != nil {
				return math.NaN(), nanCI, math.NaN(), err
			}
			pv, err := setting[float64](r, "p_value")
			return r.Value, nanCI, pv, err
		}})
	// MMD: the suite's interval with a fixed bandwidth, and the test's size.
	mu := []float64{0.5, 0}
	cases = append(cases, CoverageCase{Estimator: "MMD²", Case: "N(0,I₂) vs N((0.5,0),I₂), σ² = 1, n = m = 200 (suite interval)", Kind: "interval",
		Truth: MMDGaussianTruth(mu, 1), Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x := gaussRows(rng, 200, []float64{0, 0}, []float64{1, 1})
			y := gaussRows(rng, 200, mu, []float64{1, 1})
			r, err := MMD(x, y, MMDOptions{Sigma2: 1})
			if err != nil {
				return math.NaN(), nanCI, math.NaN(), err
			}
			g, _, _ := Gram(append(append([][]float64{}, x...), y...), Kernel{Sigma2: 1}, 0)
			b, err := Bootstrap([]int{200, 200}, r.Value, func(ix [][]int) (float64, error) { return mmdSub(g, 400, 200, ix[0], ix[1]), nil }, suiteBoot(seed))
			return r.Value, b.CI, math.NaN(), err
		}})
	cases = append(cases, CoverageCase{Estimator: "MMD permutation test", Case: "P = Q = N(0,I₂), n = m = 100, 199 permutations", Kind: "size", Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x := gaussRows(rng, 100, []float64{0, 0}, []float64{1, 1})
			y := gaussRows(rng, 100, []float64{0, 0}, []float64{1, 1})
			r, err := MMD(x, y, MMDOptions{Permutations: 199, Seed: seed})
			if err != nil {
				return math.NaN(), nanCI, math.NaN(), err
			}
			pv, err := setting[float64](r, "p_value")
			return r.Value, nanCI, pv, err
		}})
	// C2ST: the Wilson interval against the Bayes accuracy Φ(δ/2).
	cases = append(cases, CoverageCase{Estimator: "C2ST accuracy", Case: "N(0,1) vs N(1,1), n = m = 250, 5 folds", Kind: "interval",
		Truth: distuv.UnitNormal.CDF(0.5), Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x := gaussRows(rng, 250, []float64{0}, []float64{1})
			y := gaussRows(rng, 250, []float64{1}, []float64{1})
			r, err := ClassifierTwoSample(x, y, C2STOptions{Seed: seed})
			return r.Value, r.CI95, math.NaN(), err
		}})
	// Semantic entropy's bootstrap (clusters fixed, items resampled).
	probs := []float64{0.4, 0.3, 0.2, 0.1}
	var seTruth float64
	for _, p := range probs {
		seTruth -= p * math.Log(p)
	}
	cases = append(cases, CoverageCase{Estimator: "semantic entropy (bootstrap)", Case: "4 clusters p = (.4,.3,.2,.1), n = 500", Kind: "interval",
		Truth: seTruth, Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			c := make([]int, 500)
			for i := range c {
				u := rng.Float64()
				for j, p := range probs {
					if u < p || j == len(probs)-1 {
						c[i] = j
						break
					}
					u -= p
				}
			}
			v, err := DiscreteSE(c)
			if err != nil {
				return math.NaN(), nanCI, math.NaN(), err
			}
			b, err := Bootstrap([]int{len(c)}, v, func(ix [][]int) (float64, error) { return DiscreteSE(pickRows(c, ix[0])) }, suiteBoot(seed))
			return v, b.CI, math.NaN(), err
		}})
	// Vendi's bootstrap.
	vv := []float64{1, 2, 4}
	cases = append(cases, CoverageCase{Estimator: "Vendi (bootstrap)", Case: "N(0, diag(1,2,4)), cosine kernel, n = 500", Kind: "interval",
		Truth: VendiGaussianTruth(vv), Checked: true, Scale: 5,
		Run: func(rng *rand.Rand, seed uint64) (float64, Interval, float64, error) {
			x := gaussRows(rng, 500, []float64{0, 0, 0}, vv)
			r, err := Vendi(x)
			if err != nil {
				return math.NaN(), nanCI, math.NaN(), err
			}
			u := unitRows(x)
			b, err := Bootstrap([]int{len(u)}, r.Value, func(ix [][]int) (float64, error) {
				v, err := Vendi(pickRows(u, ix[0]))
				return v.Value, err
			}, suiteBoot(seed))
			return r.Value, b.CI, math.NaN(), err
		}})
	return cases
}
