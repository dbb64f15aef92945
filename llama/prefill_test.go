package llama

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// batchedModels returns a random model per weight encoding, saved as GGUF
// and loaded back with its weights in place, for a grouped-query config
// (two query heads per key/value head) and a NeoX-rope config with one
// query head per key/value head and partial rotary dimension.
func batchedModels(t *testing.T) map[string]*Model {
	t.Helper()
	out := map[string]*Model{}
	dir := t.TempDir()
	cfgs := map[string]Config{
		"gqa":  quantConfig,
		"neox": {Dim: 256, HiddenDim: 512, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 300, SeqLen: 160, RopeNeoX: true, RopeDim: 64},
	}
	for name, cfg := range cfgs {
		cfg.SeqLen = 160
		m := tinyModel(t, cfg, 23)
		m.InitRandom(23, 0.05)
		types := []GGMLType{GGMLTypeF32, GGMLTypeF16, GGMLTypeQ8_0, GGMLTypeQ4_0, GGMLTypeQ4_1, GGMLTypeQ5_K, GGMLTypeQ4_K, GGMLTypeQ6_K}
		if name == "neox" {
			types = []GGMLType{GGMLTypeQ8_0}
		}
		for _, typ := range types {
			path := filepath.Join(dir, name+typ.String()+".gguf")
			if err := m.SaveGGUFAs(path, typ); err != nil {
				t.Fatal(err)
			}
			got, err := LoadGGUF(path)
			if err != nil {
				t.Fatal(err)
			}
			out[name+"/"+typ.String()] = got
		}
		out[name+"/params"] = m
	}
	return out
}

func randTokens(rng *rand.Rand, n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(vocab)
	}
	return out
}

// TestPrefillEqualsForward checks that a prompt run as batches (Prefill,
// chunks of 64 positions, on 1 and 2 threads) leaves bit for bit the key
// and value cache, hidden state and next-token logits that feeding the
// positions one at a time gives, for every weight encoding; a prefix fed
// first (pos0 > 0) and a one-token prompt included.
func TestPrefillEqualsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, m := range batchedModels(t) {
		for _, n := range []int{1, 3, 70, 150} {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/n=%d/threads=%d", name, n, threads), func(t *testing.T) {
					toks := randTokens(rng, n+1, m.Config.VocabSize)
					pre := min(n, 5)
					a, b := m.newState(n+1, threads), m.newState(n+1, threads)
					for pos, tok := range toks[:n] {
						if err := a.ForwardNoLogits(tok, pos); err != nil {
							t.Fatal(err)
						}
					}
					if err := b.Prefill(toks[:pre], 0); err != nil {
						t.Fatal(err)
					}
					if err := b.Prefill(toks[pre:n], pre); err != nil {
						t.Fatal(err)
					}
					assertBits(t, "hidden", b.Hidden(), a.Hidden())
					assertBits(t, "keys", b.keyCache, a.keyCache)
					assertBits(t, "values", b.valueCache, a.valueCache)
					la, err := a.Forward(toks[n], n)
					if err != nil {
						t.Fatal(err)
					}
					lb, err := b.Forward(toks[n], n)
					if err != nil {
						t.Fatal(err)
					}
					assertBits(t, "logits", lb, la)
				})
			}
		}
	}
}

// TestStepperEqualsForward runs several sequences of different lengths
// through Stepper.Step (sequences joining and leaving between steps) and
// checks every step's logits against State.Forward bit for bit.
func TestStepperEqualsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	models := batchedModels(t)
	for _, name := range []string{"gqa/q8_0", "gqa/q4_K", "gqa/f32", "neox/q8_0"} {
		m := models[name]
		m.SetThreads(2)
		t.Run(name, func(t *testing.T) {
			const seqs = 5
			lens := []int{12, 3, 20, 7, 15}
			start := []int{0, 2, 0, 5, 1} // step at which each sequence joins
			toks := make([][]int, seqs)
			ref := make([]*State, seqs)
			bat := make([]*State, seqs)
			for i := range seqs {
				toks[i] = randTokens(rng, lens[i], m.Config.VocabSize)
				ref[i], bat[i] = m.NewStateN(lens[i]), m.NewStateN(lens[i])
			}
			st := m.NewStepper()
			for step := 0; ; step++ {
				var ss []*State
				var tk, ps, idx []int
				for i := range seqs {
					p := step - start[i]
					if p >= 0 && p < lens[i] {
						ss, tk, ps, idx = append(ss, bat[i]), append(tk, toks[i][p]), append(ps, p), append(idx, i)
					}
				}
				if len(ss) == 0 && step > 30 {
					break
				}
				got, err := st.Step(ss, tk, ps)
				if err != nil {
					t.Fatal(err)
				}
				for k, i := range idx {
					want, err := ref[i].Forward(tk[k], ps[k])
					if err != nil {
						t.Fatal(err)
					}
					assertBits(t, fmt.Sprintf("step %d seq %d", step, i), got[k], want)
				}
			}
			if _, err := st.Step([]*State{bat[0], bat[0]}, []int{1, 1}, []int{0, 1}); err == nil {
				t.Error("a state given twice was accepted")
			}
			if _, err := st.Step([]*State{bat[0]}, []int{m.Config.VocabSize}, []int{0}); err == nil {
				t.Error("a token outside the vocabulary was accepted")
			}
			if _, err := st.Step([]*State{bat[1]}, []int{1}, []int{lens[1]}); err == nil {
				t.Error("a position outside the context was accepted")
			}
		})
	}
}

func assertBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}
