package llama

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"github.com/ggmi-dev/ggmi/internal/atomicfile"
	"github.com/ggmi-dev/ggmi/llama/quant"
)

// Checkpoint writers: a model (for example a fine-tuned one) is saved as a
// llama2.c legacy checkpoint with its tokenizer file, or as a GGUF file of
// architecture "llama" with f32 tensors and the tokenizer embedded. Both
// load back with [Load] and compute the same logits.

// errLegacyConfig is returned when a configuration cannot be expressed in
// the llama2.c header.
var errLegacyConfig = errors.New("llama2.c format stores only default RMSNorm epsilon, RoPE base and full-head RoPE")

// WriteLlama2c writes the model as a llama2.c legacy checkpoint (seven
// int32 header values, then the float32 weights; a negative vocabulary
// size marks a separate classifier). The format has no room for a
// non-default RMSNorm epsilon, RoPE base or partial RoPE, so such models
// are refused. Models in the rotate-half RoPE layout are written in the
// interleaved layout llama2.c uses.
func (m *Model) WriteLlama2c(w io.Writer) error {
	c := m.Config
	if !c.isPlainLlama() {
		return fmt.Errorf("write llama2.c: the format stores only the llama architecture, not %s", c.Family())
	}
	if c.RopeScaling.Type != "" {
		return fmt.Errorf("write llama2.c: the format has no RoPE scaling")
	}
	if c.eps() != 1e-5 || c.ropeTheta() != 10000 || c.ropeDim() != c.HeadSize() {
		return fmt.Errorf("write llama2.c: %w", errLegacyConfig)
	}
	mw := m.interleaved()
	bw := bufio.NewWriterSize(w, 1<<16)
	vocab := int32(c.VocabSize)
	if !c.SharedClassifier {
		vocab = -vocab
	}
	hdr := []int32{int32(c.Dim), int32(c.HiddenDim), int32(c.NLayers), int32(c.NHeads), int32(c.NKVHeads), vocab, int32(c.SeqLen)}
	if err := binary.Write(bw, binary.LittleEndian, hdr); err != nil {
		return fmt.Errorf("write llama2.c header: %w", err)
	}
	var buf []byte
	put := func(x []float32) error {
		buf = appendF32(buf[:0], x)
		_, err := bw.Write(buf)
		return err
	}
	tensors := append(llama2cOrder(&mw), mw.finalNorm, make([]float32, c.SeqLen*c.HeadSize())) // unused RoPE tables
	if !c.SharedClassifier {
		tensors = append(tensors, mw.wcls)
	}
	for _, t := range tensors {
		if err := put(t); err != nil {
			return fmt.Errorf("write llama2.c weights: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write llama2.c weights: %w", err)
	}
	return nil
}

// interleaved returns the weights in the interleaved RoPE layout (a
// converted copy when the model uses the rotate-half layout).
func (m *Model) interleaved() weights {
	m.mustF32()
	if !m.Config.RopeNeoX {
		return m.w
	}
	cp := newModel(m.Config, m.Tokenizer, append([]float32(nil), m.params...))
	cp.ConvertRopeLayout(false)
	return cp.w
}

func appendF32(b []byte, x []float32) []byte {
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// WriteLlama2c writes the tokenizer in the llama2.c format: the maximum
// token length as int32, then for each token its float32 score, int32 byte
// length and bytes. The format does not store token types nor BOS/EOS ids
// (llama2.c assumes 1 and 2).
func (t *Tokenizer) WriteLlama2c(w io.Writer) error {
	if err := t.checkWritable(len(t.Vocab)); err != nil {
		return fmt.Errorf("write llama2.c tokenizer: %w", err)
	}
	if t.BOS != 1 || t.EOS != 2 {
		return fmt.Errorf("write llama2.c tokenizer: BOS %d / EOS %d cannot be stored (the format assumes 1 and 2)", t.BOS, t.EOS)
	}
	maxLen := 0
	for _, s := range t.Vocab {
		maxLen = max(maxLen, len(s))
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, s := range t.Vocab {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(t.Scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write llama2.c tokenizer: %w", err)
	}
	return nil
}

// checkWritable reports whether the tokenizer's tables are consistent
// with each other and with a vocabulary of n tokens.
func (t *Tokenizer) checkWritable(n int) error {
	if len(t.Vocab) != n {
		return fmt.Errorf("tokenizer has %d tokens, model %d", len(t.Vocab), n)
	}
	if len(t.Scores) != n || len(t.Types) != n {
		return fmt.Errorf("tokenizer has %d scores and %d token types for %d tokens", len(t.Scores), len(t.Types), n)
	}
	if t.BOS < 0 || t.BOS >= n || t.EOS < 0 || t.EOS >= n {
		return fmt.Errorf("tokenizer BOS %d / EOS %d outside vocabulary of %d", t.BOS, t.EOS, n)
	}
	return nil
}

// SaveLlama2c writes the model to path as a llama2.c checkpoint and, when
// the model has a tokenizer, the tokenizer to tok<vocab>.bin in the same
// directory, where [Load] looks for it. Files are written to a temporary
// name and renamed when complete.
func (m *Model) SaveLlama2c(path string) error {
	if err := writeFileAtomic(path, m.WriteLlama2c); err != nil {
		return err
	}
	if m.Tokenizer == nil {
		return nil
	}
	sp, ok := m.Tokenizer.(*Tokenizer)
	if !ok {
		return fmt.Errorf("save %s: the llama2.c format stores only SentencePiece tokenizers, not %T", path, m.Tokenizer)
	}
	tp := filepath.Join(filepath.Dir(path), fmt.Sprintf("tok%d.bin", m.Config.VocabSize))
	return writeFileAtomic(tp, sp.WriteLlama2c)
}

// SaveGGUF writes the model to path as a GGUF file (see [Model.WriteGGUF]),
// through a temporary file renamed when complete.
func (m *Model) SaveGGUF(path string) error { return writeFileAtomic(path, m.WriteGGUF) }

// SaveGGUFAs is SaveGGUF with the weight matrices encoded as typ (see
// [Model.WriteGGUFAs]).
func (m *Model) SaveGGUFAs(path string, typ GGMLType) error {
	return writeFileAtomic(path, func(w io.Writer) error { return m.WriteGGUFAs(w, typ) })
}

func writeFileAtomic(path string, write func(io.Writer) error) error {
	// A checkpoint goes into an existing directory (atomicfile would create it).
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := atomicfile.Write(path, false, write); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// ggufAlign is the tensor-data alignment of written GGUF files.
const ggufAlign = 32

// ggufWriter serialises GGUF metadata values.
type ggufWriter struct{ b []byte }

func (g *ggufWriter) u32(v uint32) { g.b = binary.LittleEndian.AppendUint32(g.b, v) }
func (g *ggufWriter) u64(v uint64) { g.b = binary.LittleEndian.AppendUint64(g.b, v) }
func (g *ggufWriter) str(s string) { g.u64(uint64(len(s))); g.b = append(g.b, s...) }

func (g *ggufWriter) kv(key string, v any) {
	g.str(key)
	switch x := v.(type) {
	case uint32:
		g.u32(ggufUint32)
		g.u32(x)
	case float32:
		g.u32(ggufFloat32)
		g.u32(math.Float32bits(x))
	case string:
		g.u32(ggufString)
		g.str(x)
	case bool:
		g.u32(ggufBool)
		if x {
			g.b = append(g.b, 1)
		} else {
			g.b = append(g.b, 0)
		}
	case []string:
		g.u32(ggufArray)
		g.u32(ggufString)
		g.u64(uint64(len(x)))
		for _, s := range x {
			g.str(s)
		}
	case []float32:
		g.u32(ggufArray)
		g.u32(ggufFloat32)
		g.u64(uint64(len(x)))
		g.b = appendF32(g.b, x)
	case []int32:
		g.u32(ggufArray)
		g.u32(ggufInt32)
		g.u64(uint64(len(x)))
		for _, v := range x {
			g.u32(uint32(v))
		}
	}
}

// WriteGGUF writes the model as a GGUF version 3 file with f32 tensors
// (GGML dimension order: the fastest-varying dimension first) under
// llama.cpp's architecture ("llama", "gpt2" or "qwen2"), tensor names and
// metadata keys, and, when the model has one, the tokenizer as
// tokenizer.ggml.* metadata (SentencePiece as model "llama", byte-level
// BPE as model "gpt2" with its pre-tokenizer name and merges) and the chat
// template as tokenizer.chat_template. Rotate-half llama models are written
// in the interleaved layout that GGUF llama files use; qwen2 files keep the
// rotate-half layout (llama.cpp runs them with NeoX RoPE).
func (m *Model) WriteGGUF(w io.Writer) error { return m.WriteGGUFAs(w, GGMLTypeF32) }

// GGUFVocabulary is implemented by tokenizers that can describe themselves
// as GGUF tokenizer.* metadata for a model with vocabSize embedding rows
// (the byte-level BPE tokenizers of package tokenizer do). Values must be
// string, bool, uint32, []string or []int32.
type GGUFVocabulary interface {
	GGUFMetadata(vocabSize int) (map[string]any, error)
}

// ggufFileType maps the encoding of a file's matrices to the value of
// general.file_type (llama.cpp's llama_ftype) that tools such as its
// quantiser read.
var ggufFileType = map[GGMLType]uint32{
	GGMLTypeF32: 0, GGMLTypeF16: 1, GGMLTypeQ4_0: 2, GGMLTypeQ4_1: 3, GGMLTypeQ8_0: 7,
	GGMLTypeQ5_0: 8, GGMLTypeQ5_1: 9, GGMLTypeQ4_K: 14, GGMLTypeQ5_K: 16, GGMLTypeQ6_K: 18, GGMLTypeBF16: 32,
}

// WriteGGUFAs is WriteGGUF with the two-dimensional tensors (embeddings,
// projections, classifier) encoded as typ (f32, f16, bf16, q8_0, q4_0,
// q4_1, q5_0, q5_1, q4_K, q5_K or q6_K, quantised with package quant's
// round-to-nearest rules); a matrix whose rows are not a whole number of
// typ's blocks, and the norm weights, stay f32. general.file_type records
// typ. A quantised model is expanded to float32 first.
func (m *Model) WriteGGUFAs(w io.Writer, typ GGMLType) error {
	if err := m.Config.ggufWritable(); err != nil {
		return err
	}
	ftype, ok := ggufFileType[typ]
	if !ok {
		return fmt.Errorf("write gguf: cannot write tensors of type %s", typ)
	}
	c := m.Config
	arch := c.Family()
	m.mustF32()
	mw := m.w
	if arch == ArchLlama {
		mw = m.interleaved()
	}
	type tensor struct {
		name string
		dims []uint64
		data []float32
	}
	var ts []tensor
	for _, sp := range ggufSpecs(c, viewsOf(c, &mw)) {
		var data []float32
		for _, mt := range sp.mats {
			data = append(data, f32Values(*mt)...)
		}
		for _, v := range sp.vecs {
			data = append(data, *v...)
		}
		ts = append(ts, tensor{sp.name, sp.dims, data})
	}

	type kv struct {
		k string
		v any
	}
	key := func(k string) string { return arch + "." + k }
	kvs := []kv{
		{"general.architecture", arch},
		{"general.name", "ggmi"},
		{"general.alignment", uint32(ggufAlign)},
		// llama.cpp's quantiser refuses files without it (0 = ALL_F32, 1 = MOSTLY_F16, ...).
		{"general.file_type", ftype},
		{key("context_length"), uint32(c.SeqLen)},
		{key("embedding_length"), uint32(c.Dim)},
		{key("feed_forward_length"), uint32(c.HiddenDim)},
		{key("block_count"), uint32(c.NLayers)},
		{key("attention.head_count"), uint32(c.NHeads)},
		{key("attention.head_count_kv"), uint32(c.NKVHeads)},
	}
	if arch == ArchGPT2 {
		kvs = append(kvs, kv{key("attention.layer_norm_epsilon"), c.eps()})
	} else {
		kvs = append(kvs,
			kv{key("rope.dimension_count"), uint32(c.ropeDim())},
			kv{key("rope.freq_base"), c.ropeTheta()},
			kv{key("attention.layer_norm_rms_epsilon"), c.eps()},
		)
	}
	chatTemplate := m.ChatTemplate
	switch tok := m.Tokenizer.(type) {
	case nil:
	case *Tokenizer:
		if err := tok.checkWritable(c.VocabSize); err != nil {
			return fmt.Errorf("write gguf: %w", err)
		}
		vocabs := make([]string, len(tok.Vocab))
		for i, s := range tok.Vocab {
			vocabs[i] = s
			if _, isByte := parseBytePiece(s); !isByte {
				vocabs[i] = strings.ReplaceAll(s, " ", "\u2581")
			}
		}
		kvs = append(kvs,
			kv{"tokenizer.ggml.model", "llama"},
			kv{"tokenizer.ggml.tokens", vocabs},
			kv{"tokenizer.ggml.scores", tok.Scores},
			kv{"tokenizer.ggml.token_type", tok.Types},
			kv{"tokenizer.ggml.bos_token_id", uint32(tok.BOS)},
			kv{"tokenizer.ggml.eos_token_id", uint32(tok.EOS)},
		)
	case GGUFVocabulary:
		meta, err := tok.GGUFMetadata(c.VocabSize)
		if err != nil {
			return fmt.Errorf("write gguf: %w", err)
		}
		for _, k := range slices.Sorted(maps.Keys(meta)) {
			if !strings.HasPrefix(k, "tokenizer.") {
				return fmt.Errorf("write gguf: tokenizer metadata key %q outside tokenizer.*", k)
			}
			if k == "tokenizer.chat_template" {
				if chatTemplate == "" {
					chatTemplate, _ = meta[k].(string)
				}
				continue
			}
			switch meta[k].(type) {
			case string, bool, uint32, []string, []int32:
			default:
				return fmt.Errorf("write gguf: tokenizer metadata %q: %T cannot be written", k, meta[k])
			}
			kvs = append(kvs, kv{k, meta[k]})
		}
	default:
		return fmt.Errorf("write gguf: tokenizer %T is not supported", m.Tokenizer)
	}
	if chatTemplate != "" {
		kvs = append(kvs, kv{"tokenizer.chat_template", chatTemplate})
	}
	g := &ggufWriter{}
	g.b = append(g.b, "GGUF"...)
	g.u32(3)
	g.u64(uint64(len(ts)))
	g.u64(uint64(len(kvs)))
	for _, e := range kvs {
		g.kv(e.k, e.v)
	}
	// The encoding of each tensor and its size in bytes.
	types := make([]GGMLType, len(ts))
	sizes := make([]int, len(ts))
	for i, t := range ts {
		types[i] = GGMLTypeF32
		if len(t.dims) == 2 && int(t.dims[0])%typ.BlockSize() == 0 {
			types[i] = typ
		}
		rb, err := quant.RowBytes(types[i], int(t.dims[0]))
		if err != nil {
			return fmt.Errorf("write gguf tensor %s: %w", t.name, err)
		}
		sizes[i] = rb * (len(t.data) / int(t.dims[0]))
	}
	var off uint64
	for i, t := range ts {
		g.str(t.name)
		g.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			g.u64(d)
		}
		g.u32(uint32(types[i]))
		g.u64(off)
		off += (uint64(sizes[i]) + ggufAlign - 1) / ggufAlign * ggufAlign
	}
	for len(g.b)%ggufAlign != 0 {
		g.b = append(g.b, 0)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(g.b); err != nil {
		return fmt.Errorf("write gguf header: %w", err)
	}
	var buf []byte
	var pad [ggufAlign]byte
	for i, t := range ts {
		buf = slices.Grow(buf[:0], sizes[i])[:sizes[i]]
		if err := quant.Quantize(types[i], t.data, buf); err != nil {
			return fmt.Errorf("write gguf tensor %s: %w", t.name, err)
		}
		if n := len(buf) % ggufAlign; n != 0 {
			buf = append(buf, pad[:ggufAlign-n]...)
		}
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write gguf tensor %s: %w", t.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write gguf: %w", err)
	}
	return nil
}

// ggufWritable reports why the GGUF writer cannot store a model of c: it
// writes the llama, gpt2 and qwen2 architectures with the family switches
// llama.cpp implements for them (no RoPE scaling; gpt2 without grouped
// key/value heads).
func (c Config) ggufWritable() error {
	fc, err := FamilyConfig(c, c.Family())
	if err != nil {
		return fmt.Errorf("write gguf: %w", err)
	}
	if fc.LayerNorm != c.LayerNorm || fc.GELU != c.GELU || fc.QKVBias != c.QKVBias || fc.OutBias != c.OutBias || fc.LearnedPos != c.LearnedPos {
		return fmt.Errorf("write gguf: a %s model with non-standard family switches cannot be written as GGUF (save a Hugging Face folder instead)", c.Family())
	}
	if c.RopeScaling.Type != "" {
		return fmt.Errorf("write gguf: %s RoPE scaling cannot be written as GGUF (save a Hugging Face folder instead)", c.RopeScaling.Type)
	}
	if c.Family() == ArchGPT2 && c.NKVHeads != c.NHeads {
		return fmt.Errorf("write gguf: gpt2 with %d key/value heads for %d heads cannot be written as GGUF", c.NKVHeads, c.NHeads)
	}
	if c.Family() == ArchQwen2 && !c.RopeNeoX {
		return errors.New("write gguf: a qwen2 model in the interleaved RoPE layout cannot be written as GGUF (convert it with ConvertRopeLayout(true))")
	}
	return nil
}

// CanWriteGGUF reports whether [Model.WriteGGUF] can store the model
// (otherwise [Model.SaveHF] can).
func (m *Model) CanWriteGGUF() bool { return m.Config.ggufWritable() == nil }

// f32Values views an F32 matrix's bytes as float32 values (shared).
func f32Values(mt quant.Matrix) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(mt.Data))), len(mt.Data)/4)
}
