package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// logitsAt runs tokens through m and returns a copy of the last logits.
func logitsAt(t testing.TB, m *Model, tokens []int) []float32 {
	t.Helper()
	st := m.NewState()
	var out []float32
	for pos, tok := range tokens {
		l, err := st.Forward(tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		out = slices.Clone(l)
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestLoadDispatchAndFormatsAgree(t *testing.T) {
	dir := modelDir(t)
	bin, err := Load(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if bin.sp() == nil {
		t.Fatal("Load did not find tok512.bin next to the checkpoint")
	}
	gg, err := Load(filepath.Join(dir, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}
	if bin.Config != want {
		t.Errorf("bin config %+v, want %+v (from SOURCE.md)", bin.Config, want)
	}
	c := gg.Config
	if c.Dim != want.Dim || c.HiddenDim != want.HiddenDim || c.NLayers != want.NLayers || c.NHeads != want.NHeads ||
		c.NKVHeads != want.NKVHeads || c.VocabSize != want.VocabSize || c.SeqLen != want.SeqLen {
		t.Errorf("gguf config %+v, want %+v", c, want)
	}
	// The GGUF stores the same tensors, with Q/K rows in the interleaved
	// RoPE order and a separate copy of the classifier.
	gg.mustF32()
	same := func(name string, a, b []float32) {
		if !slices.Equal(a, b) {
			t.Errorf("tensor %s differs between .bin and .gguf", name)
		}
	}
	same("token_embd", bin.w.tokEmb, gg.w.tokEmb)
	same("output", bin.w.wcls, gg.w.wcls)
	same("output_norm", bin.w.finalNorm, gg.w.finalNorm)
	for l := range bin.w.layers {
		a, b := bin.w.layers[l], gg.w.layers[l]
		for _, p := range []struct {
			name string
			x, y []float32
		}{{"attn_norm", a.attnNorm, b.attnNorm}, {"attn_q", a.wq, b.wq}, {"attn_k", a.wk, b.wk}, {"attn_v", a.wv, b.wv},
			{"attn_output", a.wo, b.wo}, {"ffn_norm", a.ffnNorm, b.ffnNorm}, {"ffn_gate", a.w1, b.w1}, {"ffn_down", a.w2, b.w2}, {"ffn_up", a.w3, b.w3}} {
			same(fmt.Sprintf("blk.%d.%s", l, p.name), p.x, p.y)
		}
	}
	toks := bin.sp().Encode("Once upon a time there was", true, false)
	if d := maxAbsDiff(logitsAt(t, bin, toks), logitsAt(t, gg, toks)); d != 0 {
		t.Errorf("bin and gguf logits differ by %g", d)
	}
}

// TestQuantizedGGUF re-encodes the reference weights with each tensor type
// and checks that the logits stay close to the float32 model, with a
// tolerance that follows the precision of the encoding.
func TestQuantizedGGUF(t *testing.T) {
	ref := loadBin(t)
	toks := ref.sp().Encode("Lily saw a big dog", true, false)
	want := logitsAt(t, ref, toks)
	spread := 0.0
	for _, v := range want {
		spread = max(spread, math.Abs(float64(v)))
	}
	cases := []struct {
		typ GGMLType
		tol float64 // relative to the largest |logit|
	}{
		{GGMLTypeF32, 0},
		{GGMLTypeF16, 0.002},
		{GGMLTypeBF16, 0.01},
		{GGMLTypeQ8_0, 0.03},
		{GGMLTypeQ4_0, 0.35},
	}
	for _, c := range cases {
		data := modelToGGUF(ref, c.typ)
		m, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("type %d: %v", c.typ, err)
		}
		got := logitsAt(t, m, toks)
		d := maxAbsDiff(got, want)
		t.Logf("type %d: max logit difference %g (spread %g)", c.typ, d, spread)
		if d > c.tol*spread {
			t.Errorf("type %d: logits differ by %g (limit %g)", c.typ, d, c.tol*spread)
		}
		if c.typ != GGMLTypeF32 && c.typ != GGMLTypeQ4_0 && Argmax(got) != Argmax(want) {
			t.Errorf("type %d: argmax %d, want %d", c.typ, Argmax(got), Argmax(want))
		}
	}
}

// TestBlockDecoding checks quantised blocks holding exactly representable
// values (multiples of a power-of-two scale) decode without error.
func TestBlockDecoding(t *testing.T) {
	cases := []struct {
		typ   GGMLType
		scale float32
		lo    int
	}{
		{GGMLTypeQ8_0, 0.25, -127},
		{GGMLTypeQ4_0, 0.5, -8},
		{GGMLTypeF16, 0.125, -100},
		{GGMLTypeBF16, 2, -50},
	}
	for _, c := range cases {
		x := make([]float32, 64)
		for i := range x {
			// Values spread over the representable range, incl. the extreme.
			k := c.lo + (i*7)%(-2*c.lo)
			if i%32 == 5 {
				k = c.lo
			}
			x[i] = float32(k) * c.scale
		}
		got := make([]float32, len(x))
		decodeBlocks(c.typ, encodeTensor(x, c.typ), got)
		if !slices.Equal(got, x) {
			t.Errorf("type %d: decoded %v, want %v", c.typ, got, x)
		}
	}
}

func TestF16Conversion(t *testing.T) {
	cases := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0}, {0x3C00, 1}, {0xC000, -2}, {0x3555, 0.33325195}, {0x7BFF, 65504},
		{0x0001, 5.9604645e-08}, {0x0400, 6.1035156e-05}, {0x7C00, float32(math.Inf(1))},
	}
	for _, c := range cases {
		if got := F16ToF32(c.h); got != c.f {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", c.h, got, c.f)
		}
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	// Every finite half value survives a round trip.
	for h := 0; h < 1<<16; h++ {
		if h&0x7C00 == 0x7C00 {
			continue
		}
		if got := F32ToF16(F16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
}

func TestLlama2cRoundTripAndSeparateClassifier(t *testing.T) {
	for _, shared := range []bool{true, false} {
		cfg := tinyConfig
		cfg.SharedClassifier = shared
		m := tinyModel(t, cfg, 7)
		data := modelToLlama2c(m)
		got, err := ReadLlama2c(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("shared=%v: %v", shared, err)
		}
		if got.Config.SharedClassifier != shared || !slices.Equal(got.params, m.params) {
			t.Errorf("shared=%v: weights or config differ after round trip", shared)
		}
		tokData := tokenizerToLlama2c(m.sp())
		tok, err := ParseLlama2cTokenizer(tokData, cfg.VocabSize)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tok.Vocab, m.sp().Vocab) || !slices.Equal(tok.Scores, m.sp().Scores) {
			t.Error("tokenizer differs after round trip")
		}
	}
}

func TestRopeLayoutConversion(t *testing.T) {
	for _, cfg := range []Config{tinyConfig, {Dim: 16, HiddenDim: 8, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 262, SeqLen: 8, RopeDim: 4, SharedClassifier: true}} {
		m := tinyModel(t, cfg, 3)
		toks := []int{1, 260, 261, 262 % cfg.VocabSize, 5}
		want := logitsAt(t, m, toks)
		wq := slices.Clone(m.w.layers[0].wq)
		m.ConvertRopeLayout(true)
		if !m.Config.RopeNeoX || slices.Equal(wq, m.w.layers[0].wq) {
			t.Fatal("conversion to rotate-half layout did not permute the weights")
		}
		if d := maxAbsDiff(logitsAt(t, m, toks), want); d > 1e-5 {
			t.Errorf("rope dim %d: rotate-half logits differ by %g", cfg.RopeDim, d)
		}
		m.ConvertRopeLayout(false)
		if !slices.Equal(wq, m.w.layers[0].wq) {
			t.Error("converting back did not restore the weights")
		}
	}
}

func TestLoadLlama2cErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 1)
	valid := modelToLlama2c(m)
	header := func(h ...int32) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, h)
		return append(b.Bytes(), valid[28:]...)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"partial header", valid[:20], "too short"},
		{"header only", valid[:28], "needs"},
		{"truncated weights", valid[:len(valid)/2], "needs"},
		{"missing last byte", valid[:len(valid)-1], "needs"},
		{"absurd dim", header(1<<30, 12, 2, 2, 1, 262, 16), "out of range"},
		{"huge model", header(1<<20, 1<<20, 1<<10, 2, 1, 262, 16), "parameters"},
		{"zero layers", header(8, 12, 0, 2, 1, 262, 16), "out of range"},
		{"negative seq_len", header(8, 12, 2, 2, 1, 262, -16), "out of range"},
		{"heads do not divide dim", header(8, 12, 2, 3, 1, 262, 16), "divisible"},
		{"more kv heads than heads", header(8, 12, 2, 2, 4, 262, 16), "multiple"},
		{"min int vocab", header(8, 12, 2, 2, 1, math.MinInt32, 16), "out of range"},
		{"versioned export", header(0x616b3432, 1, 64, 172, 5, 8, 4), "not supported"},
		{"gguf-like bytes", append([]byte("GGUX"), valid[4:]...), "out of range"},
	}
	for _, c := range cases {
		_, err := ReadLlama2c(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// The file-based entry point wraps errors with the path.
	path := filepath.Join(t.TempDir(), "bad.bin")
	if err := os.WriteFile(path, valid[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of truncated file: %v", err)
	}
}

func TestLlama2cTokenizerErrors(t *testing.T) {
	valid := tokenizerToLlama2c(tinyModel(t, tinyConfig, 1).sp())
	negLen := slices.Clone(valid)
	binary.LittleEndian.PutUint32(negLen[8:], uint32(0xFFFFFFF0))
	hugeLen := slices.Clone(valid)
	binary.LittleEndian.PutUint32(hugeLen[8:], 1<<30)
	cases := []struct {
		name  string
		data  []byte
		vocab int
	}{
		{"empty", nil, 262},
		{"truncated", valid[:len(valid)-3], 262},
		{"too many tokens", valid, 263},
		{"negative length", negLen, 262},
		{"huge length", hugeLen, 262},
		{"zero vocab", valid, 0},
		{"absurd vocab", valid, 1 << 30},
	}
	for _, c := range cases {
		if _, err := ParseLlama2cTokenizer(c.data, c.vocab); err == nil {
			t.Errorf("%s: expected an error", c.name)
		}
	}
}

func TestLoadGGUFErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 1)
	valid := modelToGGUF(m, GGMLTypeF32)
	if _, err := ReadGGUF(bytes.NewReader(valid), int64(len(valid))); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	patch := func(off int, v uint64, size int) []byte {
		b := slices.Clone(valid)
		if size == 4 {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[off:], v)
		}
		return b
	}
	// Offsets inside the header: magic 0, version 4, n_tensors 8, n_kv 16,
	// first key length 24.
	firstKeyLen := 24
	keyLen := len("general.architecture")
	firstValLen := firstKeyLen + 8 + keyLen + 4 // string length of the value
	meta := func(kvs ...ggufKV) []byte {
		base := []ggufKV{{"general.architecture", "llama"}}
		return buildGGUF(3, append(base, kvs...), nil)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "magic"},
		{"wrong magic", append([]byte("GGUX"), valid[4:]...), "bad magic"},
		{"version 1", patch(4, 1, 4), "version"},
		{"version 99", patch(4, 99, 4), "version"},
		{"absurd tensor count", patch(8, 1<<62, 8), "cannot fit"},
		{"absurd kv count", patch(16, 1<<62, 8), "cannot fit"},
		{"absurd key length", patch(firstKeyLen, 1<<62, 8), "exceeds file"},
		{"absurd string length", patch(firstValLen, 1<<40, 8), "exceeds file"},
		{"absurd array length", meta(ggufKV{"x", []float32{1, 2}}), ""},
		{"unknown value type", patch(firstKeyLen+8+keyLen, 77, 4), "unknown metadata value type"},
		{"truncated header", valid[:60], "cannot fit"},
		{"truncated metadata", valid[:900], "end of file"},
		{"truncated data", valid[:len(valid)-40], "beyond end of file"},
		{"not a known architecture", buildGGUF(3, []ggufKV{{"general.architecture", "falcon"}}, nil), "unsupported architecture"},
		{"no tensors", meta(), "missing tensor"},
		{"bad alignment", buildGGUF(3, []ggufKV{{"general.alignment", uint32(3)}}, nil), "alignment"},
	}
	// Make the float32 array claim 2^61 elements.
	arr := cases[8].data
	i := bytes.Index(arr, []byte{'x'})
	binary.LittleEndian.PutUint64(arr[i+1+4+4:], 1<<61)
	cases[8].want = "exceeds file"
	for _, c := range cases {
		_, err := ReadGGUF(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestGGUFTensorErrors corrupts tensor infos of a valid file.
func TestGGUFTensorErrors(t *testing.T) {
	m := tinyModel(t, tinyConfig, 1)
	data := modelToGGUF(m, GGMLTypeF32)
	g, err := ReadGGUFHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	emb := g.Tensors[0]
	// Locate the first tensor info: name, n_dims, dims, type, offset.
	idx := bytes.Index(data, []byte(emb.Name))
	nd := idx + len(emb.Name)
	dim0 := nd + 4
	typOff := dim0 + 8*len(emb.Dims)
	offOff := typOff + 4
	patch := func(off int, v uint64, size int) []byte {
		b := slices.Clone(data)
		if size == 4 {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[off:], v)
		}
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"zero dims", patch(nd, 0, 4), "dimensions"},
		{"five dims", patch(nd, 5, 4), "dimensions"},
		{"absurd dim", patch(dim0, 1<<50, 8), "absurd dimension"},
		{"zero dim", patch(dim0, 0, 8), "absurd dimension"},
		{"unknown type", patch(typOff, 99, 4), "unsupported tensor type"},
		{"misaligned offset", patch(offOff, 3, 8), "not aligned"},
		{"offset beyond file", patch(offOff, 1<<40, 8), "beyond end of file"},
		{"wrong shape", patch(dim0, 4, 8), "dimensions"},
	}
	for _, c := range cases {
		_, err := ReadGGUF(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Every strict prefix of a valid file is rejected without panicking.
	for n := 0; n < len(data); n += 7 {
		if _, err := ReadGGUF(bytes.NewReader(data[:n]), int64(n)); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.gguf")
	if err := os.WriteFile(path, patch(typOff, 99, 4), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "read gguf") || !strings.Contains(err.Error(), emb.Name) {
		t.Errorf("Load error %v should name the file and tensor", err)
	}
}

func TestGGUFMetadataTypes(t *testing.T) {
	kvs := []ggufKV{
		{"u8", uint8(200)}, {"i8", int8(-5)}, {"u16", uint16(60000)}, {"i16", int16(-300)},
		{"u32", uint32(4000000000)}, {"i32", int32(-7)}, {"f32", float32(1.5)}, {"b", true},
		{"s", "héllo"}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 2.25},
		{"as", []string{"a", "", "ccc"}}, {"af", []float32{1, -1}}, {"ai", []int32{3, -3}},
		{"au8", []uint8{1, 2, 3}}, {"nested", []any{[]int32{1, 2}, []int32{3}}},
	}
	data := buildGGUF(2, kvs, nil)
	g, err := ReadGGUFHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 2 || len(g.Metadata) != len(kvs) {
		t.Fatalf("version %d, %d keys", g.Version, len(g.Metadata))
	}
	for _, kv := range kvs {
		got := g.Metadata[kv.key]
		switch want := kv.val.(type) {
		case []string:
			if !slices.Equal(got.([]string), want) {
				t.Errorf("%s = %v, want %v", kv.key, got, want)
			}
		case []float32:
			if !slices.Equal(got.([]float32), want) {
				t.Errorf("%s = %v, want %v", kv.key, got, want)
			}
		case []int32:
			if !slices.Equal(got.([]int32), want) {
				t.Errorf("%s = %v, want %v", kv.key, got, want)
			}
		case []uint8:
			if !slices.Equal(got.([]uint8), want) {
				t.Errorf("%s = %v, want %v", kv.key, got, want)
			}
		case []any:
			a, ok := got.([]any)
			if !ok || len(a) != 2 || !slices.Equal(a[0].([]int32), []int32{1, 2}) || !slices.Equal(a[1].([]int32), []int32{3}) {
				t.Errorf("%s = %v, want %v", kv.key, got, want)
			}
		default:
			if got != kv.val {
				t.Errorf("%s = %v (%T), want %v (%T)", kv.key, got, got, kv.val, kv.val)
			}
		}
	}
}

// TestGGUFTokenizerMetadata loads tokenizer metadata written with other
// integer widths and checks optional keys and their validation.
func TestGGUFTokenizerMetadata(t *testing.T) {
	m := tinyModel(t, tinyConfig, 2)
	set := func(key string, val any) func([]ggufKV) []ggufKV {
		return func(kvs []ggufKV) []ggufKV {
			out := kvs[:0:0]
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
	u8types := make([]uint8, len(m.sp().Types))
	for i, v := range m.sp().Types {
		u8types[i] = uint8(v)
	}
	cases := []struct {
		name    string
		edit    func([]ggufKV) []ggufKV
		wantErr string
		check   func(*Model) bool
	}{
		{"uint8 token types", set("tokenizer.ggml.token_type", u8types), "",
			func(g *Model) bool { return slices.Equal(g.sp().Types, m.sp().Types) }},
		{"bos as uint64", set("tokenizer.ggml.bos_token_id", uint64(1)), "",
			func(g *Model) bool { return g.sp().BOS == 1 }},
		{"no scores", set("tokenizer.ggml.scores", nil), "",
			func(g *Model) bool { return g.sp().Scores[261] == 0 && m.sp().Scores[261] != 0 }},
		{"no vocabulary", set("tokenizer.ggml.tokens", nil), "",
			func(g *Model) bool { return g.sp() == nil }},
		{"gpt2 tokenizer without the BPE loader", set("tokenizer.ggml.model", "gpt2"), `"tokenizer.ggml.model": byte-level BPE vocabularies need package llm`, nil},
		{"unknown tokenizer", set("tokenizer.ggml.model", "t5"), "unsupported tokenizer model", nil},
		{"short scores", set("tokenizer.ggml.scores", []float32{1, 2}), "float32 values", nil},
		{"types not integers", set("tokenizer.ggml.token_type", []float32{1}), "integer values", nil},
		{"bos out of range", set("tokenizer.ggml.bos_token_id", uint32(5000)), "outside vocabulary", nil},
		{"bad epsilon", set("llama.attention.layer_norm_rms_epsilon", float32(-1)), "layer_norm_rms_epsilon", nil},
		{"string head count", set("llama.attention.head_count", "two"), "not an integer", nil},
		{"missing block count", set("llama.block_count", nil), "missing metadata", nil},
	}
	for _, c := range cases {
		data := modelToGGUF(m, GGMLTypeF32, c.edit)
		g, err := ReadGGUF(bytes.NewReader(data), int64(len(data)))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !c.check(g) {
			t.Errorf("%s: loaded tokenizer does not match", c.name)
		}
	}
}
