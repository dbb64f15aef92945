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

// estimatorCalls calls each public estimator on x (and y where it needs two
// samples, t for text estimators), with the defaults the suite declares.
var estimatorCalls = []struct {
	name string
	call func(x, y [][]float64, t []string) (Result, error)
}{
	{"hsic", func(x, y [][]float64, _ []string) (Result, error) { return HSIC(x, y, HSICOptions{}) }},
	{"hsic-rff", func(x, y [][]float64, _ []string) (Result, error) {
		return HSICRFF(x, y, RFFOptions{Features: 100})
	}},
	{"ksg-mi", func(x, y [][]float64, _ []string) (Result, error) { return KSG(x, y, KSGOptions{K: 2}) }},
	{"knn-entropy", func(x, _ [][]float64, _ []string) (Result, error) { return KLEntropy(x, 2) }},
	{"knn-kl", func(x, y [][]float64, _ []string) (Result, error) { return KLDivergence(x, y, 2) }},
	{"mmd", func(x, y [][]float64, _ []string) (Result, error) { return MMD(x, y, MMDOptions{}) }},
	{"c2st", func(x, y [][]float64, _ []string) (Result, error) {
		return ClassifierTwoSample(x, y, C2STOptions{Folds: 5})
	}},
	{"kmeans-entropy", func(x, _ [][]float64, _ []string) (Result, error) { return KMeansEntropy(x, 10, 0) }},
	{"vendi", func(x, _ [][]float64, _ []string) (Result, error) { return Vendi(x) }},
	{"semantic-entropy-cosine", func(x, _ [][]float64, _ []string) (Result, error) {
		return SemanticEntropyCosine(x, 0.9, nil)
	}},
	{"ngram-diversity", func(_, _ [][]float64, t []string) (Result, error) { return NGramDiversity(t, 4, "mean") }},
	{"self-repetition", func(_, _ [][]float64, t []string) (Result, error) { return SelfRepetition(t, 4) }},
	{"compression-ratio", func(_, _ [][]float64, t []string) (Result, error) { return CompressionRatio(t) }},
	{"self-bleu", func(_, _ [][]float64, t []string) (Result, error) { return SelfBLEU(t, 4) }},
	{"homogenization", func(_, _ [][]float64, t []string) (Result, error) { return Homogenization(t) }},
	{"perplexity", func(_, _ [][]float64, t []string) (Result, error) {
		return PerplexityFromMeanLogProbs(nil)
	}},
}

// Every estimator rejects empty input with an error, never a panic, and
// every embedding estimator rejects NaN rows.
func TestEstimatorsRejectBadInput(t *testing.T) {
	for _, c := range estimatorCalls {
		if _, err := c.call(nil, nil, nil); err == nil {
			t.Errorf("%s accepted empty input", c.name)
		}
	}
	bad := [][]float64{{1, 2}, {math.NaN(), 1}, {3, 4}, {5, 6}, {7, 8}}
	for _, c := range estimatorCalls[:10] {
		if _, err := c.call(bad, bad, nil); err == nil {
			t.Errorf("%s accepted NaN", c.name)
		}
	}
	r, err := Vendi([][]float64{{1, 0}, {0, 1}})
	if err != nil || math.Abs(r.Value-2) > 1e-9 {
		t.Errorf("vendi of two orthogonal rows = %v, %v, want 2", r.Value, err)
	}
}

// The suite's table declares each parameter once, with the value used when
// Suite.Params does not set it (KSG reduces to 10 dimensions by default).
func TestSuiteParamDefaults(t *testing.T) {
	cases := []struct {
		metric, param string
		want          float64
	}{
		{"ksg", "pca_dim", 10}, {"ksg", "k", 3}, {"hsic-rff", "features", 100}, {"se", "threshold", 0.9},
		{"kmeans-entropy", "k", 10}, {"c2st", "folds", 5}, {"knn-kl", "k", 3}, {"entropy", "k", 3},
	}
	st := &state{s: &Suite{Params: map[string]map[string]float64{"ksg": {"k": 5}}}}
	for _, c := range cases {
		if got := st.params(c.metric).float(c.param); got != c.want && !(c.metric == "ksg" && c.param == "k") {
			t.Errorf("%s.%s default = %g, want %g", c.metric, c.param, got, c.want)
		}
	}
	if got := st.params("ksg").int("k"); got != 5 {
		t.Errorf("ksg.k set to 5 reads %d", got)
	}
	if got := st.params("ksg").float("nope"); !math.IsNaN(got) {
		t.Errorf("undeclared parameter reads %g, want NaN", got)
	}
}
