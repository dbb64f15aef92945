package llama

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Config holds the hyper-parameters of a Llama-architecture transformer.
type Config struct {
	Dim       int // residual stream width
	HiddenDim int // width of the SwiGLU feed-forward layer
	NLayers   int // number of transformer blocks
	NHeads    int // number of query heads
	NKVHeads  int // number of key/value heads (grouped-query attention when < NHeads)
	VocabSize int // number of tokens
	SeqLen    int // maximum context length (positions)

	// SharedClassifier is true when the output classifier reuses the
	// token-embedding matrix.
	SharedClassifier bool
	// NormEps is the RMSNorm epsilon (1e-5 when zero).
	NormEps float32
	// RopeTheta is the RoPE frequency base (10000 when zero).
	RopeTheta float32
	// RopeDim is the number of dimensions of each head that are rotated
	// (the head size when zero).
	RopeDim int
	// RopeNeoX selects the "rotate half" RoPE layout (pairs i and
	// i+RopeDim/2) used by Hugging Face checkpoints instead of the
	// interleaved-pairs layout of llama2.c and GGUF llama files.
	RopeNeoX bool
}

// HeadSize returns Dim / NHeads.
func (c Config) HeadSize() int { return c.Dim / c.NHeads }

// KVDim returns the width of the key and value projections.
func (c Config) KVDim() int { return c.HeadSize() * c.NKVHeads }

func (c Config) eps() float32 {
	if c.NormEps == 0 {
		return 1e-5
	}
	return c.NormEps
}

func (c Config) ropeTheta() float32 {
	if c.RopeTheta == 0 {
		return 10000
	}
	return c.RopeTheta
}

func (c Config) ropeDim() int {
	if c.RopeDim == 0 {
		return c.HeadSize()
	}
	return c.RopeDim
}

// maxDim bounds every single hyper-parameter so that products of a few of
// them cannot overflow int64 arithmetic.
const maxDim = 1 << 24

// Validate reports whether the configuration is internally consistent.
func (c Config) Validate() error {
	type f struct {
		name string
		v    int
	}
	for _, x := range []f{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.NLayers},
		{"n_heads", c.NHeads}, {"n_kv_heads", c.NKVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen}} {
		if x.v <= 0 || x.v > maxDim {
			return fmt.Errorf("invalid config: %s=%d out of range", x.name, x.v)
		}
	}
	if c.Dim%c.NHeads != 0 {
		return fmt.Errorf("invalid config: dim %d not divisible by n_heads %d", c.Dim, c.NHeads)
	}
	if c.NKVHeads > c.NHeads || c.NHeads%c.NKVHeads != 0 {
		return fmt.Errorf("invalid config: n_heads %d not a multiple of n_kv_heads %d", c.NHeads, c.NKVHeads)
	}
	rd := c.ropeDim()
	if rd <= 0 || rd > c.HeadSize() || rd%2 != 0 {
		return fmt.Errorf("invalid config: rope dimension %d for head size %d", rd, c.HeadSize())
	}
	if c.HeadSize()%2 != 0 {
		return fmt.Errorf("invalid config: odd head size %d", c.HeadSize())
	}
	// Estimate in float64 first: the int64 products could overflow.
	dim, hid, nl := float64(c.Dim), float64(c.HiddenDim), float64(c.NLayers)
	est := 2*float64(c.VocabSize)*dim + nl*(4*dim*dim+3*dim*hid+2*dim)
	if est > 1<<37 {
		return fmt.Errorf("invalid config: about %.3g parameters", est)
	}
	if n := c.NumParams(); n <= 0 || n > 1<<36 {
		return fmt.Errorf("invalid config: %d parameters", n)
	}
	return nil
}

// NumParams returns the number of float parameters of a model with this
// configuration (the classifier is counted once when shared).
func (c Config) NumParams() int64 {
	dim, hid, nl := int64(c.Dim), int64(c.HiddenDim), int64(c.NLayers)
	hs := int64(c.HeadSize())
	q := int64(c.NHeads) * hs
	kv := int64(c.NKVHeads) * hs
	n := int64(c.VocabSize)*dim + nl*(dim+dim*q+2*dim*kv+q*dim+dim+3*dim*hid) + dim
	if !c.SharedClassifier {
		n += int64(c.VocabSize) * dim
	}
	return n
}

// layerWeightsOf are views into a model's flat parameter vector for one
// block, in float32 (inference, batched training) or float64 (the reference
// gradient). Matrices are row-major with one row per output unit.
type layerWeightsOf[T float32 | float64] struct {
	attnNorm []T // [dim]
	wq       []T // [n_heads*head_size][dim]
	wk       []T // [kv_dim][dim]
	wv       []T // [kv_dim][dim]
	wo       []T // [dim][n_heads*head_size]
	ffnNorm  []T // [dim]
	w1       []T // [hidden][dim] (gate)
	w2       []T // [dim][hidden] (down)
	w3       []T // [hidden][dim] (up)
}

// weightsOf are views into a flat parameter vector.
type weightsOf[T float32 | float64] struct {
	tokEmb    []T // [vocab][dim]
	layers    []layerWeightsOf[T]
	finalNorm []T // [dim]
	wcls      []T // [vocab][dim]; aliases tokEmb when shared
}

type (
	weights      = weightsOf[float32]
	layerWeights = layerWeightsOf[float32]
	weights64    = weightsOf[float64]
)

// layoutWeights slices buf (of length NumParams) into named tensors. The
// order is tokEmb, then per layer attnNorm wq wk wv wo ffnNorm w1 w2 w3,
// then finalNorm and wcls.
func layoutWeights(c Config, buf []float32) weights { return layoutWeightsOf(c, buf) }

// layoutWeights64 is layoutWeights for a float64 parameter vector.
func layoutWeights64(c Config, buf []float64) weights64 { return layoutWeightsOf(c, buf) }

func layoutWeightsOf[T float32 | float64](c Config, buf []T) weightsOf[T] {
	off := 0
	take := func(n int) []T {
		s := buf[off : off+n : off+n]
		off += n
		return s
	}
	dim, hid := c.Dim, c.HiddenDim
	qd := c.NHeads * c.HeadSize()
	kvd := c.KVDim()
	var w weightsOf[T]
	w.tokEmb = take(c.VocabSize * dim)
	w.layers = make([]layerWeightsOf[T], c.NLayers)
	for l := range w.layers {
		lw := &w.layers[l]
		lw.attnNorm = take(dim)
		lw.wq = take(qd * dim)
		lw.wk = take(kvd * dim)
		lw.wv = take(kvd * dim)
		lw.wo = take(dim * qd)
		lw.ffnNorm = take(dim)
		lw.w1 = take(hid * dim)
		lw.w2 = take(dim * hid)
		lw.w3 = take(hid * dim)
	}
	w.finalNorm = take(dim)
	if c.SharedClassifier {
		w.wcls = w.tokEmb
	} else {
		w.wcls = take(c.VocabSize * dim)
	}
	return w
}

// Model is a loaded Llama-architecture transformer. A Model is immutable
// after loading (except through the training API) and may be shared by many
// goroutines, each using its own [State].
type Model struct {
	Config Config
	// Tokenizer converts between text and token ids. It is nil when a
	// llama2.c checkpoint was loaded without a tokenizer file.
	Tokenizer *Tokenizer

	params []float32 // all weights, laid out by layoutWeights; nil while the weights live only in their file encoding
	w      weights

	inf *infWeights // the matrices inference reads (views of params, or file blocks)
	qs  quantState

	threads int // goroutines per State (0: GOMAXPROCS)

	ropeFreq []float32 // [rope_dim/2] rotation frequency of each pair
}

// NewModel allocates a model with zero weights for cfg. It is mostly useful
// for tests and training from scratch.
func NewModel(cfg Config, tok *Tokenizer) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params := make([]float32, cfg.NumParams())
	return newModel(cfg, tok, params), nil
}

func newModel(cfg Config, tok *Tokenizer, params []float32) *Model {
	m := &Model{Config: cfg, Tokenizer: tok, params: params}
	m.w = layoutWeights(cfg, params)
	m.inf = viewsOf(cfg, &m.w)
	m.initRope()
	return m
}

// Params returns the flat parameter vector of the model (shared, not a
// copy). A model read from a quantised GGUF file is first expanded to
// float32 ([Model.Dequantize]).
func (m *Model) Params() []float32 {
	m.mustF32()
	return m.params
}

// initRope precomputes the rotation frequency of each pair of a head,
// using the single-precision formula freq = 1/theta^(2j/rope_dim).
func (m *Model) initRope() {
	rd := m.Config.ropeDim()
	m.ropeFreq = make([]float32, rd/2)
	theta := float64(m.Config.ropeTheta())
	for j := range m.ropeFreq {
		exp := float32(2*j) / float32(rd)
		m.ropeFreq[j] = float32(1.0) / float32(math.Pow(theta, float64(exp)))
	}
}

// ConvertRopeLayout permutes the rows of every query and key projection
// between the interleaved RoPE layout (pairs 2j, 2j+1; llama2.c and GGUF
// llama files) and the rotate-half layout (pairs j, j+d/2; Hugging Face
// checkpoints), and switches Config.RopeNeoX accordingly. The model
// computes the same function before and after the conversion.
func (m *Model) ConvertRopeLayout(neox bool) {
	if m.Config.RopeNeoX == neox {
		return
	}
	m.mustF32()
	c := m.Config
	hs, rd := c.HeadSize(), c.ropeDim()
	half := rd / 2
	// perm[dst] = src row inside one head.
	perm := make([]int, hs)
	for i := range perm {
		perm[i] = i
	}
	for j := 0; j < half; j++ {
		if neox { // interleaved -> rotate-half
			perm[j], perm[j+half] = 2*j, 2*j+1
		} else {
			perm[2*j], perm[2*j+1] = j, j+half
		}
	}
	tmp := make([]float32, hs*c.Dim)
	apply := func(w []float32) {
		for h := 0; h*hs*c.Dim < len(w); h++ {
			head := w[h*hs*c.Dim : (h+1)*hs*c.Dim]
			copy(tmp, head)
			for dst, src := range perm {
				copy(head[dst*c.Dim:(dst+1)*c.Dim], tmp[src*c.Dim:(src+1)*c.Dim])
			}
		}
	}
	for l := range m.w.layers {
		apply(m.w.layers[l].wq)
		apply(m.w.layers[l].wk)
	}
	m.Config.RopeNeoX = neox
}

// Magic numbers of the supported file formats.
const (
	ggufMagic = 0x46554747 // "GGUF" little endian
)

// Load reads a model from path, choosing the format from the file magic:
// GGUF files start with "GGUF", anything else is parsed as a llama2.c legacy
// checkpoint. For llama2.c checkpoints the tokenizer is looked up next to
// the checkpoint as tok<vocab_size>.bin or tokenizer.bin; if neither exists
// the model is returned with a nil Tokenizer. Paths of the form
// hf://owner/repo/path are first downloaded with [DefaultHFClient].
func Load(path string) (*Model, error) {
	if strings.HasPrefix(path, "hf://") {
		local, err := DefaultHFClient().Fetch(path)
		if err != nil {
			return nil, err
		}
		path = local
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, fmt.Errorf("load %s: read magic: %w", path, err)
	}
	if bytes.Equal(magic[:], []byte("GGUF")) {
		return LoadGGUF(path)
	}
	m, err := LoadLlama2c(path, "")
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for _, name := range []string{fmt.Sprintf("tok%d.bin", m.Config.VocabSize), "tokenizer.bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		tok, err := LoadLlama2cTokenizer(p, m.Config.VocabSize)
		if err != nil {
			return nil, err
		}
		m.Tokenizer = tok
		break
	}
	return m, nil
}

// ErrNoTokenizer is returned by text-based APIs of a model without tokenizer.
var ErrNoTokenizer = errors.New("llama: model has no tokenizer")
