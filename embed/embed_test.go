package embed

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// knownSpectrum returns U·diag(s)·Vᵀ with random orthonormal U, V.
func knownSpectrum(r, c int, s []float64, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := func(n, k int) *mat.Dense {
		m := mat.NewDense(n, k, nil)
		for i := range n {
			for j := range k {
				m.Set(i, j, rng.NormFloat64())
			}
		}
		return orth(m)
	}
	u, v := g(r, len(s)), g(c, len(s))
	var us mat.Dense
	us.Mul(u, mat.NewDiagDense(len(s), s))
	var a mat.Dense
	a.Mul(&us, v.T())
	return &a
}

func TestRandomizedSVDKnownSpectrum(t *testing.T) {
	cases := []struct {
		name  string
		r, c  int
		decay func(i int) float64
		k, q  int
		tol   float64
	}{
		{"geometric", 200, 120, func(i int) float64 { return math.Pow(0.7, float64(i)) }, 10, 4, 1e-6},
		{"polynomial", 150, 300, func(i int) float64 { return 1 / float64(i+1) }, 8, 6, 2e-2},
		{"low-rank exact", 80, 60, func(i int) float64 {
			if i < 5 {
				return float64(5 - i)
			}
			return 0
		}, 5, 1, 1e-9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := min(tc.r, tc.c)
			s := make([]float64, n)
			for i := range s {
				s[i] = tc.decay(i)
			}
			a := knownSpectrum(tc.r, tc.c, s, 7)
			var exact mat.SVD
			if !exact.Factorize(a, mat.SVDNone) {
				t.Fatal("exact SVD failed")
			}
			ev := exact.Values(nil)
			u, got, v, err := RandomizedSVD(DenseOperator{a}, tc.k, RSVDOptions{PowerIters: tc.q, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.k {
				if math.Abs(got[i]-ev[i]) > tc.tol*ev[0] {
					t.Errorf("σ_%d = %.10g, exact %.10g, known %.10g", i, got[i], ev[i], s[i])
				}
			}
			// Reconstruction error is close to the optimal σ_{k+1}.
			var us, rec mat.Dense
			us.Mul(u, mat.NewDiagDense(tc.k, got))
			rec.Mul(&us, v.T())
			rec.Sub(a, &rec)
			var sv mat.SVD
			sv.Factorize(&rec, mat.SVDNone)
			spec := sv.Values(nil)[0]
			opt := 0.0
			if tc.k < n {
				opt = ev[tc.k]
			}
			if spec > opt*(1+10*tc.tol)+1e-9 {
				t.Errorf("‖A − UΣVᵀ‖₂ = %g, optimal %g", spec, opt)
			}
		})
	}
	if _, _, _, err := RandomizedSVD(DenseOperator{mat.NewDense(2, 2, nil)}, 0, RSVDOptions{}); err == nil {
		t.Error("k = 0 accepted")
	}
}

func TestLSA(t *testing.T) {
	texts := []string{
		"the cat sat on the mat", "a cat sat on a mat", "the cat is on the mat",
		"stock markets fell sharply today", "markets fell as stocks dropped", "the stock market fell",
	}
	l := LSA{Dim: 2, Seed: 3}
	v, err := l.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := l.Embed(context.Background(), texts)
	for i := range v {
		for j := range v[i] {
			if v[i][j] != v2[i][j] {
				t.Fatal("not deterministic for a seed")
			}
		}
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i] * b[i])
			aa += float64(a[i] * a[i])
			bb += float64(b[i] * b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	if w, x := cos(v[0], v[1]), cos(v[0], v[3]); w <= x {
		t.Errorf("cat–cat cosine %g not above cat–stock %g", w, x)
	}
	// LSA rows are U·S, so the squared norms sum to the sum of σ² ≤ N (rows have unit norm).
	var tot float64
	for _, r := range v {
		for _, x := range r {
			tot += float64(x * x)
		}
	}
	if tot > float64(len(texts))+1e-4 {
		t.Errorf("total energy %g exceeds %d", tot, len(texts))
	}
	if _, err := l.Embed(context.Background(), nil); err == nil {
		t.Error("empty input accepted")
	}
}

func TestReadVectorsAndSIF(t *testing.T) {
	// word2vec header, three words in rank order.
	src := "3 2\nthe 1 0\ncat 0 1\ndog 0 2\n"
	v, err := ReadVectors(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if v.Dim != 2 || len(v.Words) != 3 {
		t.Fatalf("dim %d words %d", v.Dim, len(v.Words))
	}
	h := 1 + 0.5 + 1.0/3
	if got, want := v.ZipfProb("cat"), 1/(2*h); math.Abs(got-want) > 1e-12 {
		t.Errorf("Zipf p(cat) = %g, want %g", got, want)
	}
	s := SIF{Vectors: v, KeepPC: true, FreqFromData: true}
	e, err := s.Embed(context.Background(), []string{"the cat", "dog unknownword"})
	if err != nil {
		t.Fatal(err)
	}
	// Text 0: p(the)=p(cat)=1/4 of 4 tokens; weight a/(a+1/4); mean over 2 tokens.
	a := 1e-3
	w := a / (a + 0.25)
	want0 := []float64{w / 2, w / 2}
	want1 := []float64{0, 2 * w / 2} // unknown word counts in the length
	for j := range 2 {
		if math.Abs(float64(e[0][j])-want0[j]) > 1e-6 || math.Abs(float64(e[1][j])-want1[j]) > 1e-6 {
			t.Fatalf("SIF = %v, want %v %v", e, want0, want1)
		}
	}
	// Removing the first principal component leaves vectors orthogonal to it:
	// with two vectors spanning a plane the residuals are rank one.
	s.KeepPC = false
	e, _ = s.Embed(context.Background(), []string{"the cat", "the dog", "cat dog"})
	m := mat.NewDense(3, 2, nil)
	for i := range e {
		for j := range e[i] {
			m.Set(i, j, float64(e[i][j]))
		}
	}
	var sv mat.SVD
	sv.Factorize(m, mat.SVDNone)
	if vals := sv.Values(nil); vals[1] > 1e-6 {
		t.Errorf("after PC removal singular values %v, want rank one", vals)
	}
	if _, err := ReadVectors(strings.NewReader("a 1 2\nb 1\n")); err == nil {
		t.Error("ragged file accepted")
	}
}

func TestGloVeFile(t *testing.T) {
	path := testshared.Path(t, "embeddings", "glove-100d-top40k.txt.gz")
	v, err := LoadVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	if v.Dim != 100 || len(v.Words) != 40000 || v.Words[0] != "the" {
		t.Fatalf("dim %d, %d words, first %q", v.Dim, len(v.Words), v.Words[0])
	}
	e, err := SIF{Vectors: v}.Embed(context.Background(), []string{
		"the king ruled the country", "the queen ruled the kingdom", "i cooked pasta for dinner", "we ate rice and soup",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i] * b[i])
			aa += float64(a[i] * a[i])
			bb += float64(b[i] * b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	if c(e[0], e[1]) <= c(e[0], e[2]) {
		t.Errorf("royal pair %g not closer than royal–food %g", c(e[0], e[1]), c(e[0], e[2]))
	}
}

type countEmb struct{ calls int }

func (c *countEmb) ID() string { return "count" }
func (c *countEmb) Embed(_ context.Context, t []string) ([][]float32, error) {
	c.calls++
	out := make([][]float32, len(t))
	for i := range t {
		out[i] = []float32{float32(len(t[i])), 1.5}
	}
	return out, nil
}

func TestCached(t *testing.T) {
	dir := t.TempDir()
	inner := &countEmb{}
	c := Cached{Inner: inner, Dir: dir}
	ctx := context.Background()
	a, err := c.Embed(ctx, []string{"ab", "cde"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Embed(ctx, []string{"ab", "cde"})
	if err != nil {
		t.Fatal(err)
	}
	if inner.calls != 1 || b[1][0] != 3 || b[0][1] != 1.5 || a[0][0] != b[0][0] {
		t.Fatalf("calls %d, got %v", inner.calls, b)
	}
	if Key("x", []string{"ab", "c"}) == Key("x", []string{"a", "bc"}) {
		t.Error("keys collide across text boundaries")
	}
	// A corrupt file is a miss.
	os.WriteFile(filepath.Join(dir, Key("count", []string{"ab", "cde"})+".emb"), []byte{1, 2}, 0o644)
	if _, err := c.Embed(ctx, []string{"ab", "cde"}); err != nil || inner.calls != 2 {
		t.Fatalf("corrupt file: err %v calls %d", err, inner.calls)
	}
}
