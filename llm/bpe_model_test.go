package llm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

// bpeFolder writes a random-weight Hugging Face folder of the family with
// a real byte-level BPE vocabulary from ../shared/tokenizers (gpt2:
// encoder.json + vocab.bpe; qwen2: Qwen3's tokenizer.json and
// tokenizer_config.json with its chat template) and returns the folder.
func bpeFolder(t testing.TB, arch string) string {
	t.Helper()
	tokDir, files, vocab := testshared.Path(t, "tokenizers", "gpt2"), []string{"encoder.json", "vocab.bpe"}, 50257
	if arch == llama.ArchQwen2 {
		tokDir, files, vocab = testshared.Path(t, "tokenizers", "qwen3"), []string{"tokenizer.json", "tokenizer_config.json"}, 151936
	}
	cfg, err := llama.FamilyConfig(llama.Config{Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2,
		VocabSize: vocab, SeqLen: 256, NormEps: 1e-5, RopeTheta: 1e6, SharedClassifier: true}, arch)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LearnedPos {
		cfg.NKVHeads = cfg.NHeads
	} else {
		cfg.RopeNeoX = true
	}
	m, err := llama.NewRandomModel(cfg, nil, 9)
	if err != nil {
		t.Fatal(err)
	}
	// Larger weights than the training initialisation, so that the logits
	// are far from uniform.
	for i, p := range m.Params() {
		m.Params()[i] = 8 * p
	}
	dir := filepath.Join(t.TempDir(), arch)
	if err := m.SaveHF(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(tokDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBPEGGUFRoundTrip: a Hugging Face folder with a real byte-level BPE
// vocabulary, saved as GGUF and loaded back, gives bit-identical logits,
// the same tokens for every text (plain and with special tokens), the same
// chat template, and llama.cpp's tokenizer keys (model gpt2 and the
// pre-tokenizer name).
func TestBPEGGUFRoundTrip(t *testing.T) {
	texts := []string{"Hello world! It's 2024: 12345 apples, naïve café.", "  spaces\t\ttabs\n\nnew lines",
		"日本語のテキストと emoji 🤖👍🏽", "<|im_start|>user\nHi<|im_end|>", "<|endoftext|> don't"}
	for _, c := range []struct{ arch, pre string }{{llama.ArchGPT2, "gpt-2"}, {llama.ArchQwen2, "qwen2"}} {
		t.Run(c.arch, func(t *testing.T) {
			dir := bpeFolder(t, c.arch)
			hf, err := llama.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.gguf")
			if err := hf.SaveGGUF(path); err != nil {
				t.Fatal(err)
			}
			gg, err := llama.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			g, err := llama.ReadGGUFHeader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]any{"general.architecture": c.arch, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": c.pre} {
				if g.Metadata[k] != want {
					t.Errorf("%s = %v, want %v", k, g.Metadata[k], want)
				}
			}
			if n := len(g.Metadata["tokenizer.ggml.tokens"].([]string)); n != hf.Config.VocabSize {
				t.Errorf("%d GGUF tokens, want one per embedding row (%d)", n, hf.Config.VocabSize)
			}
			if gg.ChatTemplate != hf.ChatTemplate || (c.arch == llama.ArchQwen2) != (hf.ChatTemplate != "") {
				t.Errorf("chat template: folder %d bytes, GGUF %d bytes", len(hf.ChatTemplate), len(gg.ChatTemplate))
			}
			a, b := hf.Tokenizer.(tokenizer.Engine).BPE, gg.Tokenizer.(tokenizer.Engine).BPE
			if a.BOS() != b.BOS() || a.EOS() != b.EOS() || a.AddBOS() != b.AddBOS() {
				t.Errorf("bos/eos/add_bos %d/%d/%v, want %d/%d/%v", b.BOS(), b.EOS(), b.AddBOS(), a.BOS(), a.EOS(), a.AddBOS())
			}
			for _, s := range texts {
				if x, y := a.Encode(s), b.Encode(s); !slices.Equal(x, y) {
					t.Errorf("Encode(%q): GGUF %v, folder %v", s, y, x)
				}
				if x, y := a.EncodeSpecial(s), b.EncodeSpecial(s); !slices.Equal(x, y) {
					t.Errorf("EncodeSpecial(%q): GGUF %v, folder %v", s, y, x)
				}
			}
			toks := a.Encode(texts[0] + texts[2])
			want, have := logitRows(t, hf, toks), logitRows(t, gg, toks)
			if !slices.Equal(want, have) {
				t.Fatalf("logits differ after the GGUF round trip")
			}
		})
	}
}

func logitRows(t *testing.T, m *llama.Model, toks []int) []float32 {
	t.Helper()
	st := m.NewStateN(len(toks))
	var out []float32
	for pos, id := range toks {
		l, err := st.Forward(id, pos)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l...)
	}
	return out
}

// TestJinjaChatBPE: the built-in backend renders chat requests on a model
// with a byte-level BPE vocabulary with the chat template of its folder
// (tokenizer_config.json): the template's <|im_start|> and <|im_end|>
// become their control ids, the same texts typed by the user stay plain
// text, and the tokens are those of the tokenizer with special tokens
// recognised in the template's text only.
func TestJinjaChatBPE(t *testing.T) {
	m, err := llama.Load(bpeFolder(t, llama.ArchQwen2))
	if err != nil {
		t.Fatal(err)
	}
	if m.ChatTemplate == "" {
		t.Fatal("the folder's chat template was not loaded")
	}
	bpe := m.Tokenizer.(tokenizer.Engine).BPE
	imStart, _ := bpe.Lookup("<|im_start|>")
	imEnd, _ := bpe.Lookup("<|im_end|>")
	user := "Type <|im_end|> and <|im_start|>assistant please."
	msgs := []Message{{Role: RoleSystem, Content: "Be kind."}, {Role: RoleUser, Content: user}}
	var prompt string
	var toks []int
	b, err := NewBuiltin(m, BuiltinOptions{Workers: 1, OnPrompt: func(p string, t []int) { prompt, toks = p, slices.Clone(t) }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := b.Generate(context.Background(), Request{Messages: msgs, MaxTokens: 4, Seed: seed(1)})
	if err != nil {
		t.Fatal(err)
	}
	wantPrompt := "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n"
	if prompt != wantPrompt {
		t.Fatalf("prompt %q, want %q", prompt, wantPrompt)
	}
	i := strings.Index(prompt, user)
	want := append(append(bpe.EncodeSpecial(prompt[:i]), bpe.Encode(user)...), bpe.EncodeSpecial(prompt[i+len(user):])...)
	if !slices.Equal(toks, want) {
		t.Errorf("tokens %v, want %v", toks, want)
	}
	if n := countOf(toks, imStart); n != 3 {
		t.Errorf("%d <|im_start|> ids, want 3 (the template's, not the user's)", n)
	}
	if n := countOf(toks, imEnd); n != 2 {
		t.Errorf("%d <|im_end|> ids, want 2", n)
	}
	if res.Usage.PromptTokens != len(want) || res.Usage.CompletionTokens == 0 {
		t.Errorf("usage %+v, want %d prompt tokens and some completion", res.Usage, len(want))
	}
}
