package llama

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// logitsOf runs the inference engine over tokens and returns all logits.
func logitsOf(t *testing.T, m *Model, tokens []int) []float32 {
	t.Helper()
	st := m.NewState()
	var out []float32
	for pos, tok := range tokens {
		l, err := st.Forward(tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l...)
	}
	return out
}

// fineTuned returns stories260K after a few training steps on short
// stories, so that its weights differ from the published checkpoint.
func fineTuned(t *testing.T) *Model {
	t.Helper()
	base := loadBin(t)
	m := newModel(base.Config, base.sp(), append([]float32(nil), base.params...))
	seqs, err := EncodeExamples(m.sp(), storyCorpus(16), true)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, seqs, nil, TrainConfig{BatchSize: 4, SeqLen: 48, Steps: 3, LR: 1e-3, ClipNorm: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Run(); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range m.params {
		if m.params[i] != base.params[i] {
			changed++
		}
	}
	if changed < len(m.params)/2 {
		t.Fatalf("fine-tuning changed only %d of %d weights", changed, len(m.params))
	}
	return m
}

// TestSaveLoadFineTuned saves a fine-tuned stories260K in both formats and
// checks that Load gives back the same weights, tokenizer and logits.
func TestSaveLoadFineTuned(t *testing.T) {
	m := fineTuned(t)
	toks := m.sp().Encode("Once upon a time, Lily saw a cat.", true, false)
	want := logitsOf(t, m, toks)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		save func(string) error
		file string
	}{
		{"llama2.c", m.SaveLlama2c, "ft.bin"},
		{"gguf", m.SaveGGUF, "ft.gguf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			if err := c.save(path); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if effective(got.Config) != effective(m.Config) {
				t.Errorf("config %+v, want %+v", got.Config, m.Config)
			}
			if got.sp() == nil {
				t.Fatal("tokenizer not restored")
			}
			for _, text := range []string{"The dog ran.", "Once upon a time, Lily saw a cat.\nÉtoile ✓"} {
				if !equalInts(got.sp().Encode(text, true, true), m.sp().Encode(text, true, true)) {
					t.Errorf("tokenizer encodes %q differently", text)
				}
			}
			got.mustF32()
			for i := range m.params {
				if got.params[i] != m.params[i] {
					t.Fatalf("weight %d: %g, want %g", i, got.params[i], m.params[i])
				}
			}
			gl := logitsOf(t, got, toks)
			for i := range want {
				if gl[i] != want[i] {
					t.Fatalf("logit %d: %g, want %g", i, gl[i], want[i])
				}
			}
		})
	}
}

// effective fills the defaults of a configuration.
func effective(c Config) Config {
	c.NormEps, c.RopeTheta, c.RopeDim, c.Arch = c.eps(), c.ropeTheta(), c.ropeDim(), c.Family()
	return c
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCheckpointRoundTrip writes random models of several shapes in both
// formats and reads them back from memory.
func TestCheckpointRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		legacy bool
	}{
		{"shared gqa", tinyConfig, true},
		{"separate classifier", Config{Dim: 8, HiddenDim: 6, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 270, SeqLen: 16}, true},
		{"neox rope", Config{Dim: 8, HiddenDim: 6, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 262, SeqLen: 16, RopeNeoX: true, SharedClassifier: true}, true},
		{"partial rope, eps, theta", Config{Dim: 16, HiddenDim: 10, NLayers: 1, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 16, RopeDim: 2, NormEps: 1e-6, RopeTheta: 500000, SharedClassifier: true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.cfg, 21)
			toks := []int{1, 40, 262 - 1, 7, 100, 3}
			want := logitsOf(t, m, toks)
			wantCfg := m.Config
			wantCfg.RopeNeoX = false // both formats store the interleaved layout
			check := func(got *Model) {
				t.Helper()
				if effective(got.Config) != effective(wantCfg) {
					t.Errorf("config %+v, want %+v", got.Config, wantCfg)
				}
				gl := logitsOf(t, got, toks)
				for i := range want {
					if math.Abs(float64(gl[i]-want[i])) > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("logit %d: %g, want %g", i, gl[i], want[i])
					}
				}
			}
			var buf bytes.Buffer
			if err := m.WriteGGUF(&buf); err != nil {
				t.Fatal(err)
			}
			got, err := ReadGGUF(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			check(got)
			if !equalInts(got.sp().Encode("the ab a", true, true), m.sp().Encode("the ab a", true, true)) {
				t.Error("GGUF tokenizer encodes differently")
			}
			buf.Reset()
			err = m.WriteLlama2c(&buf)
			if !c.legacy {
				if !errors.Is(err, errLegacyConfig) {
					t.Fatalf("llama2.c writer accepted %+v (err %v)", m.Config, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err = ReadLlama2c(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
				t.Fatal(err)
			}
			check(got)
			buf.Reset()
			if err := m.sp().WriteLlama2c(&buf); err != nil {
				t.Fatal(err)
			}
			tok, err := ParseLlama2cTokenizer(buf.Bytes(), m.Config.VocabSize)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tok.Vocab {
				if tok.Vocab[i] != m.sp().Vocab[i] || tok.Scores[i] != m.sp().Scores[i] {
					t.Fatalf("token %d: %q %g, want %q %g", i, tok.Vocab[i], tok.Scores[i], m.sp().Vocab[i], m.sp().Scores[i])
				}
			}
		})
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestCheckpointErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 3)
	if err := m.WriteGGUF(&failWriter{100}); err == nil {
		t.Error("GGUF write error not reported")
	}
	if err := m.WriteLlama2c(&failWriter{100}); err == nil {
		t.Error("llama2.c write error not reported")
	}
	if err := m.sp().WriteLlama2c(&failWriter{10}); err == nil {
		t.Error("tokenizer write error not reported")
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "m.bin")
	if err := m.SaveLlama2c(missing); err == nil {
		t.Error("save into a missing directory succeeded")
	}
	if err := m.SaveGGUF(missing); err == nil {
		t.Error("GGUF save into a missing directory succeeded")
	}
	tok, err := NewTokenizer([]string{"a", "b", "c"}, []float32{0, 0, 0}, nil, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.WriteLlama2c(&bytes.Buffer{}); err == nil {
		t.Error("tokenizer with BOS 0 written in llama2.c format")
	}
	// Inconsistent tokenizer tables are refused.
	broken := *m.sp()
	broken.Scores = broken.Scores[:5]
	if err := broken.WriteLlama2c(&bytes.Buffer{}); err == nil {
		t.Error("tokenizer with 5 scores written")
	}
	other := newModel(m.Config, &broken, m.params)
	if err := other.WriteGGUF(&bytes.Buffer{}); err == nil {
		t.Error("GGUF with an inconsistent tokenizer written")
	}
	// A failed save leaves no file behind.
	dir := t.TempDir()
	bad := tinyModel(t, Config{Dim: 16, HiddenDim: 10, NLayers: 1, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 16, NormEps: 1e-6, SharedClassifier: true}, 1)
	if err := bad.SaveLlama2c(filepath.Join(dir, "x.bin")); err == nil {
		t.Error("llama2.c save of a non-default epsilon succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed save left %d files", len(ents))
	}
}
