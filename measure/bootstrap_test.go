package measure

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantileType7(t *testing.T) {
	x := []float64{1, 2, 3, 4, 10}
	for _, c := range []struct{ p, want float64 }{
		{0, 1}, {1, 10}, {0.5, 3}, {0.25, 2}, {0.9, 7.6}, {0.975, 9.4},
	} {
		near(t, "quantile", Quantile(x, c.p), c.want, 1e-12)
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
}

func meanStat(x []float64) func(idx [][]int) (float64, error) {
	return func(idx [][]int) (float64, error) {
		var s float64
		for _, i := range idx[0] {
			s += x[i]
		}
		return s / float64(len(idx[0])), nil
	}
}

// The percentile bootstrap of a sample mean matches the normal interval
// mean ± 1.96·s/√n, does not depend on the number of workers, and the
// m-out-of-n variant is centred on the estimate with the same width.
func TestBootstrapMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 4000)
	for i := range x {
		x[i] = 5 + 2*rng.NormFloat64()
	}
	m, sd := meanSD(x)
	half := 1.96 * sd / math.Sqrt(float64(len(x)))
	var first [2]float64
	for _, w := range []int{1, 2, 7} {
		b, err := Bootstrap([]int{len(x)}, m, meanStat(x), BootstrapOptions{Resamples: 1000, Seed: 9, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if w == 1 {
			first = b.CI
		} else if b.CI != first {
			t.Fatalf("workers %d: CI %v, with 1 worker %v", w, b.CI, first)
		}
		near(t, "lower", b.CI[0], m-half, 0.15*half)
		near(t, "upper", b.CI[1], m+half, 0.15*half)
		near(t, "se", b.SE, sd/math.Sqrt(float64(len(x))), 0.1*half)
		if b.Method != "percentile" || b.Resamples != 1000 {
			t.Errorf("%+v", b)
		}
	}
	b, err := Bootstrap([]int{len(x)}, m, meanStat(x), BootstrapOptions{Resamples: 1000, Seed: 9, MaxN: 500})
	if err != nil {
		t.Fatal(err)
	}
	if b.Method != "m-out-of-n percentile" || b.M[0] != 500 {
		t.Errorf("%+v", b)
	}
	near(t, "m-out-of-n centre", (b.CI[0]+b.CI[1])/2, m, 0.2*half)
	near(t, "m-out-of-n half-width", (b.CI[1]-b.CI[0])/2, half, 0.2*half)
}

func TestBootstrapErrors(t *testing.T) {
	fail := func(idx [][]int) (float64, error) { return 0, errors.New("no") }
	cases := []struct {
		name  string
		sizes []int
		stat  func(idx [][]int) (float64, error)
		opt   BootstrapOptions
	}{
		{"no groups", nil, fail, BootstrapOptions{}},
		{"tiny group", []int{1}, fail, BootstrapOptions{}},
		{"one resample", []int{5}, fail, BootstrapOptions{Resamples: 1}},
		{"bad level", []int{5}, fail, BootstrapOptions{Level: 1.5}},
		{"all fail", []int{5}, fail, BootstrapOptions{Resamples: 10}},
	}
	for _, c := range cases {
		if _, err := Bootstrap(c.sizes, 0, c.stat, c.opt); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	// Two groups are resampled independently, each with its own size.
	b, err := Bootstrap([]int{3, 7}, 0, func(idx [][]int) (float64, error) {
		if len(idx[0]) != 3 || len(idx[1]) != 7 || slices.Max(idx[1]) > 6 || slices.Max(idx[0]) > 2 {
			return 0, errors.New("bad resample")
		}
		return float64(idx[0][0] + idx[1][0]), nil
	}, BootstrapOptions{Resamples: 50, Seed: 1})
	if err != nil || b.Failed != 0 {
		t.Fatalf("%v %+v", err, b)
	}
}

// Pairing by provenance averages the demo anchors; unknown IDs are counted.
func TestPairByProvenance(t *testing.T) {
	gen := [][]float64{{1}, {2}, {3}}
	anchors := [][]float64{{10, 0}, {20, 2}, {40, 4}}
	_, err := PairByProvenance(gen, [][]string{{"a"}, {"b"}, {"c"}}, anchors, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PairByProvenance(gen, [][]string{{"a", "b"}, {"zz"}, {"c", "a", "x"}}, anchors, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{15, 1}, {25, 2}}
	if len(p.Y) != 2 || !slices.Equal(p.Y[0], want[0]) || !slices.Equal(p.Y[1], want[1]) || !slices.Equal(p.Gen, []int{0, 2}) {
		t.Fatalf("pairs %v %v", p.Y, p.Gen)
	}
	if p.Unmatched != 1 || p.MissingDemos != 2 || p.Mode != PairProvenance {
		t.Errorf("%+v", p)
	}
	if _, err := PairByProvenance(gen, [][]string{{"q"}, nil, nil}, anchors, []string{"a", "b", "c"}); err == nil {
		t.Error("no pair at all: no error")
	}
	if _, err := PairByProvenance(gen, nil, anchors, []string{"a", "b", "c"}); err == nil {
		t.Error("missing demo lists: no error")
	}
}

// Subsample pairing draws min(n, m) distinct rows of each, reproducibly.
func TestPairBySubsample(t *testing.T) {
	gen := make([][]float64, 50)
	train := make([][]float64, 20)
	for i := range gen {
		gen[i] = []float64{float64(i)}
	}
	for i := range train {
		train[i] = []float64{float64(100 + i)}
	}
	p, err := PairBySubsample(gen, train, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := PairBySubsample(gen, train, 0, 3)
	if len(p.X) != 20 || len(p.Y) != 20 || !slices.Equal(p.Gen, q.Gen) {
		t.Fatalf("%d %d", len(p.X), len(p.Y))
	}
	seen := map[float64]bool{}
	for _, r := range p.Y {
		seen[r[0]] = true
	}
	if len(seen) != 20 {
		t.Error("train rows repeat")
	}
	if p, _ := PairBySubsample(gen, train, 5, 3); len(p.X) != 5 {
		t.Error("max ignored")
	}
	if _, err := PairBySubsample(nil, train, 0, 3); err == nil {
		t.Error("empty: no error")
	}
}

// Half-sampling reproduces the normal interval of a mean (the factor
// √(m/(n−m)) is 1 for m = n/2) independently of the workers, and for a
// statistic that repeated rows bias (the share of distinct values) its
// interval contains the estimate while the classical bootstrap's does not.
func TestBootstrapHalfSampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 3000)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	m, sd := meanSD(x)
	half := 1.96 * sd / math.Sqrt(float64(len(x)))
	var first [2]float64
	for _, w := range []int{1, 3} {
		b, err := Bootstrap([]int{len(x)}, m, meanStat(x), BootstrapOptions{Resamples: 800, Seed: 2, Subsample: true, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if b.Method != "half-sampling" || b.M[0] != 1500 {
			t.Fatalf("%+v", b)
		}
		if w == 1 {
			first = b.CI
		} else if b.CI != first {
			t.Fatalf("workers change the interval: %v vs %v", b.CI, first)
		}
		near(t, "lower", b.CI[0], m-half, 0.15*half)
		near(t, "upper", b.CI[1], m+half, 0.15*half)
	}
	// Distinct share of 500 distinct values: 1 on the full sample.
	distinct := func(idx [][]int) (float64, error) {
		seen := map[int]bool{}
		for _, i := range idx[0] {
			seen[i] = true
		}
		return float64(len(seen)) / float64(len(idx[0])), nil
	}
	b, _ := Bootstrap([]int{500}, 1, distinct, BootstrapOptions{Resamples: 100, Seed: 1, Subsample: true})
	if b.CI[0] > 1 || b.CI[1] < 1 {
		t.Errorf("half-sampling CI %v misses the estimate 1", b.CI)
	}
	c, _ := Bootstrap([]int{500}, 1, distinct, BootstrapOptions{Resamples: 100, Seed: 1})
	if c.CI[1] > 0.7 {
		t.Errorf("classical bootstrap CI %v: expected the duplicate bias (≈ 1 − 1/e)", c.CI)
	}
	// Resamples hold distinct rows.
	_, err := Bootstrap([]int{10, 8}, 0, func(idx [][]int) (float64, error) {
		for g, ix := range idx {
			if len(ix) != []int{5, 4}[g] || len(ix) != len(slicesCompactSorted(ix)) {
				return 0, errors.New("repeated or missing rows")
			}
		}
		return 0, nil
	}, BootstrapOptions{Resamples: 20, Subsample: true})
	if err != nil {
		t.Error(err)
	}
	if _, err := Bootstrap([]int{3}, 0, distinct, BootstrapOptions{Subsample: true}); err == nil {
		t.Error("half-sampling of 3 rows: no error")
	}
}

func slicesCompactSorted(x []int) []int {
	y := slices.Clone(x)
	slices.Sort(y)
	return slices.Compact(y)
}
