package llama

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	// RopeScaling rescales the RoPE frequencies (Llama 3.1+ "llama3").
	RopeScaling RopeScaling

	// Arch is the model family: ArchLlama (also when empty), ArchGPT2 or
	// ArchQwen2. The switches below say what the family changes; use
	// [FamilyConfig] to set them consistently.
	Arch string
	// LayerNorm selects LayerNorm with a bias instead of RMSNorm.
	LayerNorm bool
	// GELU selects a two-matrix feed-forward layer with biases and the
	// tanh-approximated GELU (Hugging Face "gelu_new") instead of SwiGLU.
	GELU bool
	// QKVBias adds a bias to the query, key and value projections.
	QKVBias bool
	// OutBias adds a bias to the attention output projection.
	OutBias bool
	// LearnedPos replaces RoPE by learned absolute position embeddings
	// (SeqLen rows).
	LearnedPos bool
}

// Model families.
const (
	ArchLlama = "llama" // Llama 2/3.x, SmolLM2, TinyLlama, llama2.c
	ArchGPT2  = "gpt2"  // GPT-2
	ArchQwen2 = "qwen2" // Qwen2, Qwen2.5
)

// SupportedArchitectures lists the model families the engine runs.
var SupportedArchitectures = []string{ArchGPT2, ArchLlama, ArchQwen2}

// RopeScaling describes a rescaling of the RoPE frequencies. Type "" means
// none; "llama3" is the Llama 3.1 scheme (wavelengths longer than
// OriginalMaxPos/LowFreqFactor divided by Factor, shorter than
// OriginalMaxPos/HighFreqFactor kept, smooth in between).
type RopeScaling struct {
	Type                                  string
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalMaxPos                        int
}

// ErrUnsupportedArch is wrapped by the errors of loaders that meet a
// model family the engine does not run.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// unsupportedArch returns an error naming the architecture found and the
// supported ones.
func unsupportedArch(found string) error {
	return fmt.Errorf("%w %q (supported: %s)", ErrUnsupportedArch, found, strings.Join(SupportedArchitectures, ", "))
}

// FamilyConfig returns cfg with the family switches of arch set (Arch,
// LayerNorm, GELU, QKVBias, OutBias, LearnedPos; RopeNeoX for the
// families whose checkpoints use the rotate-half layout). An unknown
// family is an error naming it and the supported list.
func FamilyConfig(cfg Config, arch string) (Config, error) {
	cfg.LayerNorm, cfg.GELU, cfg.QKVBias, cfg.OutBias, cfg.LearnedPos = false, false, false, false, false
	switch arch {
	case ArchLlama, "":
		cfg.Arch = ArchLlama
	case ArchQwen2:
		cfg.Arch, cfg.QKVBias, cfg.RopeNeoX = ArchQwen2, true, true
	case ArchGPT2:
		cfg.Arch = ArchGPT2
		cfg.LayerNorm, cfg.GELU, cfg.QKVBias, cfg.OutBias, cfg.LearnedPos = true, true, true, true, true
	default:
		return cfg, unsupportedArch(arch)
	}
	return cfg, nil
}

// Family returns the model family (ArchLlama when Arch is empty).
func (c Config) Family() string {
	if c.Arch == "" {
		return ArchLlama
	}
	return c.Arch
}

// isPlainLlama reports whether the configuration uses none of the family
// switches, i.e. is the llama2.c architecture.
func (c Config) isPlainLlama() bool {
	return c.Family() == ArchLlama && !c.LayerNorm && !c.GELU && !c.QKVBias && !c.OutBias && !c.LearnedPos
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
	if !slices.Contains(SupportedArchitectures, c.Family()) {
		return fmt.Errorf("invalid config: %w", unsupportedArch(c.Arch))
	}
	if rs := c.RopeScaling; rs.Type != "" {
		if rs.Type != "llama3" {
			return fmt.Errorf("invalid config: rope scaling type %q (supported: llama3)", rs.Type)
		}
		if !(rs.Factor >= 1) || !(rs.LowFreqFactor > 0) || !(rs.HighFreqFactor > rs.LowFreqFactor) || rs.OriginalMaxPos <= 0 {
			return fmt.Errorf("invalid config: llama3 rope scaling factor %g, low %g, high %g, original context %d",
				rs.Factor, rs.LowFreqFactor, rs.HighFreqFactor, rs.OriginalMaxPos)
		}
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
	est := 2*float64(c.VocabSize)*dim + float64(c.SeqLen)*dim + nl*(4*dim*dim+3*dim*hid+2*dim)
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
	one := c
	one.NLayers = 1
	_, n1 := layoutWeightsN[float32](one, nil) // embeddings, final norm and one layer
	one.NLayers = 0
	_, n0 := layoutWeightsN[float32](one, nil)
	return int64(n0) + int64(c.NLayers)*int64(n1-n0)
}

// layerWeightsOf are views into a model's flat parameter vector for one
// block, in float32 (inference, batched training) or float64 (the reference
// gradient). Matrices are row-major with one row per output unit.
//
// Tensors a family does not have are empty slices: the biases, the norm
// biases (LayerNorm), w3 (GELU feed-forward) and posEmb (RoPE families).
type layerWeightsOf[T float32 | float64] struct {
	attnNorm  []T // [dim]
	attnNormB []T // [dim] LayerNorm bias
	wq        []T // [n_heads*head_size][dim]
	bq        []T // [n_heads*head_size]
	wk        []T // [kv_dim][dim]
	bk        []T // [kv_dim]
	wv        []T // [kv_dim][dim]
	bv        []T // [kv_dim]
	wo        []T // [dim][n_heads*head_size]
	bo        []T // [dim]
	ffnNorm   []T // [dim]
	ffnNormB  []T // [dim]
	w1        []T // [hidden][dim] (gate; up for GELU)
	b1        []T // [hidden] (GELU)
	w2        []T // [dim][hidden] (down)
	b2        []T // [dim] (GELU)
	w3        []T // [hidden][dim] (up; SwiGLU only)
}

// weightsOf are views into a flat parameter vector.
type weightsOf[T float32 | float64] struct {
	tokEmb     []T // [vocab][dim]
	posEmb     []T // [seq_len][dim] (learned positions)
	layers     []layerWeightsOf[T]
	finalNormB []T // [dim] LayerNorm bias
	finalNorm  []T // [dim]
	wcls       []T // [vocab][dim]; aliases tokEmb when shared
}

type (
	weights      = weightsOf[float32]
	layerWeights = layerWeightsOf[float32]
	weights64    = weightsOf[float64]
)

// layoutWeights slices buf (of length NumParams) into named tensors. The
// order is tokEmb, posEmb, then per layer attnNorm attnNormB wq bq wk bk
// wv bv wo bo ffnNorm ffnNormB w1 b1 w2 b2 w3, then finalNormB, finalNorm
// and wcls; tensors a family lacks are empty, so the llama layout is
// tokEmb, per layer attnNorm wq wk wv wo ffnNorm w1 w2 w3, finalNorm, wcls.
func layoutWeights(c Config, buf []float32) weights { return layoutWeightsOf(c, buf) }

// layoutWeights64 is layoutWeights for a float64 parameter vector.
func layoutWeights64(c Config, buf []float64) weights64 { return layoutWeightsOf(c, buf) }

func layoutWeightsOf[T float32 | float64](c Config, buf []T) weightsOf[T] {
	w, _ := layoutWeightsN(c, buf)
	return w
}

// layoutWeightsN is layoutWeightsOf that also returns the number of
// parameters; with a nil buf it only counts (every view is nil).
func layoutWeightsN[T float32 | float64](c Config, buf []T) (weightsOf[T], int) {
	off := 0
	take := func(n int) []T {
		if buf == nil {
			off += n
			return nil
		}
		s := buf[off : off+n : off+n]
		off += n
		return s
	}
	opt := func(on bool, n int) []T {
		if !on {
			return take(0)
		}
		return take(n)
	}
	dim, hid := c.Dim, c.HiddenDim
	qd := c.NHeads * c.HeadSize()
	kvd := c.KVDim()
	var w weightsOf[T]
	w.tokEmb = take(c.VocabSize * dim)
	w.posEmb = opt(c.LearnedPos, c.SeqLen*dim)
	w.layers = make([]layerWeightsOf[T], c.NLayers)
	for l := range w.layers {
		lw := &w.layers[l]
		lw.attnNorm = take(dim)
		lw.attnNormB = opt(c.LayerNorm, dim)
		lw.wq = take(qd * dim)
		lw.bq = opt(c.QKVBias, qd)
		lw.wk = take(kvd * dim)
		lw.bk = opt(c.QKVBias, kvd)
		lw.wv = take(kvd * dim)
		lw.bv = opt(c.QKVBias, kvd)
		lw.wo = take(dim * qd)
		lw.bo = opt(c.OutBias, dim)
		lw.ffnNorm = take(dim)
		lw.ffnNormB = opt(c.LayerNorm, dim)
		lw.w1 = take(hid * dim)
		lw.b1 = opt(c.GELU, hid)
		lw.w2 = take(dim * hid)
		lw.b2 = opt(c.GELU, dim)
		lw.w3 = opt(!c.GELU, hid*dim)
	}
	w.finalNormB = opt(c.LayerNorm, dim)
	w.finalNorm = take(dim)
	if c.SharedClassifier {
		w.wcls = w.tokEmb
	} else {
		w.wcls = take(c.VocabSize * dim)
	}
	return w, off
}

// Model is a loaded Llama-architecture transformer. A Model is immutable
// after loading (except through the training API) and may be shared by many
// goroutines, each using its own [State].
type Model struct {
	Config Config
	// Tokenizer converts between text and token ids: a *Tokenizer
	// (SentencePiece) for llama2.c and GGUF llama files, a byte-level BPE
	// tokenizer for GPT-2 style vocabularies. It is nil when a llama2.c
	// checkpoint was loaded without a tokenizer file.
	Tokenizer TextTokenizer

	hfFiles map[string][]byte // tokenizer files of a Hugging Face folder, saved back by SaveHF
	// ChatTemplate is the model's Jinja chat template (GGUF
	// tokenizer.chat_template, or a Hugging Face folder's
	// chat_template.jinja / tokenizer_config.json chat_template); empty
	// when the model has none. Package chat renders it; WriteGGUF writes
	// it back.
	ChatTemplate string

	params []float32 // all weights, laid out by layoutWeights; nil while the weights live only in their file encoding
	w      weights

	inf *infWeights // the matrices inference reads (views of params, or file blocks)
	qs  quantState

	threads int      // goroutines per State (0: GOMAXPROCS)
	kvType  GGMLType // element type of new States' key/value caches (kvcache.go)

	ropeFreq []float32 // [rope_dim/2] rotation frequency of each pair
}

// NewModel allocates a model with zero weights for cfg. It is mostly useful
// for tests and training from scratch.
func NewModel(cfg Config, tok TextTokenizer) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params := make([]float32, cfg.NumParams())
	return newModel(cfg, tok, params), nil
}

func newModel(cfg Config, tok TextTokenizer, params []float32) *Model {
	if t, ok := tok.(*Tokenizer); ok && t == nil {
		tok = nil // no typed nil inside the interface
	}
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
	if rs := m.Config.RopeScaling; rs.Type == "llama3" {
		lowWave := float64(rs.OriginalMaxPos) / rs.LowFreqFactor
		highWave := float64(rs.OriginalMaxPos) / rs.HighFreqFactor
		for j, f32 := range m.ropeFreq {
			f := float64(f32)
			wave := 2 * math.Pi / f
			switch {
			case wave > lowWave:
				f /= rs.Factor
			case wave >= highWave:
				smooth := (float64(rs.OriginalMaxPos)/wave - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
				f = (1-smooth)*f/rs.Factor + smooth*f
			}
			m.ropeFreq[j] = float32(f)
		}
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
	apply := func(w []float32, n int) { // rows of n values
		for h := 0; h*hs*n < len(w); h++ {
			head := w[h*hs*n : (h+1)*hs*n]
			copy(tmp, head)
			for dst, src := range perm {
				copy(head[dst*n:(dst+1)*n], tmp[src*n:(src+1)*n])
			}
		}
	}
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		apply(lw.wq, c.Dim)
		apply(lw.wk, c.Dim)
		apply(lw.bq, 1)
		apply(lw.bk, 1)
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
// the model is returned with a nil Tokenizer. A directory with a
// config.json is a Hugging Face checkpoint folder ([LoadHF]). Load reads
// local paths only: hf:// references are downloaded by the caller first
// (package llm's ResolveModel).
func Load(path string) (*Model, error) {
	if strings.HasPrefix(path, "hf://") {
		return nil, fmt.Errorf("load %s: hf:// references are downloaded before loading (llm.ResolveModel); llama reads local paths only", path)
	}
	if IsHFFolder(path) {
		return LoadHF(path)
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
