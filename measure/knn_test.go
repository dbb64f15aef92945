package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKSGBivariateGaussian(t *testing.T) {
	cases := []struct {
		rho float64
		n   int
		tol float64
	}{{0, 1500, 0.03}, {0.5, 1500, 0.03}, {0.8, 1500, 0.04}, {0.95, 1500, 0.06}}
	for i, tc := range cases {
		rng := rand.New(rand.NewPCG(uint64(i+1), 42))
		x, y := corrPair(rng, tc.n, tc.rho)
		r, err := KSG(x, y, KSGOptions{})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "KSG I", r.Value, -0.5*math.Log(1-tc.rho*tc.rho), tc.tol)
	}
}

func TestKSGWithPCA(t *testing.T) {
	// x = (a, 0.01·noise, 0.01·noise) and y = (b, 0.01·noise): the first principal
	// components carry the correlated pair.
	rng := rand.New(rand.NewPCG(8, 8))
	a, b := corrPair(rng, 1000, 0.7)
	x := make([][]float64, len(a))
	y := make([][]float64, len(a))
	for i := range a {
		x[i] = []float64{a[i][0], 0.01 * rng.NormFloat64(), 0.01 * rng.NormFloat64()}
		y[i] = []float64{0.01 * rng.NormFloat64(), 3 * b[i][0]}
	}
	r, err := KSG(x, y, KSGOptions{PCADim: 1})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := KSG(a, b, KSGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// PCA recovers the pair exactly (up to sign and scale, which KSG ignores after standardising).
	near(t, "KSG on PCA vs on the pair", r.Value, direct.Value, 1e-3) // the 0.01 noise tilts the components slightly
	near(t, "KSG on PCA", r.Value, -0.5*math.Log(1-0.49), 0.1)        // sd ≈ 0.04 at n = 1000
	if _, err := KSG(x[:3], y[:3], KSGOptions{}); err == nil {
		t.Error("n < k+1 accepted")
	}
}

func TestKLEntropyGaussian(t *testing.T) {
	for _, tc := range []struct {
		d   int
		sd  float64
		tol float64
	}{{1, 1, 0.05}, {2, 2, 0.07}, {5, 1, 0.15}} {
		rng := rand.New(rand.NewPCG(uint64(tc.d), 7))
		x := gauss(rng, 2000, tc.d, 3, tc.sd)
		r, err := KLEntropy(x, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := float64(tc.d) / 2 * math.Log(2*math.Pi*math.E*tc.sd*tc.sd)
		near(t, "H", r.Value, want, tc.tol)
		if r.CI95[0] > r.Value || r.CI95[1] < r.Value {
			t.Errorf("CI %v excludes %g", r.CI95, r.Value)
		}
	}
	// Uniform on [0,1]: H = 0.
	rng := rand.New(rand.NewPCG(1, 2))
	u := make([][]float64, 2000)
	for i := range u {
		u[i] = []float64{rng.Float64()}
	}
	r, _ := KLEntropy(u, 3)
	near(t, "H(uniform)", r.Value, 0, 0.03)
	if _, err := KLEntropy([][]float64{{1}, {1}, {1}, {1}}, 3); err == nil {
		t.Error("duplicates accepted")
	}
	if _, err := KLEntropy([][]float64{{1}, {2}}, 3); err == nil {
		t.Error("n < k+1 accepted")
	}
}

func TestKLDivergenceGaussians(t *testing.T) {
	// KL(N(μ1,s1²I)‖N(μ2,s2²I)) = d/2·[s1²/s2² − 1 − log(s1²/s2²)] + ‖μ1−μ2‖²/(2 s2²).
	cases := []struct {
		d              int
		m1, s1, m2, s2 float64
		tol            float64
	}{
		{1, 0, 1, 1, 1, 0.1}, // sd of the estimate ≈ 0.035 at n = 2000
		{2, 0, 1, 0, 1, 0.05},
		{2, 0, 1, 0.5, 2, 0.08},
		{3, 1, 1, 0, 1.5, 0.12},
	}
	for i, tc := range cases {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		x := gauss(rng, 2000, tc.d, tc.m1, tc.s1)
		y := gauss(rng, 2000, tc.d, tc.m2, tc.s2)
		r, err := KLDivergence(x, y, 3)
		if err != nil {
			t.Fatal(err)
		}
		q := tc.s1 * tc.s1 / (tc.s2 * tc.s2)
		fd := float64(tc.d)
		want := fd/2*(q-1-math.Log(q)) + fd*(tc.m1-tc.m2)*(tc.m1-tc.m2)/(2*tc.s2*tc.s2)
		near(t, "KL", r.Value, want, tc.tol)
	}
	if _, err := KLDivergence([][]float64{{1, 2}, {2, 3}, {3, 1}, {0, 0}}, [][]float64{{1}, {2}, {3}}, 3); err == nil {
		t.Error("dimension mismatch accepted")
	}
}

func TestPCA(t *testing.T) {
	x := [][]float64{{1, 1}, {2, 2}, {3, 3}}
	p, err := PCA(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Centred points lie on the diagonal at −√2, 0, √2 (up to sign).
	near(t, "|pc|", math.Abs(p[0][0]), math.Sqrt2, 1e-12)
	near(t, "pc", p[1][0], 0, 1e-12)
}
