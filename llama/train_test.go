package llama

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomTokens(rng *rand.Rand, n, vocab int) []int {
	toks := make([]int, n)
	for i := range toks {
		toks[i] = rng.IntN(vocab)
	}
	return toks
}

// TestTrainLossMatchesInference checks the float64 training forward pass
// against the float32 inference engine.
func TestTrainLossMatchesInference(t *testing.T) {
	m := loadBin(t)
	toks := m.sp().Encode("Once upon a time, there was a little girl named Lily.", true, false)
	loss, err := m.Loss(toks)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := m.LogProbTokens(toks[:1], toks[1:])
	if err != nil {
		t.Fatal(err)
	}
	want := -lp.Sum / float64(len(toks)-1)
	if math.Abs(loss-want) > 1e-4*math.Max(1, want) {
		t.Errorf("training loss %g, inference cross-entropy %g", loss, want)
	}
}

// TestGradientCheck compares analytic gradients with central finite
// differences for parameters spread over every tensor.
func TestGradientCheck(t *testing.T) {
	cfgs := map[string]Config{
		"gqa shared":      tinyConfig,
		"separate cls":    {Dim: 8, HiddenDim: 6, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 270, SeqLen: 16},
		"neox rope":       {Dim: 8, HiddenDim: 6, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 262, SeqLen: 16, RopeNeoX: true, SharedClassifier: true},
		"partial rope 4h": {Dim: 16, HiddenDim: 10, NLayers: 1, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 16, RopeDim: 2, SharedClassifier: true},
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			m := tinyModel(t, cfg, 99)
			rng := rand.New(rand.NewPCG(4, 4))
			toks := randomTokens(rng, 9, cfg.VocabSize)
			// Make sure the used embedding rows are checked.
			grads := make([]float64, len(m.params))
			if _, err := m.LossAndGrad(toks, grads); err != nil {
				t.Fatal(err)
			}
			// Sample indices: a few per tensor region plus the rows of the
			// embeddings that the sequence uses.
			w := layoutWeights(cfg, m.params)
			var idx []int
			base := func(s []float32) int { return offsetIn(m.params, s) }
			add := func(s []float32, k int) {
				for i := 0; i < k; i++ {
					idx = append(idx, base(s)+rng.IntN(len(s)))
				}
			}
			for _, tok := range toks[:3] {
				idx = append(idx, base(w.tokEmb)+tok*cfg.Dim+rng.IntN(cfg.Dim))
			}
			for _, lw := range w.layers {
				for _, s := range [][]float32{lw.attnNorm, lw.wq, lw.wk, lw.wv, lw.wo, lw.ffnNorm, lw.w1, lw.w2, lw.w3} {
					add(s, 3)
				}
			}
			add(w.finalNorm, 3)
			add(w.wcls, 6)
			checked := 0
			for _, i := range idx {
				orig := m.params[i]
				const h = 1e-4
				m.params[i] = orig + h
				up := float64(m.params[i])
				lp, _ := m.Loss(toks)
				m.params[i] = orig - h
				down := float64(m.params[i])
				lm, _ := m.Loss(toks)
				m.params[i] = orig
				num := (lp - lm) / (up - down)
				an := grads[i]
				if math.Abs(num-an) > 1e-4*math.Max(math.Abs(num), math.Abs(an))+1e-6 {
					t.Errorf("param %d: analytic %g, numeric %g", i, an, num)
				}
				if an != 0 {
					checked++
				}
			}
			if checked < len(idx)/2 {
				t.Errorf("only %d of %d sampled gradients are non-zero", checked, len(idx))
			}
		})
	}
}

// offsetIn returns the index of s[0] inside buf (s must be a sub-slice).
func offsetIn(buf, s []float32) int {
	for off := 0; off+len(s) <= len(buf); off++ {
		if &buf[off] == &s[0] {
			return off
		}
	}
	panic("slice not inside buffer")
}

func TestTrainingReducesLoss(t *testing.T) {
	for _, cfg := range []Config{tinyConfig, {Dim: 16, HiddenDim: 24, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 16}} {
		m := tinyModel(t, cfg, 5)
		rng := rand.New(rand.NewPCG(8, 8))
		toks := randomTokens(rng, 13, cfg.VocabSize)
		opt := NewAdamW(1e-2, 0.01)
		first, err := m.TrainStep(opt, toks)
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 60; step++ {
			if _, err := m.TrainStep(opt, toks); err != nil {
				t.Fatal(err)
			}
		}
		last, _ := m.Loss(toks)
		if !(last < 0.5*first) {
			t.Errorf("config %+v: loss went from %g to %g after 60 AdamW steps", cfg, first, last)
		}
		// The trained inference engine now prefers the memorised tokens.
		lp, err := m.LogProbTokens(toks[:1], toks[1:])
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(-lp.Sum/float64(len(toks)-1)-last) > 1e-3*math.Max(1, last) {
			t.Errorf("inference cross-entropy %g differs from training loss %g", -lp.Sum/float64(len(toks)-1), last)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 1)
	cases := []struct {
		name  string
		toks  []int
		grads int
	}{
		{"one token", []int{1}, len(m.params)},
		{"bad token", []int{1, 9999}, len(m.params)},
		{"too long", make([]int, tinyConfig.SeqLen+2), len(m.params)},
		{"grad length", []int{1, 2}, 3},
	}
	for _, c := range cases {
		if _, err := m.LossAndGrad(c.toks, make([]float64, c.grads)); err == nil {
			t.Errorf("%s: expected an error", c.name)
		}
	}
	if err := NewAdamW(1e-3, 0).Step(make([]float32, 3), make([]float64, 2)); err == nil {
		t.Error("AdamW accepted mismatched lengths")
	}
}
