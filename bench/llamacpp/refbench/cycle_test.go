package main

import (
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// TestCycleModel: greedy decoding of the benchmark's random models walks
// the head's cycle (no token twice within 64 steps, never a control or
// byte token) with log-probabilities that are neither ~0 nor tiny, so the
// log-prob parity check compares real distributions.
func TestCycleModel(t *testing.T) {
	tok, err := llama.LoadLlama2cTokenizer(testshared.Path(t, "models", "stories260K", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	cfg := shapes["tiny"]
	cfg.VocabSize = tok.VocabSize()
	m, err := NewCycleModel(cfg, tok, 7, 6)
	if err != nil {
		t.Fatal(err)
	}
	got := ggmiGreedy(t, m, "Once upon a time there was a little girl", 64)
	if len(got) != 64 {
		t.Fatalf("%d steps, want 64", len(got))
	}
	seen := map[string]bool{}
	lo, hi := 0.0, -100.0
	for i, s := range got {
		if seen[s.Piece] {
			t.Errorf("step %d: %q generated twice", i, s.Piece)
		}
		seen[s.Piece] = true
		lo, hi = min(lo, s.Logprob), max(hi, s.Logprob)
	}
	if lo < -4 || hi > -0.005 {
		t.Errorf("greedy log-probs in [%.3f, %.3f], want inside [-4, -0.005]", lo, hi)
	}
	t.Logf("greedy log-probs in [%.3f, %.3f]", lo, hi)
}
