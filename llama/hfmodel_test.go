package llama

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// seqLogits returns the logits of every position of tokens.
func seqLogits(t *testing.T, m *Model, tokens []int) []float32 {
	t.Helper()
	s := m.NewState()
	var out []float32
	for pos, tok := range tokens {
		l, err := s.Forward(tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l...)
	}
	return out
}

var parityTokens = []int{5, 17, 299, 0, 42, 42, 7, 150}

// TestSaveHFRoundTrip saves each family as a Hugging Face folder and loads
// it back: the logits must be bit-identical.
func TestSaveHFRoundTrip(t *testing.T) {
	for name, cfg := range parityConfigs(t) {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 5)
			dir := t.TempDir()
			if err := m.SaveHF(dir); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir) // through the generic loader
			if err != nil {
				t.Fatal(err)
			}
			if back.Config != m.Config {
				t.Fatalf("config %+v, want %+v", back.Config, m.Config)
			}
			want, got := seqLogits(t, m, parityTokens), seqLogits(t, back, parityTokens)
			if !slices.Equal(got, want) {
				t.Fatal("logits differ after SaveHF and LoadHF")
			}
		})
	}
}

// halfBits rounds v to IEEE half precision (round to nearest even; the
// test values are normal numbers well inside the f16 range).
func halfBits(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	if exp <= 0 {
		return sign // flush tiny values to zero
	}
	h := uint32(exp)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

func halfToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	if exp == 0 {
		return math.Float32frombits(sign) // only zeros are produced by halfBits
	}
	return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
}

// bf16Bits truncates v to bfloat16 with round to nearest even.
func bf16Bits(v float32) uint16 {
	b := math.Float32bits(v)
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// writeSTTyped writes tensors in dtype (F16 or BF16) as a safetensors
// file, written independently of WriteSafetensors, and returns the values
// as the file holds them.
func writeSTTyped(t *testing.T, path, dtype string, ts []NamedTensor) map[string][]float32 {
	t.Helper()
	header := map[string]any{}
	var data []byte
	rounded := map[string][]float32{}
	for _, tn := range ts {
		begin := len(data)
		r := make([]float32, len(tn.Data))
		for i, v := range tn.Data {
			var h uint16
			if dtype == "F16" {
				h = halfBits(v)
				r[i] = halfToF32(h)
			} else {
				h = bf16Bits(v)
				r[i] = math.Float32frombits(uint32(h) << 16)
			}
			data = binary.LittleEndian.AppendUint16(data, h)
		}
		rounded[tn.Name] = r
		header[tn.Name] = map[string]any{"dtype": dtype, "shape": tn.Shape, "data_offsets": []int{begin, len(data)}}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hb)))
	buf.Write(hb)
	buf.Write(data)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return rounded
}

// TestLoadHFHalfAndSharded writes a qwen2 checkpoint as F16 and BF16
// tensors split over two shards with a model.safetensors.index.json; the
// loaded model must hold exactly the rounded values (its logits equal
// those of an F32 checkpoint of the rounded values).
func TestLoadHFHalfAndSharded(t *testing.T) {
	cfg := parityConfigs(t)["qwen2-gqa-bias"]
	m := randomModel(t, cfg, 9)
	for _, dtype := range []string{"F16", "BF16"} {
		t.Run(dtype, func(t *testing.T) {
			dir := t.TempDir()
			if err := m.SaveHF(dir); err != nil {
				t.Fatal(err)
			}
			ts, err := m.HFTensors(m.Params())
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, "model.safetensors"))
			half := len(ts) / 2
			shards := [][]NamedTensor{ts[:half], ts[half:]}
			weightMap := map[string]string{}
			rounded := map[string][]float32{}
			for i, sh := range shards {
				fn := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
				for k, v := range writeSTTyped(t, filepath.Join(dir, fn), dtype, sh) {
					rounded[k] = v
					weightMap[k] = fn
				}
			}
			writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
			got, err := LoadHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			// The reference: the rounded values as an F32 checkpoint.
			ref := t.TempDir()
			for i := range ts {
				ts[i].Data = rounded[ts[i].Name]
			}
			writeST(t, filepath.Join(ref, "model.safetensors"), ts)
			cj, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(filepath.Join(ref, "config.json"), cj, 0o644)
			want, err := LoadHF(ref)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Params(), want.Params()) {
				t.Fatal("parameters of the sharded half-precision checkpoint differ from the rounded values")
			}
			if !slices.Equal(seqLogits(t, got, parityTokens), seqLogits(t, want, parityTokens)) {
				t.Fatal("logits differ")
			}
			// Rounding changed the weights, so the logits must differ from
			// the f32 model's (the check above is not vacuous).
			if slices.Equal(seqLogits(t, got, parityTokens), seqLogits(t, m, parityTokens)) {
				t.Fatal("half-precision weights gave the f32 logits")
			}
		})
	}
}

// TestLoadHFBadInput: each broken folder gives one error naming the
// problem; nothing panics.
func TestLoadHFBadInput(t *testing.T) {
	cfg := parityConfigs(t)["llama-gqa-untied"]
	good := t.TempDir()
	if err := randomModel(t, cfg, 1).SaveHF(good); err != nil {
		t.Fatal(err)
	}
	cfgJSON, _ := os.ReadFile(filepath.Join(good, "config.json"))
	weights, _ := os.ReadFile(filepath.Join(good, "model.safetensors"))
	editConfig := func(f func(map[string]any)) []byte {
		var c map[string]any
		if err := json.Unmarshal(cfgJSON, &c); err != nil {
			t.Fatal(err)
		}
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	cases := []struct {
		name    string
		config  []byte
		weights []byte
		want    []string
	}{
		{"shape disagrees with config", editConfig(func(c map[string]any) { c["intermediate_size"] = 96 }), weights,
			[]string{"mlp.gate_proj.weight", "shape", "config.json"}},
		{"truncated safetensors", cfgJSON, weights[:len(weights)-100], []string{"model.safetensors", "outside"}},
		{"truncated header", cfgJSON, weights[:20], []string{"model.safetensors", "header"}},
		{"unknown architecture", editConfig(func(c map[string]any) {
			c["model_type"] = "mistral"
			c["architectures"] = []string{"MistralForCausalLM"}
		}), weights, []string{`"mistral"`, "gpt2, llama, qwen2"}},
		{"unknown architecture class only", editConfig(func(c map[string]any) {
			delete(c, "model_type")
			c["architectures"] = []string{"PhiForCausalLM"}
		}), weights, []string{"PhiForCausalLM", "gpt2, llama, qwen2"}},
		{"missing tensor", cfgJSON, nil, []string{"model.safetensors"}},
		{"config not JSON", []byte("{"), weights, []string{"config.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "config.json"), tc.config, 0o644)
			if tc.weights != nil {
				os.WriteFile(filepath.Join(dir, "model.safetensors"), tc.weights, 0o644)
			}
			_, err := LoadHF(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(tc.name, "architecture") && !errors.Is(err, ErrUnsupportedArch) {
				t.Errorf("error %q does not wrap ErrUnsupportedArch", err)
			}
		})
	}
}

// FuzzReadSafetensors: the header parser returns a file or an error for
// any input, and every tensor it accepts lies inside the data.
func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, []NamedTensor{{Name: "a", Shape: []int64{2, 3}, Data: make([]float32, 6)}, {Name: "b", Shape: []int64{1}, Data: []float32{1}}}, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00{\"x\":{\"dtype\":\"F16\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ReadSafetensors(bytes.NewReader(data), int64(len(data)), "fuzz")
		if err != nil {
			return
		}
		for _, ts := range st.Tensors {
			if ts.Begin < 0 || ts.End > int64(len(data)) || ts.End < ts.Begin {
				t.Fatalf("tensor %q: offsets [%d, %d) outside %d bytes", ts.Name, ts.Begin, ts.End, len(data))
			}
			if n := ts.NumElements(); n <= 1<<20 && (ts.DType == "F32" || ts.DType == "F16" || ts.DType == "BF16") {
				if err := st.ReadF32(ts, make([]float32, n)); err != nil {
					t.Fatalf("tensor %q accepted but unreadable: %v", ts.Name, err)
				}
			}
		}
	})
}

// TestLoadHFURIRefused: llama reads local paths only; an hf:// reference
// is an error saying where it is downloaded (package llm), and nothing is
// fetched.
func TestLoadHFURIRefused(t *testing.T) {
	_, err := Load("hf://me/tiny/sub")
	if err == nil || !strings.Contains(err.Error(), "llm.ResolveModel") {
		t.Fatalf("error %v, want one pointing at llm.ResolveModel", err)
	}
}
