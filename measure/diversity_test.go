package measure

import (
	"bytes"
	"compress/gzip"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNGramDiversity(t *testing.T) {
	// "a b a b": 1-grams 2/4, 2-grams {ab, ba} 2/3, 3-grams 2/2, 4-grams 1/1.
	r := []float64{0.5, 2.0 / 3, 1, 1}
	cases := []struct {
		combine string
		want    float64
	}{
		{"mean", (r[0] + r[1] + r[2] + r[3]) / 4},
		{"product", r[0] * r[1] * r[2] * r[3]},
		{"sum", r[0] + r[1] + r[2] + r[3]},
	}
	for _, tc := range cases {
		res, err := NGramDiversity([]string{"a b a b"}, 4, tc.combine)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "NGD "+tc.combine, res.Value, tc.want, 1e-12)
	}
	// n-grams do not cross texts: "a b" + "b a" gives bigrams ab, ba: 2/2.
	res, _ := NGramDiversity([]string{"a b", "B a"}, 2, "mean")
	near(t, "NGD two texts", res.Value, (0.5+1)/2, 1e-12)
	if _, err := NGramDiversity([]string{"a"}, 2, "mean"); err == nil {
		t.Error("no bigrams accepted")
	}
	if _, err := NGramDiversity(nil, 2, "mean"); err == nil {
		t.Error("empty accepted")
	}
}

func TestSelfRepetition(t *testing.T) {
	// n = 2. Texts: "a b c", "a b d", "x y".
	// Text 0: bigrams ab (in 1 other), bc (0) ⇒ log 2. Text 1: ab (1), bd (0) ⇒ log 2. Text 2: 0 ⇒ 0.
	r, err := SelfRepetition([]string{"a b c", "a b d", "x y"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "self-repetition", r.Value, 2*math.Log(2)/3, 1e-12)
}

func TestCompressionRatio(t *testing.T) {
	texts := []string{strings.Repeat("the same words again ", 50), "and again"}
	r, err := CompressionRatio(texts)
	if err != nil {
		t.Fatal(err)
	}
	raw := strings.Join(texts, "\n")
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(raw))
	w.Close()
	near(t, "compression ratio", r.Value, float64(len(raw))/float64(b.Len()), 1e-12)
	if r.Value < 5 {
		t.Errorf("repetitive text ratio %g, want large", r.Value)
	}
	if _, err := CompressionRatio([]string{""}); err == nil {
		t.Error("empty text accepted")
	}
}

func TestKMeansEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var x [][]float64
	for c, size := range []int{10, 10, 20} {
		for range size {
			x = append(x, []float64{100*float64(c) + rng.NormFloat64(), rng.NormFloat64()})
		}
	}
	want := -(2*0.25*math.Log(0.25) + 0.5*math.Log(0.5))
	for seed := range uint64(5) {
		r, err := KMeansEntropy(x, 3, seed)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "k-means entropy", r.Value, want, 1e-12)
	}
	r, _ := KMeansEntropy(x, 1, 0)
	near(t, "k = 1", r.Value, 0, 0)
	if _, err := KMeansEntropy(x[:2], 3, 0); err == nil {
		t.Error("k > n accepted")
	}
}

func TestBLEUAndSelfBLEU(t *testing.T) {
	// "a b c d" vs "a b c e", max n = 2: p1 = 3/4, p2 = 2/3, BP = 1 ⇒ √(1/2).
	near(t, "BLEU-2", BLEU(strings.Fields("a b c d"), [][]string{strings.Fields("a b c e")}, 2), math.Sqrt(0.5), 1e-12)
	// Brevity: hyp "a b" vs ref "a b c d", n = 1: p1 = 1, BP = e^{1−2}.
	near(t, "BLEU-1 short", BLEU([]string{"a", "b"}, [][]string{strings.Fields("a b c d")}, 1), math.Exp(-1), 1e-12)
	r, err := SelfBLEU([]string{"a b c d", "a b c e"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "self-BLEU", r.Value, math.Sqrt(0.5), 1e-12)
	r, _ = SelfBLEU([]string{"x y z w", "x y z w", "x y z w"}, 4)
	near(t, "self-BLEU identical", r.Value, 1, 1e-12)
	if _, err := SelfBLEU([]string{"one"}, 4); err == nil {
		t.Error("single text accepted")
	}
}

func TestHomogenization(t *testing.T) {
	// "a b c d" vs "a c d e": LCS 3 ⇒ F1 = 3/4; with an identical third text the
	// pairs are 3/4, 1, 3/4.
	r, err := Homogenization([]string{"a b c d", "a c d e", "a b c d"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "homogenization", r.Value, (0.75+1+0.75)/3, 1e-12)
}

func TestVendi(t *testing.T) {
	eye := func(n, d int) [][]float64 {
		x := make([][]float64, n)
		for i := range x {
			x[i] = make([]float64, d)
			x[i][i%d] = float64(i + 1) // scale is irrelevant to the cosine
		}
		return x
	}
	same := make([][]float64, 6)
	for i := range same {
		same[i] = []float64{1, 2, 3}
	}
	cases := []struct {
		name string
		x    [][]float64
		want float64
	}{
		{"identical", same, 1},
		{"orthogonal n<d", eye(4, 10), 4},
		{"orthogonal n=d", eye(5, 5), 5},
		// Dual form: 8 points on 4 axes, two per axis ⇒ eigenvalues 1/4 ×4 ⇒ 4.
		{"two per axis n>d", eye(8, 4), 4},
		// Two vectors at 60°: K/n eigenvalues (1 ± 1/2)/2 = 3/4, 1/4.
		{"60 degrees", [][]float64{{1, 0}, {0.5, math.Sqrt(3) / 2}}, math.Exp(-(0.75*math.Log(0.75) + 0.25*math.Log(0.25)))},
		// Squares overflow but the values are finite: the cosine is still defined.
		{"huge values", [][]float64{{1e200, 0}, {0, 3e300}, {2e250, 0}}, math.Exp(-(2.0/3*math.Log(2.0/3) + 1.0/3*math.Log(1.0/3)))},
		// Many row blocks and every lane of the dual Gram matrix: 3 axes, 1,000 points each.
		{"many blocks n>>d", eye(3000, 3), 3},
	}
	for _, tc := range cases {
		r, err := Vendi(tc.x)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "Vendi "+tc.name, r.Value, tc.want, 1e-9)
	}
	if _, err := Vendi([][]float64{{0, 0}}); err == nil {
		t.Error("zero row accepted")
	}
	// Bad rows are named, the first one whichever lane meets it.
	for _, tc := range []struct {
		name string
		bad  map[int]float64
		want string
	}{
		{"NaN", map[int]float64{2500: math.NaN()}, "row 2500 is not finite"},
		{"Inf", map[int]float64{2500: math.Inf(-1), 700: math.Inf(1)}, "row 700 is not finite"},
		{"zero", map[int]float64{2999: 0, 1500: 0}, "row 1500 is zero"},
		{"primal NaN", map[int]float64{1: math.NaN()}, "row 1 is not finite"},
	} {
		x := eye(3000, 3)
		if tc.name == "primal NaN" {
			x = eye(2, 3)
		}
		for i, v := range tc.bad {
			for j := range x[i] {
				x[i][j] = 0
			}
			x[i][0] = v
		}
		_, err := Vendi(x)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
