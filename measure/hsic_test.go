package measure

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// naiveHSIC computes tr(KHLH)/(m−1)² with explicit matrices.
func naiveHSIC(k, l []float64, m int) float64 {
	K := mat.NewDense(m, m, append([]float64(nil), k...))
	L := mat.NewDense(m, m, append([]float64(nil), l...))
	H := mat.NewDense(m, m, nil)
	for i := range m {
		for j := range m {
			v := -1 / float64(m)
			if i == j {
				v += 1
			}
			H.Set(i, j, v)
		}
	}
	var a, b, c, d mat.Dense
	a.Mul(K, H)
	b.Mul(&a, L)
	c.Mul(&b, H)
	d.CloneFrom(&c)
	return mat.Trace(&d) / float64((m-1)*(m-1))
}

func TestHSICHandComputed(t *testing.T) {
	// Linear kernels: tr(KHLH) = (Σ(x−x̄)(y−ȳ))². x = 0,1,2; y = 0,1,4:
	// centred −1,0,1 and −5/3,−2/3,7/3, cross sum 4, squared 16, over (m−1)² = 4.
	x := [][]float64{{0}, {1}, {2}}
	y := [][]float64{{0}, {1}, {4}}
	r, err := HSIC(x, y, HSICOptions{KernelX: Kernel{Kind: "linear"}, KernelY: Kernel{Kind: "linear"}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "linear HSIC", r.Value, 4, 1e-12)

	// Gaussian kernel with σ² = 1 on 4 points against the explicit trace formula.
	x = [][]float64{{0, 0}, {1, 0}, {0, 2}, {3, 1}}
	y = [][]float64{{1}, {0}, {2}, {-1}}
	cases := []struct {
		name string
		kx   Kernel
	}{{"gaussian", Kernel{Sigma2: 1}}, {"linear", Kernel{Kind: "linear"}}}
	for _, tc := range cases {
		k, _, _ := Gram(x, tc.kx, 0)
		l, _, _ := Gram(y, Kernel{Sigma2: 1}, 0)
		// Spot-check one Gram entry by hand.
		if tc.kx.Kind == "" {
			near(t, "k(x1,x2)", k[1], math.Exp(-0.5), 1e-15)
		}
		r, err := HSIC(x, y, HSICOptions{KernelX: tc.kx, KernelY: Kernel{Sigma2: 1}})
		if err != nil {
			t.Fatal(err)
		}
		near(t, tc.name+" HSIC vs trace formula", r.Value, naiveHSIC(k, l, 4), 1e-12)
	}
}

func TestHSICUnbiasedFormula(t *testing.T) {
	// Against the formula of NOTES §3 written with explicit matrices.
	rng := rand.New(rand.NewPCG(3, 3))
	x, y := gauss(rng, 7, 2, 0, 1), gauss(rng, 7, 1, 0, 1)
	k, _, _ := Gram(x, Kernel{Sigma2: 1}, 0)
	l, _, _ := Gram(y, Kernel{Sigma2: 1}, 0)
	m := 7
	Kt := mat.NewDense(m, m, append([]float64(nil), k...))
	Lt := mat.NewDense(m, m, append([]float64(nil), l...))
	for i := range m {
		Kt.Set(i, i, 0)
		Lt.Set(i, i, 0)
	}
	one := mat.NewVecDense(m, nil)
	for i := range m {
		one.SetVec(i, 1)
	}
	var KL mat.Dense
	KL.Mul(Kt, Lt)
	sumK := mat.Inner(one, Kt, one)
	sumL := mat.Inner(one, Lt, one)
	fm := float64(m)
	want := (mat.Trace(&KL) + sumK*sumL/((fm-1)*(fm-2)) - 2*mat.Inner(one, &KL, one)/(fm-2)) / (fm * (fm - 3))
	near(t, "HSIC_u", HSICUnbiased(k, l, m), want, 1e-12)
}

func TestHSICIndependenceAndDependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	// Under independence the permutation p-values are roughly uniform.
	var ps []float64
	for trial := range 40 {
		x, y := gauss(rng, 40, 2, 0, 1), gauss(rng, 40, 2, 0, 1)
		r, err := HSIC(x, y, HSICOptions{Permutations: 99, Seed: uint64(trial)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Value < 0 || r.Value > 0.05 {
			t.Errorf("independent HSIC_b = %g, want small", r.Value)
		}
		ps = append(ps, r.Settings["p_value"].(float64))
	}
	m, _ := meanSD(ps)
	small := 0
	for _, p := range ps {
		if p <= 0.05 {
			small++
		}
	}
	if m < 0.35 || m > 0.65 || small > 6 {
		t.Errorf("null p-values: mean %.3f, %d of 40 ≤ 0.05; want ≈ 0.5 and ≈ 2", m, small)
	}
	// A dependent pair (y = x² + noise, uncorrelated but dependent).
	x := gauss(rng, 100, 1, 0, 1)
	y := make([][]float64, len(x))
	for i := range x {
		y[i] = []float64{x[i][0]*x[i][0] + 0.1*rng.NormFloat64()}
	}
	for _, unb := range []bool{false, true} {
		r, err := HSIC(x, y, HSICOptions{Permutations: 199, Seed: 1, Unbiased: unb})
		if err != nil {
			t.Fatal(err)
		}
		if p := r.Settings["p_value"].(float64); p > 0.01 {
			t.Errorf("dependent pair (unbiased %v): p = %g", unb, p)
		}
	}
	r, _ := HSIC(x, x, HSICOptions{Normalized: true})
	near(t, "normalised HSIC(X,X)", r.Value, 1, 1e-12)
}

func TestHSICUnbiasedMeanZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const trials = 300
	var v []float64
	for range trials {
		x, y := gauss(rng, 20, 1, 0, 1), gauss(rng, 20, 1, 0, 1)
		r, err := HSIC(x, y, HSICOptions{Unbiased: true, KernelX: Kernel{Sigma2: 1}, KernelY: Kernel{Sigma2: 1}})
		if err != nil {
			t.Fatal(err)
		}
		v = append(v, r.Value)
	}
	m, sd := meanSD(v)
	if se := sd / math.Sqrt(trials); math.Abs(m) > 3.5*se {
		t.Errorf("mean HSIC_u under independence %g (se %g), want 0", m, se)
	}
	// The biased estimator is positive on average (its bias is O(1/m)).
	var b []float64
	for range 100 {
		x, y := gauss(rng, 20, 1, 0, 1), gauss(rng, 20, 1, 0, 1)
		r, _ := HSIC(x, y, HSICOptions{KernelX: Kernel{Sigma2: 1}, KernelY: Kernel{Sigma2: 1}})
		b = append(b, r.Value)
	}
	if mb, _ := meanSD(b); mb <= 0 {
		t.Errorf("mean HSIC_b %g, want positive bias", mb)
	}
}

func TestHSICRFF(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x, y := corrPair(rng, 300, 0.8)
	exact, err := HSIC(x, y, HSICOptions{KernelX: Kernel{Sigma2: 1}, KernelY: Kernel{Sigma2: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d   int
		tol float64
	}{{500, 0.15}, {3000, 0.05}} {
		r, err := HSICRFF(x, y, RFFOptions{Features: tc.d, SigmaX2: 1, SigmaY2: 1, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "RFF/exact", r.Value/exact.Value, 1, tc.tol)
	}
}

func TestHSICBadInput(t *testing.T) {
	nan := [][]float64{{1}, {math.NaN()}, {2}, {3}}
	ok := [][]float64{{1}, {2}, {3}, {4}}
	cases := []struct {
		name string
		x, y [][]float64
		opt  HSICOptions
	}{
		{"empty", nil, nil, HSICOptions{}},
		{"unpaired", ok, ok[:3], HSICOptions{}},
		{"nan", nan, ok, HSICOptions{}},
		{"unbiased m<4", ok[:3], ok[:3], HSICOptions{Unbiased: true}},
		{"kernel", ok, ok, HSICOptions{KernelX: Kernel{Kind: "poly"}}},
		{"ragged", [][]float64{{1}, {1, 2}}, ok[:2], HSICOptions{}},
	}
	for _, tc := range cases {
		if _, err := HSIC(tc.x, tc.y, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := HSICRFF(nil, nil, RFFOptions{}); err == nil {
		t.Error("RFF: empty accepted")
	}
}

func BenchmarkHSICExact2000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := gauss(rng, 2000, 100, 0, 1), gauss(rng, 2000, 100, 0, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := HSIC(x, y, HSICOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHSICRFF100k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := gauss(rng, 100000, 100, 0, 1), gauss(rng, 100000, 100, 0, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := HSICRFF(x, y, RFFOptions{Features: 100, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
