package measure

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestMMDHandComputed(t *testing.T) {
	// X = {0, 1}, Y = {2, 3}, σ² = 1, k = exp(−d²/2):
	// XX off-diagonal e^{−1/2}, YY e^{−1/2}, XY distances 2, 3, 1, 2.
	x := [][]float64{{0}, {1}}
	y := [][]float64{{2}, {3}}
	r, err := MMD(x, y, MMDOptions{Sigma2: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := math.Exp
	want := e(-0.5) + e(-0.5) - 2.0/4*(2*e(-2)+e(-4.5)+e(-0.5))
	near(t, "MMD²", r.Value, want, 1e-12)
	// Median heuristic on the pooled {0,1,2,3}: squared distances 1,4,9,1,4,1 ⇒ median 2.5 ⇒ σ² = 1.25.
	r, _ = MMD(x, y, MMDOptions{})
	near(t, "σ²", r.Settings["sigma2"].(float64), 1.25, 1e-12)
}

func TestMMDPermutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cases := []struct {
		name  string
		shift float64
		pMin  float64
		pMax  float64
	}{{"same", 0, 0.05, 1}, {"shifted", 1, 0, 0.01}}
	for _, tc := range cases {
		x, y := gauss(rng, 60, 3, 0, 1), gauss(rng, 60, 3, tc.shift, 1)
		r, err := MMD(x, y, MMDOptions{Permutations: 199, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if p := r.Settings["p_value"].(float64); p < tc.pMin || p > tc.pMax {
			t.Errorf("%s: p = %g, want in [%g, %g]", tc.name, p, tc.pMin, tc.pMax)
		}
	}
	if _, err := MMD([][]float64{{1}}, [][]float64{{1}, {2}}, MMDOptions{}); err == nil {
		t.Error("m < 2 accepted")
	}
}

func TestClassifierTwoSample(t *testing.T) {
	// Two unit-variance Gaussians Δ apart: Bayes accuracy Φ(Δ/2), TV = 2Φ(Δ/2) − 1.
	for i, delta := range []float64{0, 1, 2} {
		rng := rand.New(rand.NewPCG(uint64(i), 6))
		x := gauss(rng, 1500, 2, 0, 1)
		y := gauss(rng, 1500, 2, 0, 1)
		for j := range y {
			y[j][0] += delta
		}
		r, err := ClassifierTwoSample(x, y, C2STOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		bayes := distuv.UnitNormal.CDF(delta / 2)
		near(t, "C2ST accuracy", r.Value, bayes, 0.03)
		if tv := r.Settings["tv_lower_bound"].(float64); tv > 2*bayes-1+0.06 {
			t.Errorf("TV bound %g exceeds TV %g", tv, 2*bayes-1)
		}
		if r.CI95[0] > r.Value || r.CI95[1] < r.Value {
			t.Errorf("CI %v excludes %g", r.CI95, r.Value)
		}
	}
	// Separable: accuracy 1, TV bound 1.
	x := [][]float64{{0}, {0.1}, {0.2}, {0.3}, {0.4}, {0.5}}
	y := [][]float64{{5}, {5.1}, {5.2}, {5.3}, {5.4}, {5.5}}
	r, err := ClassifierTwoSample(x, y, C2STOptions{Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "separable accuracy", r.Value, 1, 0)
	near(t, "separable TV", r.Settings["tv_lower_bound"].(float64), 1, 0)
	if _, err := ClassifierTwoSample(x, y, C2STOptions{Folds: 1}); err == nil {
		t.Error("one fold accepted")
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	if len(names) < 17 {
		t.Fatalf("registry has %v", names)
	}
	e, err := Lookup("vendi")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e(Input{X: [][]float64{{1, 0}, {0, 1}}})
	if err != nil || math.Abs(r.Value-2) > 1e-9 {
		t.Errorf("vendi via registry = %v, %v", r.Value, err)
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("unknown name accepted")
	}
	if err := Register("vendi", func(Input) (Result, error) { return Result{}, nil }); err == nil {
		t.Error("duplicate registration accepted")
	}
	// Every estimator rejects empty input with an error, never a panic.
	for _, n := range names {
		e, _ := Lookup(n)
		if _, err := e(Input{}); err == nil {
			t.Errorf("%s accepted empty input", n)
		}
	}
	// Every estimator rejects NaN embeddings.
	bad := [][]float64{{1, 2}, {math.NaN(), 1}, {3, 4}, {5, 6}, {7, 8}}
	for _, n := range []string{"hsic", "hsic-rff", "ksg-mi", "knn-entropy", "knn-kl", "mmd", "c2st", "kmeans-entropy", "vendi", "semantic-entropy-cosine"} {
		e, _ := Lookup(n)
		if _, err := e(Input{X: bad, Y: bad, Params: map[string]float64{"k": 2}}); err == nil {
			t.Errorf("%s accepted NaN", n)
		}
	}
}
