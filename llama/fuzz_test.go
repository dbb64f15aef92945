package llama

import (
	"bytes"
	"testing"
)

// exercise runs a loaded model briefly to make sure accepted inputs are
// usable, as long as the state is small.
func exercise(t *testing.T, m *Model) {
	c := m.Config
	if int64(c.NLayers)*int64(c.KVDim())*int64(min(c.SeqLen, 4)) > 1<<20 || c.NumParams() > 1<<22 {
		return
	}
	st := m.NewStateN(4)
	for pos := 0; pos < min(c.SeqLen, 3); pos++ {
		if _, err := st.Forward(pos%c.VocabSize, pos); err != nil {
			t.Fatalf("Forward on accepted model: %v", err)
		}
	}
	if m.sp() != nil {
		ids := m.sp().Encode("ab the é", true, true)
		_ = m.sp().Decode(ids)
	}
}

func FuzzLoadGGUF(f *testing.F) {
	m := tinyModel(f, tinyConfig, 11)
	valid := modelToGGUF(m, GGMLTypeF32)
	f.Add(valid)
	f.Add(modelToGGUF(m, GGMLTypeQ8_0)[:1500])
	f.Add(valid[:200])
	f.Add(buildGGUF(3, []ggufKV{{"general.architecture", "llama"}, {"a", []any{[]int32{1}}}}, nil))
	f.Add(buildGGUF(2, nil, []ggufTensor{{"token_embd.weight", []uint64{4, 2}, GGMLTypeF16, make([]byte, 16)}}))
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if m != nil {
				t.Fatal("model returned with an error")
			}
			return
		}
		exercise(t, m)
	})
}

func FuzzLoadLlama2c(f *testing.F) {
	m := tinyModel(f, tinyConfig, 12)
	f.Add(modelToLlama2c(m))
	cfg := tinyConfig
	cfg.SharedClassifier = false
	f.Add(modelToLlama2c(tinyModel(f, cfg, 13)))
	f.Add(modelToLlama2c(m)[:28])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadLlama2c(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(t, m)
		// The same bytes as a tokenizer file must not panic either.
		_, _ = ParseLlama2cTokenizer(data, 16)
	})
}
