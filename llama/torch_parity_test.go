package llama

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// torchPython is Debian's interpreter with python3-torch (the pyenv python3
// on PATH has no torch).
const torchPython = "/usr/bin/python3"

// haveTorch skips the test when Debian's python3-torch is not installed.
func haveTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(torchPython, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch reference unavailable (%s -c 'import torch': %v); scripts/ensure-torch.sh installs Debian's python3-torch", torchPython, err)
	}
}

// parityConfigs are small models of each family and variant the PyTorch
// reference implements.
func parityConfigs(t *testing.T) map[string]Config {
	t.Helper()
	base := Config{Dim: 64, HiddenDim: 160, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 300, SeqLen: 32, NormEps: 1e-5, RopeNeoX: true}
	mk := func(arch string, f func(*Config)) Config {
		c := base
		f(&c)
		c, err := FamilyConfig(c, arch)
		if err != nil {
			t.Fatal(err)
		}
		c.RopeNeoX = !c.LearnedPos
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	return map[string]Config{
		"gpt2":             mk(ArchGPT2, func(c *Config) { c.HiddenDim, c.SharedClassifier = 256, true }),
		"llama-gqa-untied": mk(ArchLlama, func(c *Config) { c.NKVHeads, c.RopeTheta = 2, 10000 }),
		// Head size 16: with an original context of 64 the four frequency
		// pairs fall in the kept, smoothed (two) and divided bands.
		"llama3-scaled-tied": mk(ArchLlama, func(c *Config) {
			c.SharedClassifier, c.RopeTheta = true, 10000
			c.RopeScaling = RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 64}
		}),
		"qwen2-gqa-bias": mk(ArchQwen2, func(c *Config) { c.NKVHeads, c.RopeTheta = 1, 1e6 }),
	}
}

// randomModel returns a model of cfg with seeded random weights, every
// norm weight and bias perturbed so that none is a trivial 1 or 0.
func randomModel(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := NewModel(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(seed, 0.1)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range m.params {
		m.params[i] += float32(0.05 * rng.NormFloat64())
	}
	return m
}

// TestTorchParity saves a random-weight checkpoint of each family as a
// Hugging Face folder, loads it back, and compares the logits, the loss
// and the gradient of one training step with an independent PyTorch
// implementation (testdata/torch_ref.py) to 1e-4 relative.
func TestTorchParity(t *testing.T) {
	haveTorch(t)
	script, err := filepath.Abs("testdata/torch_ref.py")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range parityConfigs(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := randomModel(t, cfg, 11).SaveHF(dir); err != nil {
				t.Fatal(err)
			}
			m, err := LoadHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			const B, T = 2, 12
			rng := rand.New(rand.NewPCG(3, 4))
			b := &Batch{B: B, T: T, Inputs: make([]int, B*T), Targets: make([]int, B*T)}
			for i := range b.Inputs {
				b.Inputs[i] = rng.IntN(cfg.VocabSize)
				b.Targets[i] = rng.IntN(cfg.VocabSize)
				if i%5 == 1 {
					b.Targets[i] = -1
				}
			}
			// Logits of the first sequence, one position at a time.
			s := m.NewState()
			logits := make([]float32, 0, T*cfg.VocabSize)
			for pos := 0; pos < T; pos++ {
				l, err := s.Forward(b.Inputs[pos], pos)
				if err != nil {
					t.Fatal(err)
				}
				logits = append(logits, l...)
			}
			ws, err := m.NewTrainWorkspace(B, T, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			grads := make([]float32, len(m.Params()))
			loss, _, err := ws.LossAndGrad(b, grads)
			if err != nil {
				t.Fatal(err)
			}
			gt, err := m.HFTensors(grads)
			if err != nil {
				t.Fatal(err)
			}
			writeST(t, filepath.Join(dir, "grads.safetensors"), gt)
			writeST(t, filepath.Join(dir, "logits.safetensors"),
				[]NamedTensor{{Name: "logits", Shape: []int64{T, int64(cfg.VocabSize)}, Data: logits}})
			writeJSON(t, filepath.Join(dir, "batch.json"), map[string]any{"B": B, "T": T, "inputs": b.Inputs, "targets": b.Targets})
			writeJSON(t, filepath.Join(dir, "loss.json"), map[string]any{"loss": loss})
			out, err := exec.Command(torchPython, script, dir).CombinedOutput()
			if err != nil {
				t.Fatalf("PyTorch reference disagrees (%v):\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

func writeST(t *testing.T, path string, ts []NamedTensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(f, ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
