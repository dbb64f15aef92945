package llama

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSamplingDeterminism(t *testing.T) {
	m := loadBin(t)
	cases := []struct {
		name string
		opt  SampleOptions
	}{
		{"temperature 1", SampleOptions{Temperature: 1, Seed: 42}},
		{"temperature 0.8 top-p 0.9", SampleOptions{Temperature: 0.8, TopP: 0.9, Seed: 7}},
		{"temperature 1.2 top-k 20", SampleOptions{Temperature: 1.2, TopK: 20, Seed: 123}},
		{"top-k and top-p", SampleOptions{Temperature: 1, TopK: 40, TopP: 0.95, Seed: 9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := GenerateOptions{SampleOptions: c.opt, MaxTokens: 60, IgnoreEOS: true}
			a, err := m.Generate("Once upon a time", opt)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Generate("Once upon a time", opt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Tokens, b.Tokens) || a.Text != b.Text {
				t.Fatalf("same seed gave different outputs:\n%q\n%q", a.Text, b.Text)
			}
			if len(a.Tokens) != 60 || a.FinishReason != FinishLength {
				t.Errorf("got %d tokens (%s), want 60 (length)", len(a.Tokens), a.FinishReason)
			}
			// Other seeds must not all reproduce the same sequence.
			differ := false
			for s := uint64(1); s <= 4; s++ {
				o := opt
				o.Seed = c.opt.Seed + s
				d, err := m.Generate("Once upon a time", o)
				if err != nil {
					t.Fatal(err)
				}
				differ = differ || !slices.Equal(d.Tokens, a.Tokens)
			}
			if !differ {
				t.Error("four other seeds all reproduced the same sample")
			}
		})
	}
}

// TestSamplerDistribution draws from fixed logits and compares the
// empirical frequencies with the (filtered) softmax.
func TestSamplerDistribution(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1, -3}
	probs := func(temp float32, keep int) []float64 {
		p := make([]float64, len(logits))
		var sum float64
		for i := 0; i < keep; i++ {
			p[i] = math.Exp(float64(logits[i] / temp))
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
		return p
	}
	cases := []struct {
		name string
		opt  SampleOptions
		want []float64
	}{
		{"softmax", SampleOptions{Temperature: 1, Seed: 1}, probs(1, 6)},
		{"hot", SampleOptions{Temperature: 2, Seed: 2}, probs(2, 6)},
		{"top-k 2", SampleOptions{Temperature: 1, TopK: 2, Seed: 3}, probs(1, 2)},
		// softmax(logits) ≈ .56 .21 .12 .08 .03 .00: top-p 0.7 keeps 2 tokens.
		{"top-p 0.7", SampleOptions{Temperature: 1, TopP: 0.7, Seed: 4}, probs(1, 2)},
		{"top-k 1 is greedy", SampleOptions{Temperature: 1, TopK: 1, Seed: 5}, probs(1, 1)},
		{"greedy", SampleOptions{Seed: 6}, probs(1, 1)},
	}
	const n = 20000
	for _, c := range cases {
		s := NewSampler(c.opt)
		counts := make([]float64, len(logits))
		for i := 0; i < n; i++ {
			counts[s.Sample(logits)]++
		}
		for i := range counts {
			f := counts[i] / n
			// 5 standard deviations of a binomial proportion, at least 0.002.
			tol := max(5*math.Sqrt(c.want[i]*(1-c.want[i])/n), 0.002)
			if math.Abs(f-c.want[i]) > tol || c.want[i] == 0 && counts[i] > 0 {
				t.Errorf("%s: token %d frequency %.4f, want %.4f", c.name, i, f, c.want[i])
			}
		}
	}
}

func TestSamplerEdgeCases(t *testing.T) {
	uniform := make([]float32, 50)
	cases := []struct {
		name   string
		logits []float32
		opt    SampleOptions
		want   int // -1: any valid index
	}{
		{"single token", []float32{3}, SampleOptions{Temperature: 1, TopP: 0.5}, 0},
		{"uniform with tiny top-p", uniform, SampleOptions{Temperature: 1, TopP: 1e-4}, 0},
		{"uniform plain", uniform, SampleOptions{Temperature: 1}, -1},
		{"top-k larger than vocab", []float32{0, 5, 1}, SampleOptions{Temperature: 0.01, TopK: 10}, 1},
		{"negative temperature is greedy", []float32{0, 1, 5, 1}, SampleOptions{Temperature: -1}, 2},
		{"ties go to the first", []float32{1, 7, 7}, SampleOptions{}, 1},
	}
	for _, c := range cases {
		s := NewSampler(c.opt)
		for i := 0; i < 20; i++ {
			got := s.Sample(c.logits)
			if got < 0 || got >= len(c.logits) || c.want >= 0 && got != c.want {
				t.Errorf("%s: sampled %d, want %d", c.name, got, c.want)
				break
			}
		}
	}
}

func TestGreedyTemperatureZeroEqualsArgmaxChain(t *testing.T) {
	m := loadGGUF(t)
	g, err := m.Generate("Lily", GenerateOptions{MaxTokens: 30, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	// Recompute the chain by hand with the low-level API.
	st := m.NewState()
	toks := append(slices.Clone(g.Prompt), g.Tokens...)
	for pos := 0; pos < len(toks)-1; pos++ {
		l, err := st.Forward(toks[pos], pos)
		if err != nil {
			t.Fatal(err)
		}
		if pos >= len(g.Prompt)-1 && Argmax(l) != toks[pos+1] {
			t.Fatalf("position %d: generated %d, argmax %d", pos, toks[pos+1], Argmax(l))
		}
	}
	whole, head := m.sp().Decode(toks), m.sp().Decode(g.Prompt)
	if head != "Lily" || whole != head+g.Text {
		t.Errorf("prompt decodes to %q and Text is %q, but the whole sequence decodes to %q", head, g.Text, whole)
	}
}

func TestGenerateBatchIndependentOfParallelism(t *testing.T) {
	m := loadBin(t)
	prompts := []string{"Once upon a time", "Lily", "The dog", "", "Tom had a", "She said"}
	var reqs []BatchRequest
	for i, p := range prompts {
		reqs = append(reqs, BatchRequest{Prompt: p, Options: GenerateOptions{
			SampleOptions: SampleOptions{Temperature: 0.9, TopP: 0.9, Seed: uint64(100 + i)},
			MaxTokens:     40 + 5*i,
		}})
	}
	reqs[2].Options.Temperature = 0 // one greedy sequence in the mix
	if out, err := m.GenerateBatch(nil, 3); err != nil || len(out) != 0 {
		t.Errorf("empty batch: %v, %d results", err, len(out))
	}
	var first []*Generation
	for _, workers := range []int{1, 2, 4, 0} {
		got, err := m.GenerateBatch(reqs, workers)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
			for i, r := range reqs {
				single, err := m.Generate(r.Prompt, r.Options)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(single.Tokens, got[i].Tokens) || single.Text != got[i].Text {
					t.Errorf("item %d differs from a single Generate call", i)
				}
			}
			continue
		}
		for i := range got {
			if !slices.Equal(got[i].Tokens, first[i].Tokens) || got[i].Text != first[i].Text || got[i].FinishReason != first[i].FinishReason {
				t.Errorf("workers=%d item %d differs from workers=1", workers, i)
			}
		}
	}
}

func TestStopSequencesAndMaxTokens(t *testing.T) {
	m := loadBin(t)
	full, err := m.Generate("Once upon a time", GenerateOptions{MaxTokens: 120})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		stop []string
	}{
		{[]string{"Lily"}},
		{[]string{"park", "ball"}},
		{[]string{"."}},
		{[]string{"\n"}},
	}
	for _, c := range cases {
		want := full.Text
		found := false
		for _, s := range c.stop {
			if i := strings.Index(full.Text, s); i >= 0 && (!found || i < len(want)) {
				want, found = full.Text[:i], true
			}
		}
		if !found {
			t.Fatalf("stop %q never occurs in the reference text %q", c.stop, full.Text)
		}
		g, err := m.Generate("Once upon a time", GenerateOptions{MaxTokens: 120, Stop: c.stop})
		if err != nil {
			t.Fatal(err)
		}
		if g.Text != want || g.FinishReason != FinishStop {
			t.Errorf("stop %q: text %q (%s), want %q", c.stop, g.Text, g.FinishReason, want)
		}
	}
	for _, n := range []int{1, 5, 17} {
		g, err := m.Generate("Once upon a time", GenerateOptions{MaxTokens: n, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Tokens) != n || !slices.Equal(g.Tokens, full.Tokens[:n]) {
			t.Errorf("MaxTokens %d: got %d tokens %v", n, len(g.Tokens), g.Tokens)
		}
	}
	if _, err := m.Generate("x", GenerateOptions{MaxTokens: -1}); err == nil {
		t.Error("negative MaxTokens accepted")
	}
	long := strings.Repeat("a b c d ", 200)
	if _, err := m.Generate(long, GenerateOptions{}); err == nil {
		t.Error("prompt longer than the context accepted")
	}
}

func TestLogProbConsistency(t *testing.T) {
	m := loadBin(t)
	for _, prompt := range []string{"Once upon a time", "Lily went", ""} {
		g, err := m.Generate(prompt, GenerateOptions{MaxTokens: 25, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.LogProbTokens(g.Prompt, g.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		// Independent recomputation from the forward pass.
		st := m.NewState()
		toks := append(slices.Clone(g.Prompt), g.Tokens...)
		var sum float64
		var manual []float64
		for pos := 0; pos < len(toks)-1; pos++ {
			l, err := st.Forward(toks[pos], pos)
			if err != nil {
				t.Fatal(err)
			}
			if pos < len(g.Prompt)-1 {
				continue
			}
			var z float64
			for _, v := range l {
				z += math.Exp(float64(v))
			}
			lp := float64(l[toks[pos+1]]) - math.Log(z)
			manual = append(manual, lp)
			sum += lp
		}
		var perSum float64
		for i, lp := range res.PerToken {
			perSum += lp
			if lp > 0 {
				t.Errorf("prompt %q token %d: log-prob %g > 0", prompt, i, lp)
			}
			// A greedy token is the mode, so its probability is ≥ 1/vocab.
			if lp < -math.Log(float64(m.Config.VocabSize)) {
				t.Errorf("prompt %q token %d: greedy token has log-prob %g below uniform", prompt, i, lp)
			}
			if math.Abs(lp-manual[i]) > 1e-4 {
				t.Errorf("prompt %q token %d: log-prob %g, forward pass gives %g", prompt, i, lp, manual[i])
			}
		}
		if math.Abs(perSum-res.Sum) > 1e-9 || math.Abs(res.Sum-sum) > 1e-3 {
			t.Errorf("prompt %q: Sum %g, per-token sum %g, forward pass %g", prompt, res.Sum, perSum, sum)
		}
	}
	// A fluent continuation is more likely than a scrambled one.
	good, err := m.LogProb("Once upon a time, there was a little", " girl named Lily.")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := m.LogProb("Once upon a time, there was a little", " Lily named girl.")
	if err != nil {
		t.Fatal(err)
	}
	if len(good.Tokens) == 0 || good.Sum <= bad.Sum {
		t.Errorf("log P(fluent) = %g not above log P(scrambled) = %g", good.Sum, bad.Sum)
	}
	if _, err := m.LogProbTokens(nil, []int{5}); err == nil {
		t.Error("empty prompt accepted")
	}
	if _, err := m.LogProbTokens([]int{1}, []int{9999}); err == nil {
		t.Error("out-of-vocabulary token accepted")
	}
}

func TestEmbed(t *testing.T) {
	m := loadBin(t)
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	texts := []string{"Lily loved to play in the park.", "Lily liked to play in the garden.", "123 456 789 +-*/"}
	var embs [][]float32
	for _, s := range texts {
		e, err := m.Embed(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(e) != m.Config.Dim {
			t.Fatalf("embedding of length %d, want %d", len(e), m.Config.Dim)
		}
		for _, v := range e {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("non-finite embedding value for %q", s)
			}
		}
		again, _ := m.Embed(s)
		if !slices.Equal(e, again) {
			t.Errorf("embedding of %q is not deterministic", s)
		}
		embs = append(embs, e)
	}
	// The mean of the per-position hidden states, computed by hand.
	toks := m.sp().Encode(texts[0], true, false)
	st := m.NewState()
	manual := make([]float64, m.Config.Dim)
	for pos, tk := range toks {
		if _, err := st.Forward(tk, pos); err != nil {
			t.Fatal(err)
		}
		if pos > 0 {
			for i, v := range st.Hidden() {
				manual[i] += float64(v) / float64(len(toks)-1)
			}
		}
	}
	for i := range manual {
		if math.Abs(manual[i]-float64(embs[0][i])) > 1e-5 {
			t.Fatalf("component %d: %g, manual mean %g", i, embs[0][i], manual[i])
		}
	}
	if s01, s02 := cos(embs[0], embs[1]), cos(embs[0], embs[2]); s01 <= s02 {
		t.Errorf("similar sentences cos %g not above unrelated text cos %g", s01, s02)
	}
}

func TestForwardErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 1)
	st := m.NewStateN(4)
	cases := []struct{ tok, pos int }{{-1, 0}, {m.Config.VocabSize, 0}, {1, -1}, {1, 4}, {1, 16}}
	for _, c := range cases {
		if _, err := st.Forward(c.tok, c.pos); err == nil {
			t.Errorf("Forward(%d, %d) accepted", c.tok, c.pos)
		}
	}
	noTok := newModel(m.Config, nil, m.params)
	if _, err := noTok.Generate("a", GenerateOptions{}); err != ErrNoTokenizer {
		t.Errorf("Generate without tokenizer: %v", err)
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	m := loadBin(t)
	st := m.NewState()
	pos := 0
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := st.Forward(m.sp().BOS+pos%100, pos); err != nil {
			t.Fatal(err)
		}
		pos++
	})
	if allocs != 0 {
		t.Errorf("Forward allocates %v times per token", allocs)
	}
	smp := NewSampler(SampleOptions{Temperature: 0.9, TopP: 0.9, TopK: 40, Seed: 1})
	logits, _ := st.Forward(5, pos)
	smp.Sample(logits) // sizes the scratch buffer
	if a := testing.AllocsPerRun(50, func() { smp.Sample(logits) }); a != 0 {
		t.Errorf("Sample allocates %v times per token", a)
	}
}

// TestGroupedQueryAttentionEqualsDuplicatedHeads checks that a model with
// n_kv_heads < n_heads computes exactly what the equivalent multi-head model
// (each key/value head repeated for its query heads) computes.
func TestGroupedQueryAttentionEqualsDuplicatedHeads(t *testing.T) {
	for _, cfg := range []Config{
		{Dim: 16, HiddenDim: 12, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 12, SharedClassifier: true},
		{Dim: 24, HiddenDim: 12, NLayers: 1, NHeads: 4, NKVHeads: 1, VocabSize: 262, SeqLen: 12, SharedClassifier: true},
		{Dim: 12, HiddenDim: 12, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 262, SeqLen: 12, SharedClassifier: true},
		{Dim: 32, HiddenDim: 12, NLayers: 1, NHeads: 4, NKVHeads: 1, VocabSize: 262, SeqLen: 12, SharedClassifier: true},
	} {
		gqa := tinyModel(t, cfg, 31)
		mcfg := cfg
		mcfg.NKVHeads = cfg.NHeads
		mha, err := NewModel(mcfg, gqa.sp())
		if err != nil {
			t.Fatal(err)
		}
		hs, kvMul := cfg.HeadSize(), cfg.NHeads/cfg.NKVHeads
		copy(mha.w.tokEmb, gqa.w.tokEmb)
		copy(mha.w.finalNorm, gqa.w.finalNorm)
		for l := range gqa.w.layers {
			a, b := gqa.w.layers[l], mha.w.layers[l]
			for _, p := range [][2][]float32{{a.attnNorm, b.attnNorm}, {a.wq, b.wq}, {a.wo, b.wo}, {a.ffnNorm, b.ffnNorm}, {a.w1, b.w1}, {a.w2, b.w2}, {a.w3, b.w3}} {
				copy(p[1], p[0])
			}
			rows := hs * cfg.Dim
			for h := 0; h < cfg.NHeads; h++ {
				g := h / kvMul
				copy(b.wk[h*rows:(h+1)*rows], a.wk[g*rows:(g+1)*rows])
				copy(b.wv[h*rows:(h+1)*rows], a.wv[g*rows:(g+1)*rows])
			}
		}
		toks := []int{1, 262 - 1, 40, 7, 100, 3, 259, 260}
		if d := maxAbsDiff(logitsAt(t, gqa, toks), logitsAt(t, mha, toks)); d != 0 {
			t.Errorf("config %+v: grouped-query logits differ from multi-head logits by %g", cfg, d)
		}
	}
}
