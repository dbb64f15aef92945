package measure

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/curate"
)

// 300 copies of one point among distinct ones: the k-NN estimators drop
// and count the copies; the values stay those of the distinct points.
func TestKNNDuplicatesCounted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := gauss(rng, 200, 3, 0, 1)
	withDup := slices.Clone(base)
	for range 300 {
		withDup = append(withDup, slices.Clone(base[7]))
	}
	a, err := KLEntropy(base, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := KLEntropy(withDup, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b.Value != a.Value || b.N != 200 || b.Settings["duplicates"] != 300 {
		t.Errorf("entropy with 300 duplicates: %g (N %d, duplicates %v), without: %g", b.Value, b.N, b.Settings["duplicates"], a.Value)
	}
	y := gauss(rng, 200, 3, 0.5, 1)
	kl, err := KLDivergence(withDup, append(slices.Clone(y), y[0], y[1]), 3)
	if err != nil {
		t.Fatal(err)
	}
	kl0, _ := KLDivergence(base, y, 3)
	if kl.Value != kl0.Value || kl.Settings["duplicates"] != 302 {
		t.Errorf("KL with duplicates %g (%v), without %g", kl.Value, kl.Settings["duplicates"], kl0.Value)
	}
	x1, y1 := corrPair(rng, 100, 0.5)
	for range 50 {
		x1, y1 = append(x1, x1[3]), append(y1, y1[3])
	}
	m, err := KSG(x1, y1, KSGOptions{})
	if err != nil || m.N != 100 || m.Settings["duplicates"] != 50 || math.IsInf(m.Value, 0) {
		t.Errorf("KSG with 50 duplicate pairs: %v %+v", err, m)
	}
	// Only copies: a clear error, never −∞ or thousands of nats.
	same := make([][]float64, 300)
	for i := range same {
		same[i] = []float64{0.25, -1, 3}
	}
	if r, err := KLEntropy(same, 3); err == nil || !strings.Contains(err.Error(), "299 duplicates") {
		t.Errorf("300 identical points: %v, %v", r.Value, err)
	}
}

func TestKMeansEntropyIdenticalPoints(t *testing.T) {
	same := make([][]float64, 300)
	two := make([][]float64, 300)
	for i := range same {
		same[i] = []float64{1, 2, 3}
		two[i] = []float64{float64(i % 2), 0, 0}
	}
	for k := 1; k <= 10; k++ {
		r, err := KMeansEntropy(same, k, 3)
		if err != nil || r.Value != 0 {
			t.Errorf("k = %d: identical points: %g, %v", k, r.Value, err)
		}
		if k >= 2 {
			r, _ := KMeansEntropy(two, k, 3)
			if math.Abs(r.Value-math.Log(2)) > 1e-15 {
				t.Errorf("k = %d: two distinct points: %g, want log 2", k, r.Value)
			}
		}
	}
}

// nltk: sentence_bleu(refs, hyp, smoothing_function=method1) returns 0 when
// no unigram matches (corpus_bleu: "if p_numerators[1] == 0: return 0"),
// and with one matching unigram of four words, 4-gram BLEU
// exp(¼·(log ¼ + 3·log(0.1/k)))-style values stay positive.
func TestBLEUZeroMatchNLTK(t *testing.T) {
	hyp := strings.Fields("alpha beta gamma delta")
	if b := BLEU(hyp, [][]string{strings.Fields("one two three four")}, 4); b != 0 {
		t.Errorf("no unigram match: BLEU %g, want 0 (nltk)", b)
	}
	r, err := SelfBLEU([]string{"alpha beta gamma delta", "one two three four"}, 4)
	if err != nil || r.Value != 0 {
		t.Errorf("Self-BLEU of texts sharing no word: %g, %v", r.Value, err)
	}
	// One unigram match of 4; no bigram (3), trigram (2) or 4-gram (1)
	// match: method1 gives p = (1/4, 0.1/3, 0.1/2, 0.1/1), equal lengths.
	b := BLEU(hyp, [][]string{strings.Fields("alpha two three four")}, 4)
	want := math.Exp((math.Log(0.25) + math.Log(0.1/3) + math.Log(0.1/2) + math.Log(0.1)) / 4)
	if math.Abs(b-want) > 1e-15 {
		t.Errorf("one unigram match: BLEU %g, want %g", b, want)
	}
}

// Homogenisation and curate's ROUGE-L filter tokenise alike.
func TestHomogenizationTokenizer(t *testing.T) {
	texts := []string{"Hello, World! It's done.", "hello world it s done", "Other words here."}
	r, err := Homogenization(texts)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	pairs := 0
	for i := range texts {
		for j := i + 1; j < len(texts); j++ {
			want += curate.RougeLF1(curate.Tokenize(texts[i]), curate.Tokenize(texts[j]))
			pairs++
		}
	}
	want /= float64(pairs)
	if math.Abs(r.Value-want) > 1e-15 || curate.RougeLF1(curate.Tokenize(texts[0]), curate.Tokenize(texts[1])) != 1 {
		t.Errorf("homogenization %g, want %g (first pair identical once tokenised)", r.Value, want)
	}
}

// The median heuristic uses every pair up to DefaultMedianRows rows, also
// above the 2·10⁶ pairs where it brackets instead of sorting.
func TestMedianSigma2Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{7, 8, 300, 2500} {
		x := gauss(rng, n, 4, 0, 1)
		sq := make([]float64, n)
		for i, r := range x {
			sq[i] = dotFast(r, r)
		}
		var d []float64
		for a := range n {
			for b := a + 1; b < n; b++ {
				d = append(d, pairSqDist(x, sq, a, b))
			}
		}
		slices.Sort(d)
		m := len(d)
		want := 0.5 * 0.5 * (d[(m-1)/2] + d[m/2])
		if got := MedianSigma2(x, 1); got != want {
			t.Errorf("n = %d: σ² = %.17g, want %.17g", n, got, want)
		}
	}
	// Above MedianRows rows a seeded subsample is used: deterministic, and
	// different from the exact value.
	x := gauss(rng, 1500, 2, 0, 1)
	a, b := MedianSigma2Rows(x, 4, 500), MedianSigma2Rows(x, 4, 500)
	if a != b || a == MedianSigma2(x, 4) {
		t.Errorf("subsampled median %g %g, exact %g", a, b, MedianSigma2(x, 4))
	}
}
