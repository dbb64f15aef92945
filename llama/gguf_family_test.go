package llama

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveGGUFFamilies writes a random model of each family as GGUF
// (llama.cpp's names and keys for llama, gpt2 and qwen2) and loads it back:
// gpt2 and qwen2 keep their layout and give bit-identical logits; llama is
// stored in the interleaved RoPE layout (a row permutation) and agrees to
// float32 rounding. Llama 3 RoPE scaling is refused with a clear error.
func TestSaveGGUFFamilies(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range parityConfigs(t) {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 5)
			path := filepath.Join(dir, name+".gguf")
			err := m.SaveGGUF(path)
			if cfg.RopeScaling.Type != "" {
				if err == nil || !strings.Contains(err.Error(), "RoPE scaling cannot be written as GGUF") || m.CanWriteGGUF() {
					t.Fatalf("RoPE-scaled model: error %v, CanWriteGGUF %v", err, m.CanWriteGGUF())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.Family() != cfg.Family() || got.Config.SharedClassifier != cfg.SharedClassifier ||
				got.Config.NKVHeads != cfg.NKVHeads || got.Config.SeqLen != cfg.SeqLen {
				t.Fatalf("config %+v, want %+v", got.Config, cfg)
			}
			g, err := ReadGGUFHeader(bytes.NewReader(mustRead(t, path)), fileSize(t, path))
			if err != nil {
				t.Fatal(err)
			}
			if a := g.Metadata["general.architecture"]; a != cfg.Family() {
				t.Errorf("general.architecture %v, want %s", a, cfg.Family())
			}
			want, have := seqLogits(t, m, parityTokens), seqLogits(t, got, parityTokens)
			worst := 0.0
			for i := range want {
				d := math.Abs(float64(want[i] - have[i]))
				if cfg.Family() != ArchLlama && d != 0 {
					t.Fatalf("logit %d: %g after the round trip, want %g (bit-identical)", i, have[i], want[i])
				}
				worst = math.Max(worst, d/math.Max(1, math.Abs(float64(want[i]))))
			}
			if worst > 1e-5 {
				t.Fatalf("largest relative logit difference %g", worst)
			}
		})
	}
}

// TestGGUFFamilyMissingTensor renames one tensor of a valid gpt2 and qwen2
// file: the loader names the missing tensor and the architecture.
func TestGGUFFamilyMissingTensor(t *testing.T) {
	cfgs := parityConfigs(t)
	for _, c := range []struct{ model, tensor, renamed string }{
		{"gpt2", "blk.1.attn_qkv.bias", "blk.1.attn_qkv.bia_"},
		{"gpt2", "position_embd.weight", "position_embd.weigh_"},
		{"qwen2-gqa-bias", "blk.0.attn_k.bias", "blk.0.attn_k.bia_"},
	} {
		t.Run(c.model+"/"+c.tensor, func(t *testing.T) {
			var buf bytes.Buffer
			if err := randomModel(t, cfgs[c.model], 3).WriteGGUF(&buf); err != nil {
				t.Fatal(err)
			}
			data := bytes.Replace(buf.Bytes(), []byte(c.tensor), []byte(c.renamed), 1)
			_, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
			if err == nil || !strings.Contains(err.Error(), `missing tensor "`+c.tensor+`"`) ||
				!strings.Contains(err.Error(), cfgs[c.model].Family()) {
				t.Fatalf("error %v, want one naming the missing tensor %q", err, c.tensor)
			}
		})
	}
}

// TestGGUFUnknownArchitecture: an architecture outside the supported
// families is refused with an error naming it and the supported list,
// wrapping ErrUnsupportedArch.
func TestGGUFUnknownArchitecture(t *testing.T) {
	for _, arch := range []string{"falcon", "qwen3", "phi3"} {
		data := buildGGUF(3, []ggufKV{{"general.architecture", arch}}, nil)
		_, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
		want := `unsupported architecture "` + arch + `" (supported: gpt2, llama, qwen2)`
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrUnsupportedArch) {
			t.Errorf("%s: error %v, want one containing %q", arch, err, want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
