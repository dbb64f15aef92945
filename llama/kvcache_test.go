package llama

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// TestKVCacheF16Prefill checks, with an f16 key/value cache, that a prompt
// run as batches leaves bit for bit the cache, hidden state and logits
// that feeding it one position at a time gives (as TestPrefillEqualsForward
// does for the f32 cache), and that the cache holds f16 elements only.
func TestKVCacheF16Prefill(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	models := batchedModels(t)
	for _, name := range []string{"gqa/q8_0", "gqa/f32", "neox/q8_0"} {
		m := models[name]
		if err := m.SetKVCacheType(GGMLTypeF16); err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(t *testing.T) {
				n := 70
				toks := randTokens(rng, n+1, m.Config.VocabSize)
				a, b := m.newState(n+1, threads), m.newState(n+1, threads)
				if a.keyCache != nil || a.h == nil || len(a.h.keys) != m.Config.NLayers*(n+1)*m.Config.KVDim() {
					t.Fatalf("f16 state: f32 cache %d values, f16 cache %v", len(a.keyCache), a.h != nil)
				}
				for pos, tok := range toks[:n] {
					if err := a.ForwardNoLogits(tok, pos); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Prefill(toks[:3], 0); err != nil {
					t.Fatal(err)
				}
				if err := b.Prefill(toks[3:n], 3); err != nil {
					t.Fatal(err)
				}
				assertBits(t, "hidden", b.Hidden(), a.Hidden())
				for i := range a.h.keys {
					if a.h.keys[i] != b.h.keys[i] || a.h.vals[i] != b.h.vals[i] {
						t.Fatalf("cache element %d: forward %#x/%#x, prefill %#x/%#x", i, a.h.keys[i], a.h.vals[i], b.h.keys[i], b.h.vals[i])
					}
				}
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
		if err := m.SetKVCacheType(GGMLTypeF32); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKVCacheF16Greedy compares an f16 key/value cache with the f32 one.
// On stories260K both caches give the same 200 greedy tokens. On it and on
// a random 2-layer f32 model (whose nearly flat logits make greedy choices
// fragile) the f32 cache's greedy tokens are fed to both, and the
// log-probability of every fed token agrees within 0.01 nats (the f16
// rounding of keys and values is ≤ 2⁻¹¹ relative). With q8_0 weights the
// random model's differences reach 0.03 nats: a rounded attention output
// can move an activation across an int8 step.
func TestKVCacheF16Greedy(t *testing.T) {
	dir := modelDir(t)
	stories, err := LoadLlama2c(filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	rnd := batchedModels(t)["gqa/f32"]
	for name, m := range map[string]*Model{"stories260K": stories, "random-f32": rnd} {
		t.Run(name, func(t *testing.T) {
			steps := min(200, m.Config.SeqLen-1)
			// run feeds forced (or, when nil, its own greedy choices) and
			// returns the greedy choice and the log-probability of the
			// next fed token at every step.
			run := func(kv GGMLType, forced []int) (greedy []int, lps []float64) {
				if err := m.SetKVCacheType(kv); err != nil {
					t.Fatal(err)
				}
				defer m.SetKVCacheType(GGMLTypeF32)
				st := m.NewStateN(steps + 1)
				tok := 1
				for pos := range steps {
					logits, err := st.Forward(tok, pos)
					if err != nil {
						t.Fatal(err)
					}
					best := 0
					for i, v := range logits {
						if v > logits[best] {
							best = i
						}
					}
					next := best
					if forced != nil {
						next = forced[pos]
					}
					var z float64
					for _, v := range logits {
						z += math.Exp(float64(v - logits[next]))
					}
					greedy = append(greedy, best)
					lps = append(lps, -math.Log(z))
					tok = next
				}
				return greedy, lps
			}
			g32, lp32 := run(GGMLTypeF32, nil)
			_, lp16 := run(GGMLTypeF16, g32)
			worst := 0.0
			for i := range lp32 {
				worst = max(worst, math.Abs(lp16[i]-lp32[i]))
			}
			if worst > 0.01 {
				t.Errorf("largest log-prob difference %.3g nats, want ≤ 0.01", worst)
			}
			if name == "stories260K" {
				g16, _ := run(GGMLTypeF16, nil)
				for i := range g32 {
					if g16[i] != g32[i] {
						t.Fatalf("step %d: f16 cache chose %d, f32 cache %d", i, g16[i], g32[i])
					}
				}
			}
			t.Logf("%d steps; largest log-prob difference %.2g nats", len(g32), worst)
		})
	}
}

func TestSetKVCacheType(t *testing.T) {
	m := tinyModel(t, quantConfig, 1)
	if err := m.SetKVCacheType(GGMLType(quant.Q8_0)); err == nil {
		t.Error("SetKVCacheType accepted q8_0")
	}
	if m.KVCacheType() != GGMLTypeF32 {
		t.Errorf("default cache type %s, want f32", m.KVCacheType())
	}
}
