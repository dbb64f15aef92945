package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Test-only encoders for GGUF and llama2.c files, used to build valid
// inputs (then corrupted) and fuzz seeds.

type ggufKV struct {
	key string
	val any
}

type ggufTensor struct {
	name string
	dims []uint64
	typ  GGMLType
	data []byte
}

func putValue(buf *bytes.Buffer, v any, withType bool) {
	le := binary.LittleEndian
	typ := func(t uint32) {
		if withType {
			binary.Write(buf, le, t)
		}
	}
	switch x := v.(type) {
	case uint8:
		typ(ggufUint8)
		buf.WriteByte(x)
	case int8:
		typ(ggufInt8)
		buf.WriteByte(byte(x))
	case uint16:
		typ(ggufUint16)
		binary.Write(buf, le, x)
	case int16:
		typ(ggufInt16)
		binary.Write(buf, le, x)
	case uint32:
		typ(ggufUint32)
		binary.Write(buf, le, x)
	case int32:
		typ(ggufInt32)
		binary.Write(buf, le, x)
	case float32:
		typ(ggufFloat32)
		binary.Write(buf, le, x)
	case bool:
		typ(ggufBool)
		if x {
			buf.WriteByte(1)
		} else {
			buf.WriteByte(0)
		}
	case string:
		typ(ggufString)
		binary.Write(buf, le, uint64(len(x)))
		buf.WriteString(x)
	case uint64:
		typ(ggufUint64)
		binary.Write(buf, le, x)
	case int64:
		typ(ggufInt64)
		binary.Write(buf, le, x)
	case float64:
		typ(ggufFloat64)
		binary.Write(buf, le, x)
	case []string:
		putArray(buf, ggufString, len(x), withType, func(i int) any { return x[i] })
	case []float32:
		putArray(buf, ggufFloat32, len(x), withType, func(i int) any { return x[i] })
	case []int32:
		putArray(buf, ggufInt32, len(x), withType, func(i int) any { return x[i] })
	case []uint8:
		putArray(buf, ggufUint8, len(x), withType, func(i int) any { return x[i] })
	case []any: // array of arrays; elements must be arrays
		putArray(buf, ggufArray, len(x), withType, func(i int) any { return x[i] })
	default:
		panic(fmt.Sprintf("putValue: unsupported %T", v))
	}
}

func putArray(buf *bytes.Buffer, et uint32, n int, withType bool, at func(int) any) {
	if withType {
		binary.Write(buf, binary.LittleEndian, uint32(ggufArray))
	}
	binary.Write(buf, binary.LittleEndian, et)
	binary.Write(buf, binary.LittleEndian, uint64(n))
	for i := 0; i < n; i++ {
		v := at(i)
		if et == ggufArray {
			// nested arrays are written without their own type tag
			putValue(buf, v, false)
			continue
		}
		putValue(buf, v, false)
	}
}

// buildGGUF serialises a GGUF file with 32-byte alignment.
func buildGGUF(version uint32, kvs []ggufKV, tensors []ggufTensor) []byte {
	const align = 32
	var buf bytes.Buffer
	le := binary.LittleEndian
	buf.WriteString("GGUF")
	binary.Write(&buf, le, version)
	binary.Write(&buf, le, uint64(len(tensors)))
	binary.Write(&buf, le, uint64(len(kvs)))
	for _, kv := range kvs {
		putValue(&buf, kv.key, false)
		putValue(&buf, kv.val, true)
	}
	off := uint64(0)
	offs := make([]uint64, len(tensors))
	for i, t := range tensors {
		putValue(&buf, t.name, false)
		binary.Write(&buf, le, uint32(len(t.dims)))
		for _, d := range t.dims {
			binary.Write(&buf, le, d)
		}
		binary.Write(&buf, le, uint32(t.typ))
		binary.Write(&buf, le, off)
		offs[i] = off
		off += (uint64(len(t.data)) + align - 1) / align * align
	}
	for buf.Len()%align != 0 {
		buf.WriteByte(0)
	}
	for _, t := range tensors {
		buf.Write(t.data)
		for buf.Len()%align != 0 {
			buf.WriteByte(0)
		}
	}
	return buf.Bytes()
}

// encodeTensor encodes float32 values with the given GGML type.
func encodeTensor(x []float32, typ GGMLType) []byte {
	var buf bytes.Buffer
	le := binary.LittleEndian
	switch typ {
	case GGMLTypeF32:
		binary.Write(&buf, le, x)
	case GGMLTypeF16:
		for _, v := range x {
			binary.Write(&buf, le, F32ToF16(v))
		}
	case GGMLTypeBF16:
		for _, v := range x {
			binary.Write(&buf, le, uint16(math.Float32bits(v)>>16))
		}
	case GGMLTypeQ8_0:
		for b := 0; b < len(x); b += 32 {
			blk := x[b : b+32]
			var amax float32
			for _, v := range blk {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			d := amax / 127
			dh := F32ToF16(d)
			binary.Write(&buf, le, dh)
			for _, v := range blk {
				q := 0.0
				if d != 0 {
					q = math.Round(float64(v / d))
				}
				buf.WriteByte(byte(int8(q)))
			}
		}
	case GGMLTypeQ4_0:
		for b := 0; b < len(x); b += 32 {
			blk := x[b : b+32]
			var amax, mx float32
			for _, v := range blk {
				if a := float32(math.Abs(float64(v))); a > amax {
					amax, mx = a, v
				}
			}
			d := mx / -8
			var id float32
			if d != 0 {
				id = 1 / d
			}
			binary.Write(&buf, le, F32ToF16(d))
			for i := 0; i < 16; i++ {
				q0 := min(15, int(blk[i]*id+8.5))
				q1 := min(15, int(blk[i+16]*id+8.5))
				buf.WriteByte(byte(q0) | byte(q1)<<4)
			}
		}
	default:
		panic("encodeTensor: unsupported type")
	}
	return buf.Bytes()
}

// modelToGGUF serialises m (weights with type typ for matrices, f32 for
// norms) and its tokenizer as a GGUF v3 llama file.
func modelToGGUF(m *Model, typ GGMLType, edits ...func([]ggufKV) []ggufKV) []byte {
	c := m.Config
	w := m.w
	tok := m.sp()
	vocab := make([]string, len(tok.Vocab))
	for i, s := range tok.Vocab {
		vocab[i] = s
		if tok.isByte[i] < 0 {
			vocab[i] = replaceSpaces(s)
		}
	}
	kvs := []ggufKV{
		{"general.architecture", "llama"},
		{"general.name", "test"},
		{"llama.context_length", uint32(c.SeqLen)},
		{"llama.embedding_length", uint32(c.Dim)},
		{"llama.feed_forward_length", uint32(c.HiddenDim)},
		{"llama.block_count", uint32(c.NLayers)},
		{"llama.attention.head_count", uint32(c.NHeads)},
		{"llama.attention.head_count_kv", uint32(c.NKVHeads)},
		{"llama.rope.dimension_count", uint32(c.ropeDim())},
		{"llama.attention.layer_norm_rms_epsilon", c.eps()},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", vocab},
		{"tokenizer.ggml.scores", tok.Scores},
		{"tokenizer.ggml.token_type", tok.Types},
		{"tokenizer.ggml.bos_token_id", uint32(tok.BOS)},
		{"tokenizer.ggml.eos_token_id", uint32(tok.EOS)},
	}
	for _, e := range edits {
		kvs = e(kvs)
	}
	dim, hid := uint64(c.Dim), uint64(c.HiddenDim)
	qd, kvd, v := uint64(c.NHeads*c.HeadSize()), uint64(c.KVDim()), uint64(c.VocabSize)
	mat := func(name string, x []float32, dims ...uint64) ggufTensor {
		t := typ
		if len(dims) == 1 || dims[0]%32 != 0 && (typ == GGMLTypeQ8_0 || typ == GGMLTypeQ4_0) {
			t = GGMLTypeF32
		}
		return ggufTensor{name, dims, t, encodeTensor(x, t)}
	}
	ts := []ggufTensor{mat("token_embd.weight", w.tokEmb, dim, v)}
	for l, lw := range w.layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			mat(p+"attn_norm.weight", lw.attnNorm, dim),
			mat(p+"attn_q.weight", lw.wq, dim, qd),
			mat(p+"attn_k.weight", lw.wk, dim, kvd),
			mat(p+"attn_v.weight", lw.wv, dim, kvd),
			mat(p+"attn_output.weight", lw.wo, qd, dim),
			mat(p+"ffn_norm.weight", lw.ffnNorm, dim),
			mat(p+"ffn_gate.weight", lw.w1, dim, hid),
			mat(p+"ffn_down.weight", lw.w2, hid, dim),
			mat(p+"ffn_up.weight", lw.w3, dim, hid),
		)
	}
	ts = append(ts, mat("output_norm.weight", w.finalNorm, dim))
	if !c.SharedClassifier {
		ts = append(ts, mat("output.weight", w.wcls, dim, v))
	}
	return buildGGUF(3, kvs, ts)
}

func replaceSpaces(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if r == ' ' {
			b.WriteString("\u2581")
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// modelToLlama2c serialises m as a llama2.c legacy checkpoint.
func modelToLlama2c(m *Model) []byte {
	c := m.Config
	var buf bytes.Buffer
	le := binary.LittleEndian
	vocab := int32(c.VocabSize)
	if !c.SharedClassifier {
		vocab = -vocab
	}
	binary.Write(&buf, le, []int32{int32(c.Dim), int32(c.HiddenDim), int32(c.NLayers), int32(c.NHeads), int32(c.NKVHeads), vocab, int32(c.SeqLen)})
	w := m.w
	binary.Write(&buf, le, w.tokEmb)
	for _, sel := range []func(layerWeights) []float32{
		func(l layerWeights) []float32 { return l.attnNorm },
		func(l layerWeights) []float32 { return l.wq },
		func(l layerWeights) []float32 { return l.wk },
		func(l layerWeights) []float32 { return l.wv },
		func(l layerWeights) []float32 { return l.wo },
		func(l layerWeights) []float32 { return l.ffnNorm },
		func(l layerWeights) []float32 { return l.w1 },
		func(l layerWeights) []float32 { return l.w2 },
		func(l layerWeights) []float32 { return l.w3 },
	} {
		for _, lw := range w.layers {
			binary.Write(&buf, le, sel(lw))
		}
	}
	binary.Write(&buf, le, w.finalNorm)
	binary.Write(&buf, le, make([]float32, c.SeqLen*c.HeadSize())) // RoPE tables (unused)
	if !c.SharedClassifier {
		binary.Write(&buf, le, w.wcls)
	}
	return buf.Bytes()
}

// tokenizerToLlama2c serialises a tokenizer in the llama2.c format.
func tokenizerToLlama2c(tok *Tokenizer) []byte {
	var buf bytes.Buffer
	le := binary.LittleEndian
	maxLen := 0
	for _, s := range tok.Vocab {
		maxLen = max(maxLen, len(s))
	}
	binary.Write(&buf, le, int32(maxLen))
	for i, s := range tok.Vocab {
		binary.Write(&buf, le, tok.Scores[i])
		binary.Write(&buf, le, int32(len(s)))
		buf.WriteString(s)
	}
	return buf.Bytes()
}

// tinyConfig is a small model used for synthetic files.
var tinyConfig = Config{Dim: 8, HiddenDim: 12, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 262, SeqLen: 16, SharedClassifier: true}

// tinyModel returns a model with random weights (fixed seed) and a toy
// tokenizer with byte fallback.
func tinyModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	extra := []string{" ", "a", " a", "b", "ab", "the", " the"}
	for i := 0; len(vocab) < cfg.VocabSize; i++ {
		if i < len(extra) {
			vocab = append(vocab, extra[i])
		} else {
			vocab = append(vocab, fmt.Sprintf("w%d", i))
		}
	}
	vocab = vocab[:cfg.VocabSize]
	scores := make([]float32, len(vocab))
	for i := range scores {
		scores[i] = -float32(i)
	}
	tok, err := NewTokenizer(vocab, scores, nil, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range m.params {
		m.params[i] = float32(rng.NormFloat64() * 0.5)
	}
	for _, lw := range m.w.layers {
		for i := range lw.attnNorm {
			lw.attnNorm[i] = 1 + 0.1*float32(rng.NormFloat64())
			lw.ffnNorm[i] = 1 + 0.1*float32(rng.NormFloat64())
		}
	}
	return m
}

// TestWriteGGUFFileType: written files declare general.file_type 0
// (ALL_F32, the type of every tensor), which llama.cpp's quantiser needs.
func TestWriteGGUFFileType(t *testing.T) {
	m, err := NewRandomModel(Config{Dim: 16, HiddenDim: 32, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 8, SeqLen: 8}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.WriteGGUF(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := ReadGGUFHeader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := g.Metadata["general.file_type"].(uint32); !ok || v != 0 {
		t.Errorf("general.file_type = %#v, want uint32 0", g.Metadata["general.file_type"])
	}
	for _, ti := range g.Tensors {
		if ti.Type != GGMLTypeF32 {
			t.Errorf("%s: type %d, want f32 for ALL_F32", ti.Name, ti.Type)
		}
	}
}
