package llama

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rewriteGGUF parses a valid GGUF file, applies edit to its metadata (in a
// fixed order: general.* first, then by key) and serialises it again with
// the same tensors.
func rewriteGGUF(t testing.TB, data []byte, edit func([]ggufKV) []ggufKV) []byte {
	t.Helper()
	g, err := ReadGGUFHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("rewriteGGUF: %v", err)
	}
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ga, gb := strings.HasPrefix(a, "general."), strings.HasPrefix(b, "general.")
		if ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	kvs := make([]ggufKV, len(keys))
	for i, k := range keys {
		kvs[i] = ggufKV{k, g.Metadata[k]}
	}
	kvs = edit(kvs)
	ts := make([]ggufTensor, len(g.Tensors))
	for i, ti := range g.Tensors {
		nb, err := g.tensorBytes(ti)
		if err != nil {
			t.Fatalf("rewriteGGUF: %v", err)
		}
		off := g.DataOffset + int64(ti.Offset)
		ts[i] = ggufTensor{ti.Name, ti.Dims, ti.Type, data[off : off+nb]}
	}
	return buildGGUF(g.Version, kvs, ts)
}

// setArch sets general.architecture to arch and renames the "llama." keys
// to "<arch>.", as a converter for that architecture would write them.
func setArch(arch string) func([]ggufKV) []ggufKV {
	return func(kvs []ggufKV) []ggufKV {
		out := make([]ggufKV, len(kvs))
		for i, kv := range kvs {
			if kv.key == "general.architecture" {
				kv.val = arch
			} else if rest, ok := strings.CutPrefix(kv.key, "llama."); ok && arch != "" {
				kv.key = arch + "." + rest
			}
			out[i] = kv
		}
		return out
	}
}

// setKV replaces (or, with val nil, removes) the metadata entry key.
func setKV(key string, val any) func([]ggufKV) []ggufKV {
	return func(kvs []ggufKV) []ggufKV {
		var out []ggufKV
		for _, kv := range kvs {
			if kv.key != key {
				out = append(out, kv)
			}
		}
		if val != nil {
			out = append(out, ggufKV{key, val})
		}
		return out
	}
}

// writeTemp writes data to name in dir and returns the path.
func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGGUFOtherArchitecture rewrites valid GGUF files (the tiny synthetic
// model and, when present, stories260K.gguf) to other architectures: each
// must be refused with one error that names the architecture (and the
// supported list) and the file. A llama file relabelled as gpt2 or qwen2
// (families the loader runs) is refused for what the family lacks.
func TestGGUFOtherArchitecture(t *testing.T) {
	sources := map[string][]byte{"tiny": modelToGGUF(tinyModel(t, tinyConfig, 31), GGMLTypeQ8_0)}
	if real, err := os.ReadFile(filepath.Join("..", "..", "shared", "models", "stories260K", "stories260K.gguf")); err == nil {
		sources["stories260K"] = real
	}
	const list = "(supported: gpt2, llama, qwen2)"
	cases := []struct {
		name string
		edit func([]ggufKV) []ggufKV
		want []string
	}{
		{"gpt2", setArch("gpt2"), []string{`gpt2 with`, "key/value heads"}},
		{"qwen2", setArch("qwen2"), []string{`missing tensor "blk.0.attn_q.bias" (architecture qwen2)`}},
		{"falcon", setArch("falcon"), []string{`unsupported architecture "falcon" ` + list}},
		{"upper case", setArch("LLaMA"), []string{`unsupported architecture "LLaMA" ` + list}},
		{"llama keys kept", setKV("general.architecture", "mpt"), []string{`unsupported architecture "mpt" ` + list}},
		{"empty", setArch(""), []string{`unsupported architecture "" ` + list}},
		{"missing", setKV("general.architecture", nil), []string{`missing metadata "general.architecture"`, "unsupported architecture"}},
		{"not a string", setKV("general.architecture", uint32(7)), []string{`"general.architecture": uint32 is not a string`, "unsupported architecture"}},
	}
	dir := t.TempDir()
	for src, valid := range sources {
		if _, err := ReadGGUF(bytes.NewReader(valid), int64(len(valid))); err != nil {
			t.Fatalf("%s: valid file rejected: %v", src, err)
		}
		// The rewriter itself preserves a loadable file.
		same := rewriteGGUF(t, valid, func(kvs []ggufKV) []ggufKV { return kvs })
		if _, err := ReadGGUF(bytes.NewReader(same), int64(len(same))); err != nil {
			t.Fatalf("%s: rewritten file rejected: %v", src, err)
		}
		for _, c := range cases {
			t.Run(src+"/"+c.name, func(t *testing.T) {
				data := rewriteGGUF(t, valid, c.edit)
				m, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
				if err == nil || m != nil {
					t.Fatalf("accepted (model %v, error %v)", m != nil, err)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				// Through the file loaders the error also names the file.
				path := writeTemp(t, dir, src+"-"+strings.ReplaceAll(c.name, " ", "_")+".gguf", data)
				for _, load := range []func(string) (*Model, error){LoadGGUF, Load} {
					_, err := load(path)
					if err == nil || !strings.HasPrefix(err.Error(), "read gguf "+path+": ") || !strings.Contains(err.Error(), c.want[0]) {
						t.Errorf("file error %v, want \"read gguf %s: ...%s\"", err, path, c.want[0])
					}
				}
			})
		}
	}
}

// tinyTokenizerOf returns the toy tokenizer of a tiny model with vocab
// tokens, in the llama2.c tokenizer format.
func tinyTokenizerOf(t testing.TB, vocab int) []byte {
	cfg := tinyConfig
	cfg.VocabSize = vocab
	return tokenizerToLlama2c(tinyModel(t, cfg, 1).sp())
}

// TestLlama2cTokenizerMismatch pairs a 262-token checkpoint with tokenizer
// files of other sizes: the error names both sizes and wraps
// ErrTokenizerMismatch; malformed files keep their own error.
func TestLlama2cTokenizerMismatch(t *testing.T) {
	m := tinyModel(t, tinyConfig, 32)
	dir := t.TempDir()
	bin := writeTemp(t, dir, "model.bin", modelToLlama2c(m))
	valid := tokenizerToLlama2c(m.sp())
	cases := []struct {
		name     string
		tok      []byte
		mismatch bool     // errors.Is(err, ErrTokenizerMismatch)
		want     []string // substrings of the error
	}{
		{"same size", valid, false, nil},
		{"larger vocabulary", tinyTokenizerOf(t, 300), true, []string{"file holds 300 tokens", "model vocabulary has 262"}},
		{"smaller vocabulary", tinyTokenizerOf(t, 261), true, []string{"file holds 261 tokens", "model vocabulary has 262"}},
		{"only bytes", tinyTokenizerOf(t, 259), true, []string{"file holds 259 tokens", "model vocabulary has 262"}},
		{"header only", valid[:4], true, []string{"file holds 0 tokens", "model vocabulary has 262"}},
		{"larger, then junk", append(tinyTokenizerOf(t, 300), 1, 2, 3), true, []string{"more than the 262 tokens", "token 300: truncated record"}},
		{"trailing bytes", append(slices.Clone(valid), 0, 0), true, []string{"more than the 262 tokens", "token 262: truncated record"}},
		{"truncated record", valid[:len(valid)-3], false, []string{"token 261: truncated record"}},
		{"truncated header", valid[:2], false, []string{"too short"}},
		{"negative max_token_length", append([]byte{0xff, 0xff, 0xff, 0xff}, valid[4:]...), false, []string{"negative max_token_length"}},
		{"max_token_length too small", append([]byte{1, 0, 0, 0}, valid[4:]...), false, []string{"exceeds max_token_length 1"}},
	}
	if real, err := os.ReadFile(filepath.Join("..", "..", "shared", "models", "stories260K", "tok512.bin")); err == nil {
		cases = append(cases, struct {
			name     string
			tok      []byte
			mismatch bool
			want     []string
		}{"stories260K tok512.bin", real, true, []string{"file holds 512 tokens", "model vocabulary has 262"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tokPath := writeTemp(t, dir, strings.ReplaceAll(c.name, " ", "_")+".tok", c.tok)
			got, err := LoadLlama2c(bin, tokPath)
			if c.want == nil {
				if err != nil || got.sp() == nil || got.sp().VocabSize() != 262 {
					t.Fatalf("valid pair rejected: %v", err)
				}
				return
			}
			if err == nil || got != nil {
				t.Fatalf("accepted (model %v, error %v)", got != nil, err)
			}
			if errors.Is(err, ErrTokenizerMismatch) != c.mismatch {
				t.Errorf("errors.Is(%v, ErrTokenizerMismatch) = %v, want %v", err, !c.mismatch, c.mismatch)
			}
			for _, w := range append(c.want, bin, tokPath) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Load finds tokenizer.bin beside the checkpoint and checks it too.
	sub := filepath.Join(dir, "auto")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	auto := writeTemp(t, sub, "model.bin", modelToLlama2c(m))
	writeTemp(t, sub, "tokenizer.bin", tinyTokenizerOf(t, 300))
	if _, err := Load(auto); !errors.Is(err, ErrTokenizerMismatch) || !strings.Contains(err.Error(), "300") || !strings.Contains(err.Error(), "262") {
		t.Errorf("Load with a mismatched tokenizer.bin: %v", err)
	}
}

// TestGGUFTokenizerMismatch gives a 262-row embedding a vocabulary of
// another size (tokens, scores and types consistent with each other).
func TestGGUFTokenizerMismatch(t *testing.T) {
	m := tinyModel(t, tinyConfig, 33)
	vocabOf := func(n int) func([]ggufKV) []ggufKV {
		cfg := tinyConfig
		cfg.VocabSize = n
		tok := tinyModel(t, cfg, 1).sp()
		words := make([]string, n)
		for i, s := range tok.Vocab {
			words[i] = replaceSpaces(s)
		}
		return func(kvs []ggufKV) []ggufKV {
			kvs = setKV("tokenizer.ggml.tokens", words)(kvs)
			kvs = setKV("tokenizer.ggml.scores", tok.Scores)(kvs)
			return setKV("tokenizer.ggml.token_type", tok.Types)(kvs)
		}
	}
	valid := modelToGGUF(m, GGMLTypeF32)
	for _, sep := range []bool{false, true} {
		cfg := tinyConfig
		cfg.SharedClassifier = !sep
		sm := tinyModel(t, cfg, 34)
		cases := []struct {
			name string
			data []byte
			want []string
		}{
			{"larger", rewriteGGUF(t, modelToGGUF(sm, GGMLTypeF32), vocabOf(300)), []string{`"tokenizer.ggml.tokens" holds 300 tokens`, `"token_embd.weight" has 262 rows`}},
			{"smaller", rewriteGGUF(t, modelToGGUF(sm, GGMLTypeQ8_0), vocabOf(259)), []string{`"tokenizer.ggml.tokens" holds 259 tokens`, `"token_embd.weight" has 262 rows`}},
			{"one token", modelToGGUF(sm, GGMLTypeF32, setKV("tokenizer.ggml.tokens", []string{"a"}), setKV("tokenizer.ggml.scores", nil), setKV("tokenizer.ggml.token_type", nil), setKV("tokenizer.ggml.bos_token_id", uint32(0)), setKV("tokenizer.ggml.eos_token_id", uint32(0))), []string{"holds 1 tokens", "has 262 rows"}},
		}
		for _, c := range cases {
			t.Run(c.name+"/separate classifier "+strconv.FormatBool(sep), func(t *testing.T) {
				got, err := ReadGGUF(bytes.NewReader(c.data), int64(len(c.data)))
				if err == nil || got != nil {
					t.Fatalf("accepted (model %v, error %v)", got != nil, err)
				}
				if !errors.Is(err, ErrTokenizerMismatch) {
					t.Errorf("error %v does not wrap ErrTokenizerMismatch", err)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			})
		}
	}
	if _, err := ReadGGUF(bytes.NewReader(valid), int64(len(valid))); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
}

// TestLlama2cCorruptedHeader changes header fields of a valid checkpoint
// (and appends or removes bytes): a header that no longer describes the
// file's size is one clear error, never a model with shifted weights.
func TestLlama2cCorruptedHeader(t *testing.T) {
	for _, shared := range []bool{true, false} {
		cfg := tinyConfig
		cfg.SharedClassifier = shared
		valid := modelToLlama2c(tinyModel(t, cfg, 35))
		field := func(i int, v int32) []byte {
			b := slices.Clone(valid)
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
			return b
		}
		vocab := int32(262)
		if !shared {
			vocab = -262
		}
		cases := []struct {
			name string
			data []byte
			want string
		}{
			{"valid", valid, ""},
			{"one layer fewer", field(2, 1), "needs exactly"},
			{"smaller hidden_dim", field(1, 8), "needs exactly"},
			{"smaller vocabulary", field(5, vocab/2), "needs exactly"},
			{"shorter seq_len", field(6, 8), "needs exactly"},
			{"one layer more", field(2, 3), "needs"},
			{"trailing bytes", append(slices.Clone(valid), 0, 0, 0, 0), "4 extra bytes"},
			{"one trailing byte", append(slices.Clone(valid), 0), "1 extra bytes"},
			{"last float missing", valid[:len(valid)-4], "needs"},
		}
		if shared {
			// Turning the shared classifier into a separate one needs more.
			cases = append(cases, struct {
				name string
				data []byte
				want string
			}{"negated vocabulary", field(5, -vocab), "needs"})
		} else {
			cases = append(cases, struct {
				name string
				data []byte
				want string
			}{"negated vocabulary", field(5, -vocab), "extra bytes"})
		}
		for _, c := range cases {
			t.Run(c.name+"/shared "+strconv.FormatBool(shared), func(t *testing.T) {
				m, err := ReadLlama2c(bytes.NewReader(c.data), int64(len(c.data)))
				if c.want == "" {
					if err != nil {
						t.Fatalf("valid checkpoint rejected: %v", err)
					}
					return
				}
				if err == nil || m != nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %v (model %v), want one containing %q", err, m != nil, c.want)
				}
			})
		}
	}
}
