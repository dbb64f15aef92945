package train

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// hfBase writes a random-weight Hugging Face folder of the family with
// GPT-2's real vocabulary (encoder.json + vocab.bpe from ../shared) and
// loads it as a base model.
func hfBase(t *testing.T, arch string) (*llama.Model, string) {
	t.Helper()
	tokDir := testshared.Path(t, "tokenizers", "gpt2")
	cfg, err := llama.FamilyConfig(llama.Config{Dim: 64, HiddenDim: 192, NLayers: 2, NHeads: 4, NKVHeads: 2,
		VocabSize: 50257, SeqLen: 128, NormEps: 1e-5, RopeTheta: 10000}, arch)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LearnedPos {
		cfg.NKVHeads, cfg.SharedClassifier = cfg.NHeads, true
	} else {
		cfg.RopeNeoX = true
	}
	m, err := llama.NewRandomModel(cfg, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "base")
	if err := m.SaveHF(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"encoder.json", "vocab.bpe"} {
		b, err := os.ReadFile(filepath.Join(tokDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, err := llama.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if base.Tokenizer == nil {
		t.Fatal("the folder's GPT-2 tokenizer was not loaded")
	}
	return base, dir
}

// Fine-tuning GPT-2 and Qwen2 shaped students from Hugging Face folders:
// the losses fall, the student is saved as a folder with the base's
// tokenizer files, and the folder reloads with the same held-out loss.
func TestFineTuneHFStudents(t *testing.T) {
	for _, arch := range []string{llama.ArchGPT2, llama.ArchQwen2} {
		t.Run(arch, func(t *testing.T) {
			base, _ := hfBase(t, arch)
			train, test := storyRecords(8, 0), storyRecords(4, 3)
			out := filepath.Join(t.TempDir(), "student")
			opt := Options{Base: base, Template: CompactTemplate(), Steps: 10, BatchSize: 4, LR: 3e-3, Warmup: 2, Seed: 5, Out: out, Workers: 2}
			st, err := Train(context.Background(), opt, train, test)
			if err != nil {
				t.Fatal(err)
			}
			r := st.Result
			t.Logf("%s: test loss %.4f → %.4f, train %.4f", arch, r.Before.Mean, r.Test.Mean, r.Train.Mean)
			if !(r.Test.Mean < r.Before.Mean) {
				t.Fatalf("fine-tuning did not lower the held-out loss: %+v", r)
			}
			for _, f := range []string{"config.json", "model.safetensors", "encoder.json", "vocab.bpe"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("student folder: %v", err)
				}
			}
			m, err := llama.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.Family() != arch || !slices.Equal(m.Params(), st.Model.Params()) {
				t.Fatalf("reloaded student differs (family %s)", m.Config.Family())
			}
			l, err := Evaluate(context.Background(), m, test, EvalOptions{Template: CompactTemplate()})
			if err != nil || !near(l.Mean, r.Test.Mean, 1e-4) {
				t.Fatalf("reloaded student: %+v vs %+v (%v)", l, r.Test, err)
			}
		})
	}
}
