package sim

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ggmi-dev/ggmi/gmm"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// Hand-computed histogram KL values, including the 1e-10 clipping.
func TestHistKLByHand(t *testing.T) {
	cases := []struct {
		name string
		p, q []float64
		bins int
		want float64
	}{
		// p counts (2,1), q counts (1,2) → p̃ = (2/3,1/3), q̃ = (1/3,2/3).
		{"two bins", []float64{0, 0, 1}, []float64{0, 1, 1}, 2, math.Ln2 / 3},
		// Middle cells empty in both → clipped to 1e-10, sums 3 + 1e-10.
		{"clipped middle", []float64{0, 0, 1}, []float64{0, 1, 1}, 3, math.Ln2 / (3 + 1e-10)},
		{"identical", []float64{0, 0.3, 1}, []float64{0, 0.3, 1}, 4, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := HistKL(c.p, c.q, 1, c.bins)
			if math.Abs(got-c.want) > 1e-12 {
				t.Fatalf("HistKL = %.15g, want %.15g", got, c.want)
			}
		})
	}
	// A cell empty in q only: p = (1,1,1) on 3 bins, q = (2,0,1) → q
	// density (2, 1e-10, 1)/(3+1e-10) after clipping, p̃ = 1/3 each.
	got := HistKL([]float64{0, 0.5, 1}, []float64{0, 0.1, 1}, 1, 3)
	sq := 3 + 1e-10
	want := (math.Log((1.0/3)/(2/sq)) + math.Log((1.0/3)/(1e-10/sq)) + math.Log((1.0/3)/(1/sq))) / 3
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("one-sided empty cell: %.12g, want %.12g", got, want)
	}
}

// The reference estimator's defect: a sample and its shifted copy get
// KL 0, and two independent samples of one distribution get a large KL,
// while the Monte-Carlo estimator gives the analytic values.
func TestHistDefectAgainstMC(t *testing.T) {
	cov := []float64{1, 0.3, 0.3, 0.5}
	p, err := gmm.New([]float64{1}, [][]float64{{2, 3}}, [][]float64{cov})
	if err != nil {
		t.Fatal(err)
	}
	q, err := gmm.New([]float64{1}, [][]float64{{7, 8}}, [][]float64{cov})
	if err != nil {
		t.Fatal(err)
	}
	r := rng(1)
	x, _ := p.Sample(r, 1000)
	shifted := make([]float64, len(x))
	for i, v := range x {
		shifted[i] = v + 5
	}
	if kl := HistKL(x, shifted, 2, 50); math.Abs(kl) > 1e-9 {
		t.Errorf("hist KL of a sample and its +5 copy = %v, want ≈ 0 (the defect)", kl)
	}
	if kl := HistSharedKL(x, shifted, 2, 50); kl < 10 {
		t.Errorf("hist-shared KL of a sample and its +5 copy = %v, want large", kl)
	}
	want, err := gmm.GaussianKL([]float64{2, 3}, cov, []float64{7, 8}, cov)
	if err != nil {
		t.Fatal(err)
	}
	mc := gmm.KL(r, p, q, 4000)
	if math.Abs(mc.Value-want) > 4*mc.SE+1e-9 {
		t.Errorf("MC KL %.4f ± %.4f, analytic %.4f", mc.Value, mc.SE, want)
	}
	// Two independent samples of the same distribution.
	y, _ := p.Sample(r, 1000)
	if kl := HistKL(x, y, 2, 50); kl < 5 {
		t.Errorf("hist KL of two samples of one distribution = %v, want large (the defect)", kl)
	}
	if mc := gmm.KL(r, p, p, 1000); mc.Value != 0 {
		t.Errorf("MC KL(P‖P) = %v", mc.Value)
	}
}

func TestNewWorldStructure(t *testing.T) {
	cfg := DefaultConfig()
	cfg.K, cfg.J, cfg.L = 3, 2, 4
	w, err := NewWorld(cfg, rng(3))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Dim
	if w.G.K() != 5 || w.M.K() != 9 || w.AnchorDist.K() != 3 {
		t.Fatalf("components: G %d, M %d, anchor %d", w.G.K(), w.M.K(), w.AnchorDist.K())
	}
	if len(w.Anchors) != 3*50*d || len(w.Synthetic) != 200*d {
		t.Fatalf("sizes: anchors %d, synthetic %d", len(w.Anchors)/d, len(w.Synthetic)/d)
	}
	for k := range 3 {
		pts := w.Anchors[k*50*d : (k+1)*50*d]
		mu, cv := meanCov(pts, d)
		mm, mc := w.M.Mean(k), w.M.Cov(k)
		for a := range d {
			if math.Abs(mu[a]-mm[a]) > 1e-12 {
				t.Fatalf("M component %d mean is not the label's sample mean", k)
			}
		}
		for q := range cv {
			want := cv[q]
			if q%(d+1) == 0 {
				want += cfg.AnchorCovRidge
			}
			if math.Abs(want-mc[q]) > 1e-12 {
				t.Fatalf("M component %d covariance is not the label's sample covariance", k)
			}
		}
		for _, l := range w.AnchorLabels[k*50 : (k+1)*50] {
			if l != k {
				t.Fatal("anchor labels out of order")
			}
		}
	}
	for j := range 2 {
		g, m := w.G.Cov(3+j), w.M.Cov(3+j)
		for q := range g {
			if g[q] != m[q] {
				t.Fatal("M's J part is not a copy of G's")
			}
		}
	}
	for k := range 9 {
		if math.Abs(w.M.Weight(k)-1.0/9) > 1e-15 {
			t.Fatal("M weights are not equal")
		}
	}
	if w.PiAnchor.Model.K() != 3 || w.PiGen.Model.K() != 9 {
		t.Fatalf("fits: π_anchor %d, π_gen %d components", w.PiAnchor.Model.K(), w.PiGen.Model.K())
	}
	cfg.AnchorComponents = AnchorKJL
	w, err = NewWorld(cfg, rng(3))
	if err != nil {
		t.Fatal(err)
	}
	if w.PiAnchor.Model.K() != 9 {
		t.Fatalf("--anchor-components K+J+L gave %d", w.PiAnchor.Model.K())
	}
}

// With K=1, J=L=0, π_anchor is a single Gaussian, so KL(π_anchor‖G) has a
// closed form that the round's MC estimate must match.
func TestRoundKLAgainstClosedForm(t *testing.T) {
	cfg := DefaultConfig()
	cfg.K, cfg.J, cfg.L = 1, 0, 0
	cfg.MCSamples = 20000
	for seed := uint64(1); seed <= 3; seed++ {
		w, r, err := RunRound(cfg, seed, 0, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		pa := w.PiAnchor.Model
		want, err := gmm.GaussianKL(pa.Mean(0), pa.Cov(0), w.G.Mean(0), w.G.Cov(0))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.KLAnchorG.Value-want) > 4*r.KLAnchorG.SE {
			t.Errorf("seed %d: KL(π_anchor‖G) = %.4f ± %.4f, closed form %.4f", seed, r.KLAnchorG.Value, r.KLAnchorG.SE, want)
		}
		rev, _ := gmm.GaussianKL(w.G.Mean(0), w.G.Cov(0), pa.Mean(0), pa.Cov(0))
		if math.Abs(r.KLGAnchor.Value-rev) > 4*r.KLGAnchor.SE {
			t.Errorf("seed %d: KL(G‖π_anchor) = %.4f ± %.4f, closed form %.4f", seed, r.KLGAnchor.Value, r.KLGAnchor.SE, rev)
		}
		h, _ := gmm.GaussianEntropy(w.G.Cov(0), cfg.Dim)
		if math.Abs(r.HAnchor.Value-h) > 4*r.HAnchor.SE {
			t.Errorf("seed %d: H(S_anchor) = %.4f ± %.4f, closed form %.4f", seed, r.HAnchor.Value, r.HAnchor.SE, h)
		}
		// G = M's anchor part up to sampling; TV(G, M) is small but positive.
		if r.TVGM.Value < 0 || r.TVGM.Value > 0.5 || r.TVMGen.Value != 0 {
			t.Errorf("seed %d: TV(G,M) = %v, TV(M,D_gen) = %v", seed, r.TVGM.Value, r.TVMGen.Value)
		}
	}
}

func TestCurationModel(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CurateQuantile = 0.25
	cfg.Synthetic = 400
	cfg.MCSamples = 20000
	w, r, err := RunRound(cfg, 7, 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.Synthetic) / cfg.Dim; n != 300 {
		t.Fatalf("kept %d of 400 synthetic points, want 300", n)
	}
	if n := len(w.Rejected) / cfg.Dim; n != 100 {
		t.Fatalf("rejected %d points, want 100", n)
	}
	lg := w.G.LogProbs(w.Synthetic, nil)
	for _, v := range lg {
		if v <= w.LogGThreshold {
			t.Fatal("a kept point is below the threshold")
		}
	}
	// The rejected mass of M estimates the batch quantile (binomial noise of
	// the 400-point batch dominates: sd ≈ √(.25·.75/400) ≈ 0.022).
	if math.Abs(r.TVMGen.Value-0.25) > 0.1 {
		t.Errorf("TV(M, D_gen) = %.3f, want ≈ 0.25", r.TVMGen.Value)
	}
	if math.IsNaN(r.HGen.Value) {
		t.Error("H(S_gen) undefined under curation")
	}
}

func TestReferenceCovarianceRecipe(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, d := range []int{2, 3} {
			r := rng(seed)
			c := randomCov(r, d, CovReference, 0)
			// Re-draw A and B from the same stream to rebuild A·Bᵀ.
			r2 := rng(seed)
			a := make([]float64, d*d)
			b := make([]float64, d*d)
			for i := range a {
				a[i] = r2.Float64()
			}
			for i := range b {
				b[i] = r2.Float64()
			}
			var raw mat.Dense
			raw.Mul(mat.NewDense(d, d, a), mat.NewDense(d, d, b).T())
			var svd mat.SVD
			svd.Factorize(&raw, mat.SVDNone)
			sv := svd.Values(nil)
			var eig mat.EigenSym
			sym := mat.NewSymDense(d, c)
			for i := range d {
				for j := range d {
					if math.Abs(c[i*d+j]-c[j*d+i]) > 1e-12 {
						t.Fatal("reference covariance not symmetric")
					}
				}
			}
			eig.Factorize(sym, false)
			ev := eig.Values(nil)
			// Eigenvalues of V·diag(s)·Vᵀ are the singular values of A·Bᵀ.
			for i := range d {
				if math.Abs(ev[i]-sv[d-1-i]) > 1e-9 {
					t.Fatalf("seed %d d %d: eigenvalues %v, singular values %v", seed, d, ev, sv)
				}
			}
		}
	}
	spd := randomCov(rng(1), 3, CovSPD, 1e-3)
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(3, spd)) {
		t.Fatal("spd recipe is not positive definite")
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"K<1", func(o *Options) { o.Config.K = 0 }, "K must be at least 1"},
		{"J<0", func(o *Options) { o.Config.J = -1 }, "J must be at least 0"},
		{"L<0", func(o *Options) { o.Config.L = -2 }, "L must be at least 0"},
		{"dim<1", func(o *Options) { o.Config.Dim = 0 }, "dim must be at least 1"},
		{"rounds<1", func(o *Options) { o.Rounds = 0 }, "rounds must be at least 1"},
		{"unknown estimator", func(o *Options) { o.Config.Estimators = []Estimator{"kde"} }, `unknown estimator "kde"`},
		{"direction", func(o *Options) { o.Config.Direction = "both" }, "unknown direction"},
		{"hist in 5-D", func(o *Options) { o.Config.Estimators = []Estimator{Hist}; o.Config.Dim = 5 }, "needs dim ≤ 3"},
		{"range", func(o *Options) { o.From, o.To = 5, 3 }, "range 5..3 is empty"},
		{"sweep K from 0", func(o *Options) { o.Sweeps = []Var{VarK}; o.From = 0 }, "sweep K = 0: K must be at least 1"},
		{"too many components", func(o *Options) { o.Config.Synthetic = 3 }, "π_gen cannot have 6 components"},
		{"curation", func(o *Options) { o.Config.CurateQuantile = 1 }, "curate-quantile must be in [0, 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Config: DefaultConfig(), From: 2, To: 3, Rounds: 1}
			c.mod(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if _, err := Run(context.Background(), o); err == nil {
				t.Fatal("Run accepted invalid options")
			}
		})
	}
	if _, err := ParseEstimators("mc, hist,mc"); err != nil {
		t.Fatal(err)
	}
	if e, _ := ParseEstimators("all"); len(e) != 3 {
		t.Fatal("all is not every estimator")
	}
	if _, err := ParseSweep("M"); err == nil {
		t.Fatal("sweep M accepted")
	}
}

func csvOf(t *testing.T, res *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteRoundsCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Results depend on the seed only: not on the number of workers, and a
// single sweep reproduces its part of a run of all sweeps.
func TestDeterministicAcrossWorkers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Estimators = []Estimator{MC, Hist, HistShared}
	cfg.MCSamples, cfg.HistRounds, cfg.HistSamples = 300, 3, 300
	base := Options{Config: cfg, Sweeps: []Var{VarK, VarJ, VarL}, From: 2, To: 4, Rounds: 3, Seed: 11}
	var ref string
	for _, w := range []int{1, 2, 5} {
		o := base
		o.Workers = w
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rounds) != 27 {
			t.Fatalf("%d rounds, want 27", len(res.Rounds))
		}
		got := csvOf(t, res)
		if ref == "" {
			ref = got
		} else if got != ref {
			t.Fatalf("workers=%d changed the results", w)
		}
	}
	o := base
	o.Sweeps = []Var{VarJ}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOf(t, res)), "\n")
	all := strings.Split(strings.TrimSpace(ref), "\n")
	for i, l := range lines[1:] {
		if all[1+9+i] != l {
			t.Fatalf("sweep J alone differs from its part of sweep all at row %d", i)
		}
	}
	o.Seed = 12
	res2, _ := Run(context.Background(), o)
	if csvOf(t, res2) == csvOf(t, res) {
		t.Fatal("a different seed gave identical results")
	}
}

func TestSummarizeByHand(t *testing.T) {
	s := Summarize([]float64{1, 2, 3, 4, math.NaN()})
	// mean 2.5, sd √(5/3), t(0.975, 3) = 3.182446305284263.
	sd := math.Sqrt(5.0 / 3)
	h := 3.182446305284263 * sd / 2
	if s.N != 4 || s.Missing != 1 || math.Abs(s.Mean-2.5) > 1e-15 || math.Abs(s.Std-sd) > 1e-14 ||
		math.Abs(s.CI95[0]-(2.5-h)) > 1e-9 || math.Abs(s.CI95[1]-(2.5+h)) > 1e-9 {
		t.Fatalf("summary %+v", s)
	}
	if one := Summarize([]float64{7}); one.Mean != 7 || !math.IsNaN(one.Std) {
		t.Fatalf("one value: %+v", one)
	}
}

func TestRanksAndTrend(t *testing.T) {
	r := Ranks([]float64{10, 20, 20, 5})
	want := []float64{2, 3.5, 3.5, 1}
	for i := range r {
		if r[i] != want[i] {
			t.Fatalf("ranks = %v, want %v", r, want)
		}
	}
	var xs, ys []float64
	for v := 2; v <= 6; v++ {
		for rep := range 4 {
			xs = append(xs, float64(v))
			ys = append(ys, 3-0.5*float64(v)+0.01*float64(rep))
		}
	}
	tr := fitTrend(xs, ys)
	if math.Abs(tr.Slope+0.5) > 1e-12 || tr.SlopeCI[1] >= 0 || tr.Spearman > -0.9 {
		t.Fatalf("trend %+v", tr)
	}
	tr.Paper = -1
	if verdict(tr) != "holds" {
		t.Fatalf("verdict %q", verdict(tr))
	}
	tr.Paper = 1
	if verdict(tr) != "reversed" {
		t.Fatalf("verdict %q", verdict(tr))
	}
	flat := fitTrend([]float64{1, 1, 2, 2, 3, 3}, []float64{0, 1, 1, 0, 0, 1})
	flat.Paper = 1
	if verdict(flat) != "inconclusive" {
		t.Fatalf("flat verdict %q (%+v)", verdict(flat), flat)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Config: DefaultConfig(), Sweeps: []Var{VarK}, From: 2, To: 15, Rounds: 50})
	if err == nil {
		t.Fatal("a cancelled run returned no error")
	}
}

// The flag parsers never panic and accept exactly the documented names.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"mc", "hist,hist-shared", "all", "mc, hist", "", ",", "kde", "K", "model-gt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if es, err := ParseEstimators(s); err == nil {
			if len(es) == 0 {
				t.Fatalf("%q parsed to no estimator", s)
			}
			for _, e := range es {
				if e != MC && e != Hist && e != HistShared {
					t.Fatalf("%q gave unknown estimator %q", s, e)
				}
			}
		}
		if d, err := ParseDirection(s); err == nil && d != ModelGT && d != GTModel {
			t.Fatalf("%q gave direction %q", s, d)
		}
		if v, err := ParseSweep(s); err == nil && len(v) == 0 {
			t.Fatalf("%q gave no sweep", s)
		}
	})
}
