package llama

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// GGMLType identifies the element encoding of a GGUF tensor (the block
// formats of package quant).
type GGMLType = quant.Type

// Tensor encodings understood by the loader.
const (
	GGMLTypeF32  = quant.F32
	GGMLTypeF16  = quant.F16
	GGMLTypeQ4_0 = quant.Q4_0
	GGMLTypeQ4_1 = quant.Q4_1
	GGMLTypeQ5_0 = quant.Q5_0
	GGMLTypeQ5_1 = quant.Q5_1
	GGMLTypeQ8_0 = quant.Q8_0
	GGMLTypeQ4_K = quant.Q4_K
	GGMLTypeQ5_K = quant.Q5_K
	GGMLTypeQ6_K = quant.Q6_K
	GGMLTypeQ8_K = quant.Q8_K
	GGMLTypeBF16 = quant.BF16
)

// blockInfo returns the number of elements per block and bytes per block.
func blockInfo(t GGMLType) (elems, bytes int64, ok bool) {
	if !t.Known() {
		return 0, 0, false
	}
	return int64(t.BlockSize()), int64(t.BlockBytes()), true
}

// GGUF metadata value types.
const (
	ggufUint8   = 0
	ggufInt8    = 1
	ggufUint16  = 2
	ggufInt16   = 3
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
	ggufInt64   = 11
	ggufFloat64 = 12
)

// GGUFTensorInfo describes one tensor of a GGUF file.
type GGUFTensorInfo struct {
	Name   string
	Dims   []uint64 // Dims[0] is the fastest-varying dimension
	Type   GGMLType
	Offset uint64 // relative to the start of the tensor data section
}

// NumElements returns the product of the dimensions.
func (ti GGUFTensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range ti.Dims {
		n *= int64(d)
	}
	return n
}

// GGUFFile is the parsed header of a GGUF file.
type GGUFFile struct {
	Version uint32
	// Metadata maps keys to values. Scalars are stored as uint8, int8,
	// uint16, int16, uint32, int32, float32, bool, string, uint64, int64 or
	// float64; arrays as typed slices ([]string, []float32, []int32, ...)
	// or []any for arrays of arrays.
	Metadata   map[string]any
	Tensors    []GGUFTensorInfo
	Alignment  int64
	DataOffset int64 // absolute file offset of the tensor data section
	Size       int64 // total file size
}

// ggufReader reads little-endian values while enforcing the file size.
type ggufReader struct {
	br   *bufio.Reader
	off  int64
	size int64
	err  error
}

var errTruncated = errors.New("unexpected end of file")

func (r *ggufReader) remaining() int64 { return r.size - r.off }

func (r *ggufReader) read(n int64) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.err = fmt.Errorf("need %d bytes at offset %d of %d: %w", n, r.off, r.size, errTruncated)
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		r.err = fmt.Errorf("offset %d: %w", r.off, err)
		return nil
	}
	r.off += n
	return b
}

func (r *ggufReader) fixed(n int) []byte {
	var buf [8]byte
	if r.err != nil {
		return buf[:n]
	}
	if int64(n) > r.remaining() {
		r.err = fmt.Errorf("need %d bytes at offset %d of %d: %w", n, r.off, r.size, errTruncated)
		return buf[:n]
	}
	if _, err := io.ReadFull(r.br, buf[:n]); err != nil {
		r.err = fmt.Errorf("offset %d: %w", r.off, err)
		return buf[:n]
	}
	r.off += int64(n)
	return buf[:n]
}

func (r *ggufReader) u8() uint8   { return r.fixed(1)[0] }
func (r *ggufReader) u16() uint16 { return binary.LittleEndian.Uint16(r.fixed(2)) }
func (r *ggufReader) u32() uint32 { return binary.LittleEndian.Uint32(r.fixed(4)) }
func (r *ggufReader) u64() uint64 { return binary.LittleEndian.Uint64(r.fixed(8)) }

func (r *ggufReader) str() string {
	n := r.u64()
	if r.err != nil {
		return ""
	}
	if n > uint64(r.remaining()) {
		r.err = fmt.Errorf("string of %d bytes at offset %d exceeds file: %w", n, r.off, errTruncated)
		return ""
	}
	return string(r.read(int64(n)))
}

// minValueSize is the smallest encoding of a value of the given type, used
// to bound array lengths before allocating.
func minValueSize(t uint32) int64 {
	switch t {
	case ggufUint8, ggufInt8, ggufBool:
		return 1
	case ggufUint16, ggufInt16:
		return 2
	case ggufUint32, ggufInt32, ggufFloat32:
		return 4
	case ggufUint64, ggufInt64, ggufFloat64, ggufString:
		return 8
	case ggufArray:
		return 12
	}
	return 0
}

func (r *ggufReader) value(t uint32, depth int) any {
	switch t {
	case ggufUint8:
		return r.u8()
	case ggufInt8:
		return int8(r.u8())
	case ggufUint16:
		return r.u16()
	case ggufInt16:
		return int16(r.u16())
	case ggufUint32:
		return r.u32()
	case ggufInt32:
		return int32(r.u32())
	case ggufFloat32:
		return math.Float32frombits(r.u32())
	case ggufBool:
		b := r.u8()
		if b > 1 && r.err == nil {
			r.err = fmt.Errorf("invalid bool %d at offset %d", b, r.off-1)
		}
		return b == 1
	case ggufString:
		return r.str()
	case ggufUint64:
		return r.u64()
	case ggufInt64:
		return int64(r.u64())
	case ggufFloat64:
		return math.Float64frombits(r.u64())
	case ggufArray:
		return r.array(depth)
	}
	if r.err == nil {
		r.err = fmt.Errorf("unknown metadata value type %d at offset %d", t, r.off)
	}
	return nil
}

func (r *ggufReader) array(depth int) any {
	if depth > 8 {
		r.err = fmt.Errorf("arrays nested too deeply at offset %d", r.off)
		return nil
	}
	et := r.u32()
	n := r.u64()
	if r.err != nil {
		return nil
	}
	es := minValueSize(et)
	if es == 0 {
		r.err = fmt.Errorf("unknown array element type %d at offset %d", et, r.off)
		return nil
	}
	if n > uint64(r.remaining()/es) {
		r.err = fmt.Errorf("array of %d elements at offset %d exceeds file: %w", n, r.off, errTruncated)
		return nil
	}
	switch et {
	case ggufString:
		a := make([]string, n)
		for i := range a {
			a[i] = r.str()
		}
		return a
	case ggufFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(r.u32())
		}
		return a
	case ggufInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(r.u32())
		}
		return a
	case ggufUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = r.u32()
		}
		return a
	case ggufUint8:
		a := make([]uint8, n)
		for i := range a {
			a[i] = r.u8()
		}
		return a
	case ggufInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(r.u8())
		}
		return a
	case ggufUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = r.u16()
		}
		return a
	case ggufInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(r.u16())
		}
		return a
	case ggufBool:
		a := make([]bool, n)
		for i := range a {
			a[i] = r.u8() != 0
		}
		return a
	case ggufUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = r.u64()
		}
		return a
	case ggufInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(r.u64())
		}
		return a
	case ggufFloat64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(r.u64())
		}
		return a
	default: // arrays of arrays
		a := make([]any, n)
		for i := range a {
			if r.err != nil {
				return nil
			}
			a[i] = r.value(et, depth+1)
		}
		return a
	}
}

// ReadGGUFHeader parses the header, metadata and tensor infos of a GGUF
// file of the given size. Versions 2 and 3 (little endian) are supported.
func ReadGGUFHeader(ra io.ReaderAt, size int64) (*GGUFFile, error) {
	r := &ggufReader{br: bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), 1<<16), size: size}
	magic := r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("magic: %w", r.err)
	}
	if magic != ggufMagic {
		return nil, fmt.Errorf("bad magic %#08x, not a GGUF file", magic)
	}
	g := &GGUFFile{Version: r.u32(), Size: size, Metadata: map[string]any{}}
	if r.err != nil {
		return nil, fmt.Errorf("version: %w", r.err)
	}
	if g.Version != 2 && g.Version != 3 {
		return nil, fmt.Errorf("unsupported GGUF version %d", g.Version)
	}
	nTensors := r.u64()
	nKV := r.u64()
	if r.err != nil {
		return nil, fmt.Errorf("counts: %w", r.err)
	}
	// A key/value pair needs at least 8+4+1 bytes, a tensor info 8+4+8+4+8.
	if nKV > uint64(r.remaining()/13) {
		return nil, fmt.Errorf("%d metadata entries cannot fit in %d bytes", nKV, size)
	}
	if nTensors > uint64(r.remaining()/32) {
		return nil, fmt.Errorf("%d tensors cannot fit in %d bytes", nTensors, size)
	}
	for i := uint64(0); i < nKV; i++ {
		key := r.str()
		t := r.u32()
		if r.err != nil {
			return nil, fmt.Errorf("metadata entry %d: %w", i, r.err)
		}
		v := r.value(t, 0)
		if r.err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, r.err)
		}
		g.Metadata[key] = v
	}
	g.Alignment = 32
	if a, ok := g.Metadata["general.alignment"]; ok {
		v, ok := toInt64(a)
		if !ok || v <= 0 || v > 1<<20 || v&(v-1) != 0 {
			return nil, fmt.Errorf("invalid general.alignment %v", a)
		}
		g.Alignment = v
	}
	g.Tensors = make([]GGUFTensorInfo, 0, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		var ti GGUFTensorInfo
		ti.Name = r.str()
		nd := r.u32()
		if r.err != nil {
			return nil, fmt.Errorf("tensor info %d: %w", i, r.err)
		}
		if nd == 0 || nd > 4 {
			return nil, fmt.Errorf("tensor %q: %d dimensions", ti.Name, nd)
		}
		ti.Dims = make([]uint64, nd)
		n := uint64(1)
		for j := range ti.Dims {
			d := r.u64()
			if d == 0 || d > 1<<40 || n > (1<<40)/d {
				if r.err == nil {
					return nil, fmt.Errorf("tensor %q: absurd dimension %d", ti.Name, d)
				}
			}
			ti.Dims[j] = d
			n *= d
		}
		ti.Type = GGMLType(r.u32())
		ti.Offset = r.u64()
		if r.err != nil {
			return nil, fmt.Errorf("tensor %q: %w", ti.Name, r.err)
		}
		g.Tensors = append(g.Tensors, ti)
	}
	g.DataOffset = (r.off + g.Alignment - 1) / g.Alignment * g.Alignment
	if g.DataOffset > size {
		return nil, fmt.Errorf("tensor data offset %d beyond file size %d", g.DataOffset, size)
	}
	for _, ti := range g.Tensors {
		if _, err := g.tensorBytes(ti); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
	}
	return g, nil
}

// tensorBytes validates the placement of ti and returns its size in bytes.
func (g *GGUFFile) tensorBytes(ti GGUFTensorInfo) (int64, error) {
	elems, bytes, ok := blockInfo(ti.Type)
	if !ok {
		return 0, fmt.Errorf("unsupported tensor type %d", uint32(ti.Type))
	}
	n := ti.NumElements()
	if int64(ti.Dims[0])%elems != 0 {
		return 0, fmt.Errorf("row of %d elements not a multiple of block size %d", ti.Dims[0], elems)
	}
	nb := n / elems * bytes
	if ti.Offset%uint64(g.Alignment) != 0 {
		return 0, fmt.Errorf("offset %d not aligned to %d", ti.Offset, g.Alignment)
	}
	avail := g.Size - g.DataOffset
	if ti.Offset > uint64(avail) || nb > avail-int64(ti.Offset) {
		return 0, fmt.Errorf("data [%d, +%d) beyond end of file (%d data bytes): %w", ti.Offset, nb, avail, errTruncated)
	}
	return nb, nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// intArray converts an integer array metadata value to []int32.
func intArray(v any) ([]int32, bool) {
	conv := func(n int, at func(int) int64) []int32 {
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(at(i))
		}
		return out
	}
	switch a := v.(type) {
	case []int32:
		return a, true
	case []uint32:
		return conv(len(a), func(i int) int64 { return int64(a[i]) }), true
	case []int8:
		return conv(len(a), func(i int) int64 { return int64(a[i]) }), true
	case []uint8:
		return conv(len(a), func(i int) int64 { return int64(a[i]) }), true
	case []int16:
		return conv(len(a), func(i int) int64 { return int64(a[i]) }), true
	case []uint16:
		return conv(len(a), func(i int) int64 { return int64(a[i]) }), true
	case []int64:
		return conv(len(a), func(i int) int64 { return a[i] }), true
	}
	return nil, false
}

func toFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := toInt64(v); ok {
		return float64(i), true
	}
	return 0, false
}

// metaInt returns an integer metadata value, def when absent.
func (g *GGUFFile) metaInt(key string, def int64, required bool) (int64, error) {
	v, ok := g.Metadata[key]
	if !ok {
		if required {
			return 0, fmt.Errorf("missing metadata %q", key)
		}
		return def, nil
	}
	i, ok := toInt64(v)
	if !ok {
		return 0, fmt.Errorf("metadata %q: %T is not an integer", key, v)
	}
	return i, nil
}

// Tensor returns the info of the named tensor.
func (g *GGUFFile) Tensor(name string) (GGUFTensorInfo, bool) {
	for _, t := range g.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return GGUFTensorInfo{}, false
}

// LoadGGUF loads a GGUF file of architecture "llama", "gpt2" or "qwen2"
// (llama.cpp's tensor names and metadata keys). The file is
// memory-mapped where the platform allows (read otherwise) and the weight
// matrices stay in it, in their file encoding; the mapping lives as long
// as the model.
func LoadGGUF(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read gguf %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read gguf %s: %w", path, err)
	}
	data := mmapFile(f, st.Size())
	if data == nil {
		return readModelFile(path, "gguf", ReadGGUF)
	}
	m, err := readGGUF(bytes.NewReader(data), int64(len(data)), data)
	if err != nil {
		munmap(data)
		return nil, fmt.Errorf("read gguf %s: %w", path, err)
	}
	m.qs.mapping = data
	runtime.AddCleanup(m, munmap, data)
	return m, nil
}

// ReadGGUF parses a GGUF model (weights and tokenizer) from r. The
// architectures are llama.cpp's "llama", "gpt2" and "qwen2"; any other is
// an error naming it and the supported list.
//
// Hugging Face llama checkpoints order the rows of the query and key
// projections for "rotate half" RoPE; the GGUF converters permute those rows
// back so that GGUF "llama" files (like llama2.c checkpoints) pair adjacent
// dimensions. The architecture therefore fixes the layout: "llama" files
// are run with interleaved RoPE (Config.RopeNeoX false), which reproduces
// the llama2.c output exactly; "qwen2" files keep the Hugging Face order
// and run with rotate-half RoPE, as llama.cpp does. Weights that still
// carry the other order can be handled with [Model.ConvertRopeLayout].
//
// SentencePiece vocabularies (tokenizer.ggml.model "llama") give a
// [*Tokenizer]; byte-level BPE vocabularies ("gpt2") are built by
// [GGUFTokenizerLoader].
func ReadGGUF(r io.ReaderAt, size int64) (*Model, error) {
	return readGGUF(r, size, nil)
}

// GGUFTokenizerLoader builds the tokenizer of a GGUF file whose
// tokenizer.ggml.model is "gpt2" (byte-level BPE) from its metadata.
// Packages providing byte-level BPE tokenizers set it (package llm does);
// without it such files are refused.
var GGUFTokenizerLoader func(meta map[string]any) (TextTokenizer, error)

// ggufTensorSpec is one tensor a family's GGUF file holds: its name, GGML
// dimensions and where its values go. A matrix's rows (a vector's values)
// are split in order among the destinations, parts[i] rows (values) each:
// GPT-2's fused attn_qkv holds the query, key and value projections.
type ggufTensorSpec struct {
	name  string
	dims  []uint64
	mats  []*quant.Matrix
	vecs  []*[]float32
	parts []int
}

// ggufSpecs lists the tensors of a file of cfg's family, in the order
// WriteGGUF writes them, with iw's slots as destinations (iw may be nil
// when only the names and shapes are wanted).
func ggufSpecs(cfg Config, iw *infWeights) []ggufTensorSpec {
	if iw == nil {
		iw = &infWeights{layers: make([]infLayer, cfg.NLayers)}
	}
	dim, hid := uint64(cfg.Dim), uint64(cfg.HiddenDim)
	qd := uint64(cfg.NHeads * cfg.HeadSize())
	kvd := uint64(cfg.KVDim())
	vocab := uint64(cfg.VocabSize)
	mat := func(name string, in, out uint64, dst *quant.Matrix) ggufTensorSpec {
		return ggufTensorSpec{name: name, dims: []uint64{in, out}, mats: []*quant.Matrix{dst}, parts: []int{int(out)}}
	}
	vec := func(name string, n uint64, dst *[]float32) ggufTensorSpec {
		return ggufTensorSpec{name: name, dims: []uint64{n}, vecs: []*[]float32{dst}, parts: []int{int(n)}}
	}
	specs := []ggufTensorSpec{mat("token_embd.weight", dim, vocab, &iw.tokEmb)}
	gpt2 := cfg.Family() == ArchGPT2
	if gpt2 {
		specs = append(specs, vec("position_embd.weight", dim*uint64(cfg.SeqLen), &iw.posEmb))
		specs[len(specs)-1].dims = []uint64{dim, uint64(cfg.SeqLen)}
	}
	for l := 0; l < cfg.NLayers; l++ {
		il := &iw.layers[l]
		p := fmt.Sprintf("blk.%d.", l)
		specs = append(specs, vec(p+"attn_norm.weight", dim, &il.attnNorm))
		if gpt2 {
			specs = append(specs,
				vec(p+"attn_norm.bias", dim, &il.attnNormB),
				ggufTensorSpec{name: p + "attn_qkv.weight", dims: []uint64{dim, qd + 2*kvd},
					mats: []*quant.Matrix{&il.wq, &il.wk, &il.wv}, parts: []int{int(qd), int(kvd), int(kvd)}},
				ggufTensorSpec{name: p + "attn_qkv.bias", dims: []uint64{qd + 2*kvd},
					vecs: []*[]float32{&il.bq, &il.bk, &il.bv}, parts: []int{int(qd), int(kvd), int(kvd)}},
				mat(p+"attn_output.weight", qd, dim, &il.wo),
				vec(p+"attn_output.bias", dim, &il.bo),
				vec(p+"ffn_norm.weight", dim, &il.ffnNorm),
				vec(p+"ffn_norm.bias", dim, &il.ffnNormB),
				mat(p+"ffn_up.weight", dim, hid, &il.w1),
				vec(p+"ffn_up.bias", hid, &il.b1),
				mat(p+"ffn_down.weight", hid, dim, &il.w2),
				vec(p+"ffn_down.bias", dim, &il.b2),
			)
			continue
		}
		specs = append(specs,
			mat(p+"attn_q.weight", dim, qd, &il.wq),
			mat(p+"attn_k.weight", dim, kvd, &il.wk),
			mat(p+"attn_v.weight", dim, kvd, &il.wv),
		)
		if cfg.QKVBias {
			specs = append(specs,
				vec(p+"attn_q.bias", qd, &il.bq),
				vec(p+"attn_k.bias", kvd, &il.bk),
				vec(p+"attn_v.bias", kvd, &il.bv),
			)
		}
		specs = append(specs,
			mat(p+"attn_output.weight", qd, dim, &il.wo),
			vec(p+"ffn_norm.weight", dim, &il.ffnNorm),
			mat(p+"ffn_gate.weight", dim, hid, &il.w1),
			mat(p+"ffn_down.weight", hid, dim, &il.w2),
			mat(p+"ffn_up.weight", dim, hid, &il.w3),
		)
	}
	specs = append(specs, vec("output_norm.weight", dim, &iw.finalNorm))
	if gpt2 {
		specs = append(specs, vec("output_norm.bias", dim, &iw.finalNormB))
	}
	if !cfg.SharedClassifier {
		specs = append(specs, mat("output.weight", dim, vocab, &iw.wcls))
	}
	return specs
}

// ggufArch returns the family of the file (general.architecture); an
// architecture the engine does not run is an error naming it and the
// supported list.
func (g *GGUFFile) ggufArch() (string, error) {
	const key = "general.architecture"
	v, ok := g.Metadata[key]
	if !ok {
		return "", fmt.Errorf("missing metadata %q: %w", key, unsupportedArch(""))
	}
	arch, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("metadata %q: %T is not a string: %w", key, v, unsupportedArch(fmt.Sprint(v)))
	}
	if !slices.Contains(SupportedArchitectures, arch) {
		return "", fmt.Errorf("metadata %q: %w", key, unsupportedArch(arch))
	}
	return arch, nil
}

// ggufConfig reads the hyper-parameters of a file of family arch from
// its <arch>.* metadata and tensor shapes.
func (g *GGUFFile) ggufConfig(arch string) (Config, error) {
	emb, ok := g.Tensor("token_embd.weight")
	if !ok {
		return Config{}, fmt.Errorf("missing tensor %q", "token_embd.weight")
	}
	if len(emb.Dims) != 2 {
		return Config{}, fmt.Errorf("tensor %q: want 2 dimensions, have %v", emb.Name, emb.Dims)
	}
	key := func(k string) string { return arch + "." + k }
	var cfg Config
	ints := []struct {
		key string
		dst *int
		def int64
		req bool
	}{
		{key("embedding_length"), &cfg.Dim, 0, true},
		{key("feed_forward_length"), &cfg.HiddenDim, 0, true},
		{key("block_count"), &cfg.NLayers, 0, true},
		{key("attention.head_count"), &cfg.NHeads, 0, true},
		{key("context_length"), &cfg.SeqLen, 2048, arch == ArchGPT2},
	}
	for _, it := range ints {
		v, err := g.metaInt(it.key, it.def, it.req)
		if err != nil {
			return Config{}, err
		}
		if v <= 0 || v > maxDim {
			return Config{}, fmt.Errorf("metadata %q: value %d out of range", it.key, v)
		}
		*it.dst = int(v)
	}
	kvKey := key("attention.head_count_kv")
	kv, err := g.metaInt(kvKey, int64(cfg.NHeads), false)
	if err != nil {
		return Config{}, err
	}
	if kv <= 0 || kv > maxDim {
		return Config{}, fmt.Errorf("metadata %q: value %d out of range", kvKey, kv)
	}
	cfg.NKVHeads = int(kv)
	if emb.Dims[1] > maxDim {
		return Config{}, fmt.Errorf("tensor %q: vocabulary of %d", emb.Name, emb.Dims[1])
	}
	cfg.VocabSize = int(emb.Dims[1])
	epsKey := key("attention.layer_norm_rms_epsilon")
	if arch == ArchGPT2 {
		epsKey = key("attention.layer_norm_epsilon")
	}
	if v, ok := g.Metadata[epsKey]; ok {
		f, ok := toFloat64(v)
		if !ok || !(f > 0 && f < 1) {
			return Config{}, fmt.Errorf("metadata %q: invalid value %v", epsKey, v)
		}
		cfg.NormEps = float32(f)
	}
	if arch != ArchGPT2 {
		if v, ok := g.Metadata[key("rope.freq_base")]; ok {
			f, ok := toFloat64(v)
			if !ok || !(f > 1 && f < 1e12) {
				return Config{}, fmt.Errorf("metadata %q: invalid value %v", key("rope.freq_base"), v)
			}
			cfg.RopeTheta = float32(f)
		}
		if cfg.NHeads > 0 && cfg.Dim%cfg.NHeads == 0 {
			rd, err := g.metaInt(key("rope.dimension_count"), int64(cfg.Dim/cfg.NHeads), false)
			if err != nil {
				return Config{}, err
			}
			if rd <= 0 || rd > maxDim {
				return Config{}, fmt.Errorf("metadata %q: value %d out of range", key("rope.dimension_count"), rd)
			}
			cfg.RopeDim = int(rd)
		}
	}
	_, hasOutput := g.Tensor("output.weight")
	cfg.SharedClassifier = !hasOutput
	cfg, err = FamilyConfig(cfg, arch)
	if err != nil {
		return Config{}, err
	}
	if arch == ArchGPT2 && cfg.NKVHeads != cfg.NHeads {
		return Config{}, fmt.Errorf("metadata %q: gpt2 with %d key/value heads for %d heads is not supported", kvKey, cfg.NKVHeads, cfg.NHeads)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// readGGUF is ReadGGUF; when mapped is not nil it holds the whole file and
// the weight matrices are kept in it instead of being read.
func readGGUF(r io.ReaderAt, size int64, mapped []byte) (*Model, error) {
	g, err := ReadGGUFHeader(r, size)
	if err != nil {
		return nil, err
	}
	arch, err := g.ggufArch()
	if err != nil {
		return nil, err
	}
	cfg, err := g.ggufConfig(arch)
	if err != nil {
		return nil, err
	}
	// Every family has at least nine tensors per block: check before
	// allocating the blocks.
	if int64(cfg.NLayers)*9+2 > int64(len(g.Tensors)) {
		return nil, fmt.Errorf("%d blocks declared but only %d tensors present", cfg.NLayers, len(g.Tensors))
	}
	iw := &infWeights{layers: make([]infLayer, cfg.NLayers)}
	specs := ggufSpecs(cfg, iw)
	// Check every tensor's presence and shape before allocating, so the
	// allocation is bounded by what the file actually holds.
	byName := make(map[string]GGUFTensorInfo, len(g.Tensors))
	for _, ti := range g.Tensors {
		byName[ti.Name] = ti
	}
	infos := make([]GGUFTensorInfo, len(specs))
	for i, sp := range specs {
		ti, ok := byName[sp.name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %q (architecture %s)", sp.name, arch)
		}
		if !slices.Equal(ti.Dims, sp.dims) {
			return nil, fmt.Errorf("tensor %q: dimensions %v, want %v", sp.name, ti.Dims, sp.dims)
		}
		infos[i] = ti
	}
	tok, err := g.textTokenizer()
	if err != nil {
		return nil, err
	}
	if tok != nil && tok.VocabSize() != cfg.VocabSize {
		return nil, fmt.Errorf("%w: %q holds %d tokens, %q has %d rows",
			ErrTokenizerMismatch, "tokenizer.ggml.tokens", tok.VocabSize(), "token_embd.weight", cfg.VocabSize)
	}
	chatTmpl, err := g.chatTemplate()
	if err != nil {
		return nil, err
	}
	// The tensors' bytes: the mapped file, or one buffer holding just the
	// tensors read (bounded by the file size).
	raw := func(ti GGUFTensorInfo) ([]byte, error) {
		nb, err := g.tensorBytes(ti)
		if err != nil {
			return nil, err
		}
		off := g.DataOffset + int64(ti.Offset)
		if mapped != nil {
			return mapped[off : off+nb : off+nb], nil
		}
		b := make([]byte, nb)
		if _, err := r.ReadAt(b, off); err != nil {
			return nil, err
		}
		return b, nil
	}
	for i, sp := range specs {
		ti := infos[i]
		if sp.vecs != nil {
			v := make([]float32, ti.NumElements())
			if err := g.readTensor(r, ti, v); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", sp.name, err)
			}
			for j, dst := range sp.vecs {
				*dst = v[:sp.parts[j]:sp.parts[j]]
				v = v[sp.parts[j]:]
			}
			continue
		}
		b, err := raw(ti)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", sp.name, err)
		}
		cols := int(sp.dims[0])
		rb, err := quant.RowBytes(ti.Type, cols)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", sp.name, err)
		}
		for j, dst := range sp.mats {
			rows := sp.parts[j]
			mat, err := quant.NewMatrix(ti.Type, rows, cols, b[:rows*rb:rows*rb])
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", sp.name, err)
			}
			*dst = mat
			b = b[rows*rb:]
		}
	}
	if cfg.SharedClassifier {
		iw.wcls = iw.tokEmb
	}
	m := &Model{Config: cfg, Tokenizer: tok, ChatTemplate: chatTmpl, inf: iw}
	m.initRope()
	return m, nil
}

// textTokenizer builds the tokenizer of the file: SentencePiece for
// tokenizer.ggml.model "llama" (or absent), byte-level BPE through
// GGUFTokenizerLoader for "gpt2". It returns nil, nil when the file has
// no vocabulary.
func (g *GGUFFile) textTokenizer() (TextTokenizer, error) {
	const key = "tokenizer.ggml.model"
	if _, ok := g.Metadata["tokenizer.ggml.tokens"]; !ok {
		return nil, nil
	}
	model, _ := g.Metadata[key].(string)
	switch model {
	case "", "llama":
		tok, err := g.tokenizer()
		if err != nil || tok == nil {
			return nil, err
		}
		return tok, nil
	case "gpt2":
		if GGUFTokenizerLoader == nil {
			return nil, fmt.Errorf("metadata %q: byte-level BPE vocabularies need package llm (it registers llama.GGUFTokenizerLoader)", key)
		}
		tok, err := GGUFTokenizerLoader(g.Metadata)
		if err != nil {
			return nil, fmt.Errorf("gguf tokenizer: %w", err)
		}
		return tok, nil
	}
	return nil, fmt.Errorf("metadata %q: unsupported tokenizer model %q (want llama or gpt2)", key, model)
}

// tokenizer builds the SentencePiece tokenizer from tokenizer.ggml.*
// metadata; it returns nil, nil when the file has no vocabulary.
func (g *GGUFFile) tokenizer() (*Tokenizer, error) {
	raw, ok := g.Metadata["tokenizer.ggml.tokens"]
	if !ok {
		return nil, nil
	}
	if model, _ := g.Metadata["tokenizer.ggml.model"].(string); model != "" && model != "llama" {
		return nil, fmt.Errorf("unsupported tokenizer model %q (want llama)", model)
	}
	toks, ok := raw.([]string)
	if !ok {
		return nil, fmt.Errorf("metadata %q: %T is not a string array", "tokenizer.ggml.tokens", raw)
	}
	vocab := make([]string, len(toks))
	for i, s := range toks {
		vocab[i] = strings.ReplaceAll(s, "\u2581", " ")
	}
	scores := make([]float32, len(toks))
	if s, ok := g.Metadata["tokenizer.ggml.scores"]; ok {
		f, ok := s.([]float32)
		if !ok || len(f) != len(toks) {
			return nil, fmt.Errorf("metadata %q: want %d float32 values", "tokenizer.ggml.scores", len(toks))
		}
		copy(scores, f)
	}
	var types []int32
	if t, ok := g.Metadata["tokenizer.ggml.token_type"]; ok {
		tt, ok := intArray(t)
		if !ok || len(tt) != len(toks) {
			return nil, fmt.Errorf("metadata %q: want %d integer values", "tokenizer.ggml.token_type", len(toks))
		}
		types = tt
	}
	bos, err := g.metaInt("tokenizer.ggml.bos_token_id", 1, false)
	if err != nil {
		return nil, err
	}
	eos, err := g.metaInt("tokenizer.ggml.eos_token_id", 2, false)
	if err != nil {
		return nil, err
	}
	if bos < 0 || bos >= int64(len(toks)) || eos < 0 || eos >= int64(len(toks)) {
		return nil, fmt.Errorf("bos %d / eos %d outside vocabulary of %d", bos, eos, len(toks))
	}
	return NewTokenizer(vocab, scores, types, int(bos), int(eos))
}

// chatTemplate returns the Jinja chat template of tokenizer.chat_template
// ("" when the file has none).
func (g *GGUFFile) chatTemplate() (string, error) {
	const key = "tokenizer.chat_template"
	v, ok := g.Metadata[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("metadata %q: %T is not a string", key, v)
	}
	return s, nil
}

// readTensor decodes tensor ti into dst (len(dst) == number of elements).
func (g *GGUFFile) readTensor(r io.ReaderAt, ti GGUFTensorInfo, dst []float32) error {
	nb, err := g.tensorBytes(ti)
	if err != nil {
		return err
	}
	if int64(len(dst)) != ti.NumElements() {
		return fmt.Errorf("have %d elements, want %d", ti.NumElements(), len(dst))
	}
	elems, bsize, _ := blockInfo(ti.Type)
	// Read in chunks of whole blocks.
	blocksPerChunk := max(1, (1<<18)/bsize)
	buf := make([]byte, min(nb, blocksPerChunk*bsize))
	off := g.DataOffset + int64(ti.Offset)
	for len(dst) > 0 {
		nBlocks := min(int64(len(dst))/elems, blocksPerChunk)
		b := buf[:nBlocks*bsize]
		if _, err := r.ReadAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
		n := nBlocks * elems
		decodeBlocks(ti.Type, b, dst[:n])
		dst = dst[n:]
	}
	return nil
}

// decodeBlocks converts raw tensor bytes of type t to float32.
func decodeBlocks(t GGMLType, b []byte, dst []float32) {
	_ = quant.Dequantize(t, b, dst)
}

// F16ToF32 converts an IEEE 754 half-precision value to float32 (exact;
// quant.F16ToF32).
func F16ToF32(h uint16) float32 { return quant.F16ToF32(h) }

// F32ToF16 converts a float32 to half precision, rounding to nearest even
// (quant.F32ToF16).
func F32ToF16(f float32) uint16 { return quant.F32ToF16(f) }
