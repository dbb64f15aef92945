package gmm

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func mustNew(t testing.TB, w []float64, mu, cov [][]float64) *Mixture {
	t.Helper()
	m, err := New(w, mu, cov)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Hand-computed closed forms.
func TestGaussianClosedFormsByHand(t *testing.T) {
	cases := []struct {
		name      string
		mu0, cov0 []float64
		mu1, cov1 []float64
		wantKL    float64
		wantH0    float64
	}{
		// KL(N(0,1)‖N(1,2)) = ½(1/2 + 1/2 − 1 + ln 2) = ½ ln 2.
		{"1d", []float64{0}, []float64{1}, []float64{1}, []float64{2}, 0.5 * math.Ln2, 0.5 * math.Log(2*math.Pi*math.E)},
		// Identical Gaussians: KL 0; H = ½ log((2πe)² · 4).
		{"2d-same", []float64{1, 2}, []float64{2, 0, 0, 2}, []float64{1, 2}, []float64{2, 0, 0, 2}, 0, 0.5 * math.Log(math.Pow(2*math.Pi*math.E, 2)*4)},
		// Isotropic shift: KL = ‖Δμ‖²/(2σ²) = 25/2.
		{"2d-shift", []float64{0, 0}, []float64{1, 0, 0, 1}, []float64{3, 4}, []float64{1, 0, 0, 1}, 12.5, math.Log(2 * math.Pi * math.E)},
		// Scale only, d=3: ½(3/4 − 3 + 3 ln 4).
		{"3d-scale", []float64{0, 0, 0}, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, []float64{0, 0, 0}, []float64{4, 0, 0, 0, 4, 0, 0, 0, 4}, 0.5 * (0.75 - 3 + 3*math.Log(4)), 1.5 * math.Log(2*math.Pi*math.E)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kl, err := GaussianKL(c.mu0, c.cov0, c.mu1, c.cov1)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(kl-c.wantKL) > 1e-12 {
				t.Errorf("KL = %.15g, want %.15g", kl, c.wantKL)
			}
			h, err := GaussianEntropy(c.cov0, len(c.mu0))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(h-c.wantH0) > 1e-12 {
				t.Errorf("H = %.15g, want %.15g", h, c.wantH0)
			}
		})
	}
}

func TestLogProbByHand(t *testing.T) {
	// 0.3·N(x; −1, 0.5) + 0.7·N(x; 2, 2) at x = 0.4.
	m := mustNew(t, []float64{0.3, 0.7}, [][]float64{{-1}, {2}}, [][]float64{{0.5}, {2}})
	pdf := func(x, mu, v float64) float64 { return math.Exp(-(x-mu)*(x-mu)/(2*v)) / math.Sqrt(2*math.Pi*v) }
	want := math.Log(0.3*pdf(0.4, -1, 0.5) + 0.7*pdf(0.4, 2, 2))
	if got := m.LogProb([]float64{0.4}); math.Abs(got-want) > 1e-13 {
		t.Errorf("LogProb = %.15g, want %.15g", got, want)
	}
	// 2-D correlated Gaussian: log N = −log 2π − ½ log det Σ − ½ xᵀΣ⁻¹x.
	cov := []float64{2, 0.6, 0.6, 1}
	g := mustNew(t, []float64{1}, [][]float64{{0, 0}}, [][]float64{cov})
	x := []float64{0.5, -1.2}
	det := 2*1 - 0.6*0.6
	inv := []float64{1 / det, -0.6 / det, -0.6 / det, 2 / det}
	q := x[0]*(inv[0]*x[0]+inv[1]*x[1]) + x[1]*(inv[2]*x[0]+inv[3]*x[1])
	want = -math.Log(2*math.Pi) - 0.5*math.Log(det) - 0.5*q
	if got := g.LogProb(x); math.Abs(got-want) > 1e-13 {
		t.Errorf("2-D LogProb = %.15g, want %.15g", got, want)
	}
	// The generic d > 2 path must agree with a block-diagonal product.
	g3 := mustNew(t, []float64{1}, [][]float64{{0, 0, 1}}, [][]float64{{2, 0.6, 0, 0.6, 1, 0, 0, 0, 3}})
	want3 := want + (-0.5*math.Log(2*math.Pi*3) - 0.5*(2.0-1)*(2.0-1)/3)
	if got := g3.LogProb([]float64{0.5, -1.2, 2}); math.Abs(got-want3) > 1e-13 {
		t.Errorf("3-D LogProb = %.15g, want %.15g", got, want3)
	}
}

// The Monte-Carlo estimators agree with closed forms within 4 standard errors.
func TestMonteCarloAgainstClosedForms(t *testing.T) {
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	cases := []struct {
		name               string
		mu0, cov0, mu1, c1 []float64
	}{
		{"1d", []float64{0}, []float64{1}, []float64{1}, []float64{2}},
		{"2d-corr", []float64{0, 1}, []float64{2, 0.8, 0.8, 1}, []float64{1, -1}, []float64{1, -0.3, -0.3, 3}},
		{"5d", []float64{0, 0, 0, 0, 0}, diag(1, 2, 0.5, 1, 1), []float64{0.5, 0, -0.5, 1, 0}, diag(2, 1, 1, 0.7, 1.5)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, []float64{1}, [][]float64{c.mu0}, [][]float64{c.cov0})
			q := mustNew(t, []float64{1}, [][]float64{c.mu1}, [][]float64{c.c1})
			rng := rngFor(uint64(100 + i))
			kl := KL(rng, p, q, 20000)
			want, _ := GaussianKL(c.mu0, c.cov0, c.mu1, c.c1)
			if math.Abs(kl.Value-want) > 4*kl.SE {
				t.Errorf("MC KL %.4f ± %.4f, closed form %.4f", kl.Value, kl.SE, want)
			}
			h := Entropy(rng, p, 20000)
			wantH, _ := GaussianEntropy(c.cov0, len(c.mu0))
			if math.Abs(h.Value-wantH) > 4*h.SE {
				t.Errorf("MC entropy %.4f ± %.4f, closed form %.4f", h.Value, h.SE, wantH)
			}
			if kl.N != 20000 || !(kl.SE > 0) {
				t.Errorf("estimate N=%d SE=%v", kl.N, kl.SE)
			}
		})
	}
	// TV between N(0,1) and N(δ,1) is 2Φ(δ/2) − 1.
	for _, delta := range []float64{0.3, 1, 2.5} {
		p := mustNew(t, []float64{1}, [][]float64{{0}}, [][]float64{{1}})
		q := mustNew(t, []float64{1}, [][]float64{{delta}}, [][]float64{{1}})
		tv := TV(rngFor(3), p, q, 20000)
		want := 2*phi(delta/2) - 1
		if math.Abs(tv.Value-want) > 4*tv.SE {
			t.Errorf("TV(δ=%v) = %.4f ± %.4f, want %.4f", delta, tv.Value, tv.SE, want)
		}
	}
	// KL of a distribution with itself is exactly zero, TV too.
	p := mustNew(t, []float64{0.5, 0.5}, [][]float64{{0, 0}, {3, 3}}, [][]float64{diag(1, 1), diag(2, 0.5)})
	if kl := KL(rngFor(1), p, p, 1000); kl.Value != 0 {
		t.Errorf("KL(P‖P) = %v", kl.Value)
	}
	if tv := TV(rngFor(1), p, p, 1000); tv.Value != 0 {
		t.Errorf("TV(P,P) = %v", tv.Value)
	}
}

func diag(v ...float64) []float64 {
	d := len(v)
	m := make([]float64, d*d)
	for i, x := range v {
		m[i*d+i] = x
	}
	return m
}

func TestSampleMoments(t *testing.T) {
	m := mustNew(t, []float64{1, 3}, [][]float64{{0, 0}, {4, -2}}, [][]float64{{1, 0.5, 0.5, 2}, {0.5, 0, 0, 0.5}})
	x, labels := m.Sample(rngFor(9), 40000)
	var n1 int
	var mean [2]float64
	for i, l := range labels {
		if l == 1 {
			n1++
		}
		mean[0] += x[2*i] / 40000
		mean[1] += x[2*i+1] / 40000
	}
	// weights are normalised to 0.25/0.75; mixture mean = 0.75·(4,−2).
	if f := float64(n1) / 40000; math.Abs(f-0.75) > 4*math.Sqrt(0.75*0.25/40000) {
		t.Errorf("fraction of component 1 = %v, want 0.75", f)
	}
	if math.Abs(mean[0]-3) > 0.05 || math.Abs(mean[1]+1.5) > 0.05 {
		t.Errorf("sample mean %v, want (3, −1.5)", mean)
	}
}

func TestNewRejectsBadParameters(t *testing.T) {
	cases := []struct {
		name string
		w    []float64
		mu   [][]float64
		cov  [][]float64
		want string
	}{
		{"empty", nil, nil, nil, "at least one component"},
		{"counts", []float64{1, 1}, [][]float64{{0}}, [][]float64{{1}}, "2 weights, 1 means"},
		{"negative weight", []float64{-1}, [][]float64{{0}}, [][]float64{{1}}, "weight"},
		{"nan weight", []float64{math.NaN()}, [][]float64{{0}}, [][]float64{{1}}, "weight"},
		{"indefinite", []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 2, 2, 1}}, "positive definite"},
		{"mean length", []float64{1, 1}, [][]float64{{0, 0}, {0}}, [][]float64{{1, 0, 0, 1}, {1}}, "mean has length"},
		{"cov size", []float64{1}, [][]float64{{0, 0}}, [][]float64{{1, 0, 0}}, "covariance has 3 entries"},
		{"nan mean", []float64{1}, [][]float64{{math.NaN()}}, [][]float64{{1}}, "not finite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.w, c.mu, c.cov)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// wellSeparated draws n points from a known mixture with distinct means.
func wellSeparated(t testing.TB, seed uint64, n, d, k int) (*Mixture, []float64) {
	t.Helper()
	rng := rngFor(seed)
	w := make([]float64, k)
	mu := make([][]float64, k)
	cov := make([][]float64, k)
	for j := range k {
		w[j] = 1 + float64(j%3)
		mu[j] = make([]float64, d)
		for a := range d {
			mu[j][a] = 12 * rng.Float64() * float64(1+j)
		}
		mu[j][j%d] += 25 * float64(j)
		a := make([]float64, d*d)
		for q := range a {
			a[q] = 0.6 * rng.Float64()
		}
		c := make([]float64, d*d)
		for r := range d {
			for s := range d {
				for q := range d {
					c[r*d+s] += a[r*d+q] * a[s*d+q]
				}
			}
			c[r*d+r] += 0.1
		}
		cov[j] = c
	}
	m := mustNew(t, w, mu, cov)
	x, _ := m.Sample(rng, n)
	return m, x
}

func TestEMRecoversWellSeparated(t *testing.T) {
	cases := []struct {
		name    string
		n, d, k int
		cov     CovarianceType
		init    InitMethod
	}{
		{"2d-k3-full", 3000, 2, 3, Full, InitKMeans},
		{"5d-k4-full", 6000, 5, 4, Full, InitKMeans},
		{"2d-k3-kpp", 3000, 2, 3, Full, InitKMeansPP},
		{"3d-k2-diag", 3000, 3, 2, Diag, InitKMeans},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			truth, x := wellSeparated(t, uint64(10+i), c.n, c.d, c.k)
			f, err := FitEM(x, c.d, FitOptions{Components: c.k, Covariance: c.cov, Init: c.init, Seed: 5, Tol: 1e-6, MaxIter: 500})
			if err != nil {
				t.Fatal(err)
			}
			if !f.Converged {
				t.Errorf("did not converge in %d iterations", f.Iterations)
			}
			for it := 1; it < len(f.History); it++ {
				if f.History[it] < f.History[it-1]-1e-9 {
					t.Errorf("log-likelihood decreased at iteration %d: %v → %v", it, f.History[it-1], f.History[it])
				}
			}
			// Match components by nearest mean and compare.
			for j := range c.k {
				tm := truth.Mean(j)
				best, bd := -1, math.Inf(1)
				for q := range c.k {
					if v := sqDist(tm, f.Model.Mean(q)); v < bd {
						best, bd = q, v
					}
				}
				if math.Sqrt(bd) > 0.25 {
					t.Errorf("component %d: nearest fitted mean %.3f away", j, math.Sqrt(bd))
				}
				if dw := math.Abs(truth.Weight(j) - f.Model.Weight(best)); dw > 0.03 {
					t.Errorf("component %d: weight %.3f vs %.3f", j, f.Model.Weight(best), truth.Weight(j))
				}
				if c.cov == Diag {
					cv := f.Model.Cov(best)
					for r := range c.d {
						for s := range c.d {
							if r != s && cv[r*c.d+s] != 0 {
								t.Fatalf("diag fit has off-diagonal %v", cv[r*c.d+s])
							}
						}
					}
				}
			}
			// The fitted model explains the data at least as well as the truth
			// minus sampling noise (full covariance only: diag is misspecified).
			if c.cov == Full {
				var lt float64
				for _, v := range truth.LogProbs(x, nil) {
					lt += v
				}
				lt /= float64(c.n)
				if ll := f.Model.MeanLogProb(x); ll < lt-0.01 || ll < f.LowerBound-1e-9 {
					t.Errorf("fitted log-likelihood %.4f below the truth's %.4f or the lower bound %.4f", ll, lt, f.LowerBound)
				}
			}
		})
	}
}

func TestEMDegenerateData(t *testing.T) {
	dup := make([]float64, 2*50)
	for i := range 50 {
		dup[2*i], dup[2*i+1] = 1.5, -2
	}
	twoPoints := make([]float64, 2*40)
	for i := range 40 {
		twoPoints[2*i] = float64(i % 2 * 10)
		twoPoints[2*i+1] = float64(i % 2 * 10)
	}
	few := []float64{ // n=3 < d=5
		0, 1, 2, 3, 4,
		1, 0, 1, 0, 1,
		5, 5, 5, 5, 5,
	}
	cases := []struct {
		name string
		x    []float64
		d, k int
		init InitMethod
		err  string
	}{
		{"all duplicates", dup, 2, 3, InitKMeans, ""},
		{"two distinct points, five components", twoPoints, 2, 5, InitKMeans, ""},
		{"two distinct points random init", twoPoints, 2, 5, InitRandom, ""},
		{"n < d", few, 5, 2, InitKMeans, ""},
		{"n < K", few, 5, 4, InitKMeans, "3 points cannot fit 4 components"},
		{"nan", []float64{0, math.NaN(), 1, 1}, 2, 1, InitKMeans, "not finite"},
		{"ragged", []float64{0, 1, 2}, 2, 1, InitKMeans, "whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := FitEM(c.x, c.d, FitOptions{Components: c.k, Init: c.init, Seed: 1})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(f.LowerBound) || math.IsInf(f.LowerBound, 0) {
				t.Fatalf("log-likelihood %v", f.LowerBound)
			}
			for j := range f.Model.K() {
				for _, v := range append(f.Model.Mean(j), f.Model.Cov(j)...) {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("component %d has non-finite parameter", j)
					}
				}
				if w := f.Model.Weight(j); math.IsNaN(w) || w < 0 {
					t.Fatalf("weight %v", w)
				}
			}
			for _, v := range f.Model.LogProbs(c.x, nil) {
				if math.IsNaN(v) {
					t.Fatal("NaN log-density")
				}
			}
		})
	}
}

func TestEMOptionsValidation(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	for _, o := range []FitOptions{
		{Components: 0},
		{Components: 1, Tol: -1},
		{Components: 1, MaxIter: -3},
		{Components: 1, RegCovar: -1},
		{Components: 1, NInit: -1},
		{Components: 1, Covariance: 7},
	} {
		if _, err := FitEM(x, 1, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestEMDeterministicAcrossWorkers(t *testing.T) {
	_, x := wellSeparated(t, 77, 9000, 4, 5)
	var ref *Fit
	for _, w := range []int{1, 2, 3, 8} {
		f, err := FitEM(x, 4, FitOptions{Components: 5, Seed: 42, NInit: 2, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = f
			continue
		}
		if f.LowerBound != ref.LowerBound || f.Iterations != ref.Iterations {
			t.Fatalf("workers=%d: ll %v iters %d, want %v %d", w, f.LowerBound, f.Iterations, ref.LowerBound, ref.Iterations)
		}
		for j := range 5 {
			a, b := f.Model.Cov(j), ref.Model.Cov(j)
			for q := range a {
				if a[q] != b[q] {
					t.Fatalf("workers=%d: covariance differs", w)
				}
			}
		}
	}
	// Different seeds may differ, the same seed never does.
	again, _ := FitEM(x, 4, FitOptions{Components: 5, Seed: 42, NInit: 2, Workers: 1})
	if again.LowerBound != ref.LowerBound {
		t.Fatal("same seed gave a different fit")
	}
}

func TestKMeansPPSpreadsCentres(t *testing.T) {
	// Four tight, far-apart clusters: k-means++ with k=4 picks one per cluster
	// in almost every draw, and Lloyd then recovers the partition exactly.
	var x []float64
	centres := [][2]float64{{0, 0}, {100, 0}, {0, 100}, {100, 100}}
	rng := rngFor(4)
	for _, c := range centres {
		for range 25 {
			x = append(x, c[0]+rng.NormFloat64(), c[1]+rng.NormFloat64())
		}
	}
	labels := kmeans(rngFor(11), x, 100, 2, 4, nil, nil)
	seen := map[int]bool{}
	for c := range 4 {
		l := labels[c*25]
		for i := c * 25; i < (c+1)*25; i++ {
			if labels[i] != l {
				t.Fatalf("cluster %d split", c)
			}
		}
		seen[l] = true
	}
	if len(seen) != 4 {
		t.Fatalf("labels %v", seen)
	}
}

func TestSubAndComponent(t *testing.T) {
	m := mustNew(t, []float64{1, 1, 2}, [][]float64{{0}, {5}, {9}}, [][]float64{{1}, {2}, {3}})
	s, err := m.Sub(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.K() != 2 || math.Abs(s.Weight(0)-1.0/3) > 1e-15 || s.Mean(1)[0] != 9 {
		t.Fatalf("sub = K %d w %v", s.K(), s.Weight(0))
	}
	if _, err := m.Sub(2, 2); err == nil {
		t.Fatal("empty range accepted")
	}
	c := m.Component(2)
	if c.K() != 1 || c.Cov(0)[0] != 3 {
		t.Fatal("component copy wrong")
	}
	ws := []float64{}
	for j := range m.K() {
		ws = append(ws, m.Weight(j))
	}
	if !sort.Float64sAreSorted(ws) || math.Abs(ws[2]-0.5) > 1e-15 {
		t.Fatalf("weights %v", ws)
	}
}

// The blocked log-likelihood sum equals the plain sum of logs.
func TestLLSum(t *testing.T) {
	r := rngFor(8)
	a := newLLSum()
	var want float64
	for i := range 5000 {
		mx := r.NormFloat64() * 100
		tt := 1 + 9*r.Float64()
		if i%7 == 0 {
			tt = 1
		}
		a.add(mx, tt)
		want += mx + math.Log(tt)
	}
	if got := a.value(); math.Abs(got-want) > 1e-9*math.Abs(want) {
		t.Fatalf("llSum %v, want %v", got, want)
	}
}
