package measure

import (
	"math"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// TestPerplexityHandComputed scores short texts under stories260K and
// compares with a perplexity computed here from the engine's forward pass:
// p(t_i | t_<i) = softmax(logits)[t_i] step by step after BOS.
func TestPerplexityHandComputed(t *testing.T) {
	m := testshared.Stories(t)
	texts := []string{"Once upon a time, there was a little girl.", "The cat sat."}
	var want, sumLP float64
	var nTok int
	for _, text := range texts {
		toks := m.Tokenizer.Encode(text, true, false)
		st := m.NewState()
		var lp float64
		for pos := 0; pos+1 < len(toks); pos++ {
			logits, err := st.Forward(toks[pos], pos)
			if err != nil {
				t.Fatal(err)
			}
			mx := math.Inf(-1)
			for _, l := range logits {
				mx = math.Max(mx, float64(l))
			}
			var z float64
			for _, l := range logits {
				z += math.Exp(float64(l) - mx)
			}
			lp += float64(logits[toks[pos+1]]) - mx - math.Log(z)
		}
		n := len(toks) - 1
		want += math.Exp(-lp/float64(n)) / float64(len(texts))
		sumLP += lp
		nTok += n
	}
	for _, workers := range []int{1, 2} {
		r, err := Perplexity(m, texts, PerplexityOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "perplexity", r.Value, want, 1e-9*want)
		near(t, "corpus perplexity", r.Settings["corpus_perplexity"].(float64), math.Exp(-sumLP/float64(nTok)), 1e-9*want)
		if r.Settings["total_tokens"] != nTok || r.N != 2 || !(r.CI95[0] < r.Value && r.Value < r.CI95[1]) {
			t.Errorf("tokens %v (want %d), N %d, CI %v", r.Settings["total_tokens"], nTok, r.N, r.CI95)
		}
		// A story opening is far likelier under a TinyStories model than
		// uniform over its 512 tokens.
		if r.Value <= 1 || r.Value >= 512 {
			t.Errorf("perplexity %g outside (1, 512)", r.Value)
		}
	}
	if _, err := Perplexity(m, []string{""}, PerplexityOptions{}); err == nil {
		t.Error("empty text: want an error")
	}
	if _, err := Perplexity(nil, texts, PerplexityOptions{}); err == nil {
		t.Error("nil model: want an error")
	}
}

func TestPerplexityFromLogProbs(t *testing.T) {
	cases := []struct {
		name    string
		lp      [][]float64
		want    float64
		corpus  float64
		wantErr bool
	}{
		{"two texts", [][]float64{{math.Log(0.5), math.Log(0.5)}, {math.Log(0.25)}}, (2.0 + 4) / 2, math.Exp((2*math.Log(2) + math.Log(4)) / 3), false},
		{"certain", [][]float64{{0, 0}}, 1, 1, false},
		{"positive log-probability", [][]float64{{0.1}}, 0, 0, true},
		{"no tokens", [][]float64{{}}, 0, 0, true},
		{"no texts", nil, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := PerplexityFromLogProbs(c.lp)
			if c.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			near(t, "perplexity", r.Value, c.want, 1e-12)
			near(t, "corpus", r.Settings["corpus_perplexity"].(float64), c.corpus, 1e-12)
		})
	}
	// Per-text mean log-probabilities.
	r, err := PerplexityFromMeanLogProbs([]float64{math.Log(0.5), math.Log(0.25)})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "registry perplexity", r.Value, 3, 1e-12)
}
