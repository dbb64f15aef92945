package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// llama2cOrder lists the embedding and the per-layer tensors in the order
// of a llama2.c file, which groups each tensor kind across all layers:
// embeddings, all attention norms, all wq, all wk, and so on.
func llama2cOrder(w *weights) [][]float32 {
	out := [][]float32{w.tokEmb}
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
			out = append(out, sel(&w.layers[l]))
		}
	}
	return out
}

// readModelFile opens path and reads a model from it with read; errors
// name the format and the file.
func readModelFile(path, format string, read func(io.ReaderAt, int64) (*Model, error)) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", format, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", format, path, err)
	}
	m, err := read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", format, path, err)
	}
	return m, nil
}

// llama2cHeaderSize is the size of the seven int32 header fields.
const llama2cHeaderSize = 7 * 4

// LoadLlama2c loads a llama2.c legacy checkpoint. When tokPath is not empty
// the llama2.c tokenizer file at tokPath is loaded as well.
func LoadLlama2c(path, tokPath string) (*Model, error) {
	m, err := readModelFile(path, "llama2c", ReadLlama2c)
	if err != nil {
		return nil, err
	}
	if tokPath != "" {
		tok, err := LoadLlama2cTokenizer(tokPath, m.Config.VocabSize)
		if err != nil {
			return nil, fmt.Errorf("read llama2c %s: %w", path, err)
		}
		m.Tokenizer = tok
	}
	return m, nil
}

// ReadLlama2c parses a llama2.c legacy checkpoint of the given total size.
// The header holds dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size and seq_len as int32; a negative vocab_size means the
// classifier has its own weights after the (skipped) RoPE tables. The
// size must be exactly the one the header implies: the format has no
// trailer, so a size mismatch means a truncated or corrupted file.
func ReadLlama2c(r io.ReaderAt, size int64) (*Model, error) {
	cfg, err := llama2cHeader(r, size)
	if err != nil {
		return nil, err
	}
	shared := cfg.SharedClassifier
	nParams := cfg.NumParams()
	// The checkpoint stores seq_len*head_size/2 floats each for the real and
	// imaginary RoPE tables between the final norm and the classifier.
	ropeFloats := int64(cfg.SeqLen) * int64(cfg.HeadSize())
	params := make([]float32, nParams)
	w := layoutWeights(cfg, params)
	// The file groups each tensor kind across all layers: embeddings, all
	// attention norms, all wq, all wk, ... in the order below.
	groups := append(llama2cOrder(&w), w.finalNorm)
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

// ErrTokenizerMismatch is wrapped by the errors of the loaders when a
// tokenizer does not have as many tokens as the model's vocabulary.
var ErrTokenizerMismatch = errors.New("llama: tokenizer does not match the model")

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

// ParseLlama2cTokenizer parses the bytes of a llama2.c tokenizer file,
// which must hold exactly vocabSize tokens: the format has no token count,
// so a file with more or fewer complete records is a tokenizer of another
// model and yields an error wrapping ErrTokenizerMismatch that names both
// sizes.
func ParseLlama2cTokenizer(data []byte, vocabSize int) (*Tokenizer, error) {
	if vocabSize <= 0 || vocabSize > maxDim {
		return nil, fmt.Errorf("invalid vocab size %d", vocabSize)
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("file too short (%d bytes)", len(data))
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen < 0 {
		return nil, fmt.Errorf("negative max_token_length %d", maxLen)
	}
	// Walk the records first, without allocating: count the tokens the
	// file holds and find the first malformed record, if any.
	var bad error
	count, longest := 0, 0
	for off := 4; off < len(data); count++ {
		if len(data)-off < 8 {
			bad = fmt.Errorf("token %d: truncated record at offset %d", count, off)
			break
		}
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || int(n) > len(data)-off {
			bad = fmt.Errorf("token %d: length %d exceeds file", count, n)
			break
		}
		longest = max(longest, int(n))
		off += int(n)
	}
	switch {
	case bad != nil && count < vocabSize:
		return nil, bad
	case bad != nil:
		return nil, fmt.Errorf("%w: file has more than the %d tokens of the model vocabulary, then %v",
			ErrTokenizerMismatch, vocabSize, bad)
	case count != vocabSize:
		return nil, fmt.Errorf("%w: file holds %d tokens, model vocabulary has %d", ErrTokenizerMismatch, count, vocabSize)
	case longest > int(maxLen):
		return nil, fmt.Errorf("a token of %d bytes exceeds max_token_length %d", longest, maxLen)
	}
	off := 4
	vocab := make([]string, vocabSize)
	scores := make([]float32, vocabSize)
	for i := range vocab {
		scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		vocab[i] = string(data[off : off+n])
		off += n
	}
	return NewTokenizer(vocab, scores, nil, 1, 2)
}
