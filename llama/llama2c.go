package llama

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// llama2cHeaderSize is the size of the seven int32 header fields.
const llama2cHeaderSize = 7 * 4

// LoadLlama2c loads a llama2.c legacy checkpoint. When tokPath is not empty
// the llama2.c tokenizer file at tokPath is loaded as well.
func LoadLlama2c(path, tokPath string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read llama2c %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read llama2c %s: %w", path, err)
	}
	m, err := ReadLlama2c(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read llama2c %s: %w", path, err)
	}
	if tokPath != "" {
		tok, err := LoadLlama2cTokenizer(tokPath, m.Config.VocabSize)
		if err != nil {
			return nil, err
		}
		m.Tokenizer = tok
	}
	return m, nil
}

// ReadLlama2c parses a llama2.c legacy checkpoint of the given total size.
// The header holds dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size and seq_len as int32; a negative vocab_size means the
// classifier has its own weights after the (skipped) RoPE tables.
func ReadLlama2c(r io.ReaderAt, size int64) (*Model, error) {
	if size < llama2cHeaderSize {
		return nil, fmt.Errorf("file too short for header: %d bytes", size)
	}
	var hdr [llama2cHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if binary.LittleEndian.Uint32(hdr[:]) == 0x616b3432 { // "ak42"
		return nil, fmt.Errorf("llama2.c export format version %d (magic \"ak42\") is not supported; use the legacy format or GGUF",
			int32(binary.LittleEndian.Uint32(hdr[4:])))
	}
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(hdr[4*i:]))
	}
	vocab := int64(h[5])
	shared := vocab > 0
	if vocab < 0 {
		vocab = -vocab
	}
	cfg := Config{
		Dim: int(h[0]), HiddenDim: int(h[1]), NLayers: int(h[2]), NHeads: int(h[3]),
		NKVHeads: int(h[4]), VocabSize: int(vocab), SeqLen: int(h[6]),
		SharedClassifier: shared,
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	nParams := cfg.NumParams()
	// The checkpoint stores seq_len*head_size/2 floats each for the real and
	// imaginary RoPE tables between the final norm and the classifier.
	ropeFloats := int64(cfg.SeqLen) * int64(cfg.HeadSize())
	need := llama2cHeaderSize + 4*(nParams+ropeFloats)
	if size < need {
		return nil, fmt.Errorf("file has %d bytes, config %+v needs %d", size, cfg, need)
	}
	params := make([]float32, nParams)
	w := layoutWeights(cfg, params)
	// The file groups each tensor kind across all layers: embeddings, all
	// attention norms, all wq, all wk, ... in the order below.
	groups := [][]float32{w.tokEmb}
	for _, sel := range []func(*layerWeights) []float32{
		func(l *layerWeights) []float32 { return l.attnNorm },
		func(l *layerWeights) []float32 { return l.wq },
		func(l *layerWeights) []float32 { return l.wk },
		func(l *layerWeights) []float32 { return l.wv },
		func(l *layerWeights) []float32 { return l.wo },
		func(l *layerWeights) []float32 { return l.ffnNorm },
		func(l *layerWeights) []float32 { return l.w1 },
		func(l *layerWeights) []float32 { return l.w2 },
		func(l *layerWeights) []float32 { return l.w3 },
	} {
		for l := range w.layers {
			groups = append(groups, sel(&w.layers[l]))
		}
	}
	groups = append(groups, w.finalNorm)
	off := int64(llama2cHeaderSize)
	for _, g := range groups {
		if err := readFloat32s(r, off, g); err != nil {
			return nil, fmt.Errorf("weights at offset %d: %w", off, err)
		}
		off += 4 * int64(len(g))
	}
	if !shared {
		off += 4 * ropeFloats
		if err := readFloat32s(r, off, w.wcls); err != nil {
			return nil, fmt.Errorf("classifier weights at offset %d: %w", off, err)
		}
	}
	return newModel(cfg, nil, params), nil
}

// readFloat32s fills dst with little-endian float32 values read at off.
func readFloat32s(r io.ReaderAt, off int64, dst []float32) error {
	const chunk = 1 << 16
	buf := make([]byte, 4*min(chunk, len(dst)))
	for len(dst) > 0 {
		n := min(chunk, len(dst))
		b := buf[:4*n]
		if _, err := r.ReadAt(b, off); err != nil {
			return err
		}
		for i := range dst[:n] {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		dst = dst[n:]
		off += int64(4 * n)
	}
	return nil
}

// LoadLlama2cTokenizer reads a llama2.c tokenizer file holding vocabSize
// tokens: an int32 max_token_length, then for each token a float32 score,
// an int32 byte length and the bytes.
func LoadLlama2cTokenizer(path string, vocabSize int) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer %s: %w", path, err)
	}
	tok, err := ParseLlama2cTokenizer(data, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer %s: %w", path, err)
	}
	return tok, nil
}

// ParseLlama2cTokenizer parses the bytes of a llama2.c tokenizer file.
func ParseLlama2cTokenizer(data []byte, vocabSize int) (*Tokenizer, error) {
	if vocabSize <= 0 || vocabSize > maxDim {
		return nil, fmt.Errorf("invalid vocab size %d", vocabSize)
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("file too short (%d bytes)", len(data))
	}
	if int64(len(data)-4) < int64(vocabSize)*8 {
		return nil, fmt.Errorf("file of %d bytes cannot hold %d tokens", len(data), vocabSize)
	}
	off := 4
	vocab := make([]string, vocabSize)
	scores := make([]float32, vocabSize)
	for i := 0; i < vocabSize; i++ {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("token %d: truncated record", i)
		}
		scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || int(n) > len(data)-off {
			return nil, fmt.Errorf("token %d: length %d exceeds file", i, n)
		}
		vocab[i] = string(data[off : off+int(n)])
		off += int(n)
	}
	return NewTokenizer(vocab, scores, nil, 1, 2)
}
