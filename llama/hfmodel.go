package llama

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Hugging Face checkpoint folders: config.json, model.safetensors (or
// shards listed by model.safetensors.index.json) and tokenizer files.

// hfConfig holds the config.json fields of the supported families.
type hfConfig struct {
	Architectures []string `json:"architectures"`
	ModelType     string   `json:"model_type"`

	// llama / qwen2
	HiddenSize        int             `json:"hidden_size"`
	IntermediateSize  int             `json:"intermediate_size"`
	NumHiddenLayers   int             `json:"num_hidden_layers"`
	NumAttentionHeads int             `json:"num_attention_heads"`
	NumKeyValueHeads  int             `json:"num_key_value_heads"`
	HeadDim           int             `json:"head_dim"`
	MaxPosition       int             `json:"max_position_embeddings"`
	RMSNormEps        float64         `json:"rms_norm_eps"`
	RopeTheta         float64         `json:"rope_theta"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	AttentionBias     bool            `json:"attention_bias"`
	MLPBias           bool            `json:"mlp_bias"`
	HiddenAct         string          `json:"hidden_act"`
	UseSlidingWindow  bool            `json:"use_sliding_window"`

	// gpt2
	NEmbd       int     `json:"n_embd"`
	NLayer      int     `json:"n_layer"`
	NHead       int     `json:"n_head"`
	NPositions  int     `json:"n_positions"`
	NInner      *int    `json:"n_inner"`
	LayerNormEp float64 `json:"layer_norm_epsilon"`
	Activation  string  `json:"activation_function"`
	ScaleByIdx  bool    `json:"scale_attn_by_inverse_layer_idx"`
	ReorderAttn bool    `json:"reorder_and_upcast_attn"`

	VocabSize int `json:"vocab_size"`
	BOS       any `json:"bos_token_id"`
	EOS       any `json:"eos_token_id"`
}

// hfArch maps config.json's model_type or architectures to a family.
func (h *hfConfig) arch() (string, error) {
	byClass := map[string]string{"GPT2LMHeadModel": ArchGPT2, "GPT2Model": ArchGPT2,
		"LlamaForCausalLM": ArchLlama, "Qwen2ForCausalLM": ArchQwen2}
	switch h.ModelType {
	case ArchGPT2, ArchLlama, ArchQwen2:
		return h.ModelType, nil
	case "":
		for _, a := range h.Architectures {
			if f, ok := byClass[a]; ok {
				return f, nil
			}
		}
	}
	found := h.ModelType
	if found == "" {
		found = strings.Join(h.Architectures, ", ")
	}
	return "", unsupportedArch(found)
}

// ParseHFConfig turns the contents of a Hugging Face config.json into a
// Config. Unsupported families and options are errors naming the field.
func ParseHFConfig(data []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	arch, err := h.arch()
	if err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	var c Config
	switch arch {
	case ArchGPT2:
		c = Config{Dim: h.NEmbd, NLayers: h.NLayer, NHeads: h.NHead, NKVHeads: h.NHead, VocabSize: h.VocabSize,
			SeqLen: h.NPositions, SharedClassifier: true, NormEps: float32(h.LayerNormEp)}
		c.HiddenDim = 4 * h.NEmbd
		if h.NInner != nil {
			c.HiddenDim = *h.NInner
		}
		if c.NormEps == 0 {
			c.NormEps = 1e-5
		}
		if h.TieWordEmbeddings != nil && !*h.TieWordEmbeddings {
			return Config{}, errors.New("config.json: tie_word_embeddings false is not supported for gpt2")
		}
		switch h.Activation {
		case "gelu_new", "gelu_pytorch_tanh", "":
		default:
			return Config{}, fmt.Errorf("config.json: activation_function %q is not supported (want gelu_new)", h.Activation)
		}
		if h.ScaleByIdx || h.ReorderAttn {
			return Config{}, errors.New("config.json: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported")
		}
	case ArchLlama, ArchQwen2:
		c = Config{Dim: h.HiddenSize, HiddenDim: h.IntermediateSize, NLayers: h.NumHiddenLayers,
			NHeads: h.NumAttentionHeads, NKVHeads: h.NumKeyValueHeads, VocabSize: h.VocabSize,
			SeqLen: h.MaxPosition, NormEps: float32(h.RMSNormEps), RopeTheta: float32(h.RopeTheta), RopeNeoX: true}
		if c.NKVHeads == 0 {
			c.NKVHeads = c.NHeads
		}
		if c.NormEps == 0 {
			c.NormEps = 1e-6
		}
		if c.RopeTheta == 0 {
			c.RopeTheta = 10000
		}
		c.SharedClassifier = h.TieWordEmbeddings != nil && *h.TieWordEmbeddings
		if h.HeadDim != 0 && h.NumAttentionHeads != 0 && h.HeadDim*h.NumAttentionHeads != h.HiddenSize {
			return Config{}, fmt.Errorf("config.json: head_dim %d × %d heads differs from hidden_size %d (not supported)", h.HeadDim, h.NumAttentionHeads, h.HiddenSize)
		}
		if h.HiddenAct != "" && h.HiddenAct != "silu" {
			return Config{}, fmt.Errorf("config.json: hidden_act %q is not supported (want silu)", h.HiddenAct)
		}
		if arch == ArchLlama && (h.AttentionBias || h.MLPBias) {
			return Config{}, errors.New("config.json: attention_bias / mlp_bias are not supported for llama")
		}
		if h.UseSlidingWindow {
			return Config{}, errors.New("config.json: use_sliding_window is not supported")
		}
		if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
			var rs struct {
				RopeType string   `json:"rope_type"`
				Type     string   `json:"type"`
				Factor   float64  `json:"factor"`
				Low      float64  `json:"low_freq_factor"`
				High     float64  `json:"high_freq_factor"`
				Orig     *float64 `json:"original_max_position_embeddings"`
			}
			if err := json.Unmarshal(h.RopeScaling, &rs); err != nil {
				return Config{}, fmt.Errorf("config.json: rope_scaling: %w", err)
			}
			t := rs.RopeType
			if t == "" {
				t = rs.Type
			}
			switch t {
			case "default":
			case "llama3":
				if rs.Orig == nil {
					return Config{}, errors.New("config.json: rope_scaling: missing original_max_position_embeddings")
				}
				c.RopeScaling = RopeScaling{Type: "llama3", Factor: rs.Factor, LowFreqFactor: rs.Low, HighFreqFactor: rs.High, OriginalMaxPos: int(*rs.Orig)}
			default:
				return Config{}, fmt.Errorf("config.json: rope_scaling type %q is not supported (want llama3)", t)
			}
		}
	}
	c, err = FamilyConfig(c, arch)
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	return c, nil
}

// hfTensor maps one checkpoint tensor to the model's views: parts are the
// model tensors concatenated along the output dimension (GPT-2's fused
// c_attn holds the query, key and value projections); conv marks GPT-2's
// Conv1D weights, stored transposed as [in, out].
type hfTensor struct {
	name  string
	shape []int64 // as stored in the checkpoint
	parts [][]float32
	conv  bool
}

// hfTensors lists the checkpoint tensors of a parameter-shaped vector w
// laid out for c (rotate-half layout for the RoPE families).
func hfTensors(c Config, w weights) []hfTensor {
	dim, hid, V := int64(c.Dim), int64(c.HiddenDim), int64(c.VocabSize)
	qd, kvd := int64(c.NHeads*c.HeadSize()), int64(c.KVDim())
	vec := func(name string, n int64, p []float32) hfTensor {
		return hfTensor{name: name, shape: []int64{n}, parts: [][]float32{p}}
	}
	mat := func(name string, out, in int64, p ...[]float32) hfTensor { // nn.Linear [out, in]
		return hfTensor{name: name, shape: []int64{out, in}, parts: p}
	}
	conv := func(name string, in, out int64, p ...[]float32) hfTensor { // Conv1D [in, out]
		return hfTensor{name: name, shape: []int64{in, out}, parts: p, conv: true}
	}
	var ts []hfTensor
	if c.Family() == ArchGPT2 {
		ts = append(ts, mat("wte.weight", V, dim, w.tokEmb), mat("wpe.weight", int64(c.SeqLen), dim, w.posEmb))
		for l := range w.layers {
			lw := &w.layers[l]
			p := fmt.Sprintf("h.%d.", l)
			ts = append(ts,
				vec(p+"ln_1.weight", dim, lw.attnNorm), vec(p+"ln_1.bias", dim, lw.attnNormB),
				conv(p+"attn.c_attn.weight", dim, qd+2*kvd, lw.wq, lw.wk, lw.wv),
				hfTensor{name: p + "attn.c_attn.bias", shape: []int64{qd + 2*kvd}, parts: [][]float32{lw.bq, lw.bk, lw.bv}},
				conv(p+"attn.c_proj.weight", qd, dim, lw.wo), vec(p+"attn.c_proj.bias", dim, lw.bo),
				vec(p+"ln_2.weight", dim, lw.ffnNorm), vec(p+"ln_2.bias", dim, lw.ffnNormB),
				conv(p+"mlp.c_fc.weight", dim, hid, lw.w1), vec(p+"mlp.c_fc.bias", hid, lw.b1),
				conv(p+"mlp.c_proj.weight", hid, dim, lw.w2), vec(p+"mlp.c_proj.bias", dim, lw.b2),
			)
		}
		ts = append(ts, vec("ln_f.weight", dim, w.finalNorm), vec("ln_f.bias", dim, w.finalNormB))
		return ts
	}
	ts = append(ts, mat("model.embed_tokens.weight", V, dim, w.tokEmb))
	for l := range w.layers {
		lw := &w.layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			vec(p+"input_layernorm.weight", dim, lw.attnNorm),
			mat(p+"self_attn.q_proj.weight", qd, dim, lw.wq),
			mat(p+"self_attn.k_proj.weight", kvd, dim, lw.wk),
			mat(p+"self_attn.v_proj.weight", kvd, dim, lw.wv),
		)
		if c.QKVBias {
			ts = append(ts, vec(p+"self_attn.q_proj.bias", qd, lw.bq), vec(p+"self_attn.k_proj.bias", kvd, lw.bk),
				vec(p+"self_attn.v_proj.bias", kvd, lw.bv))
		}
		ts = append(ts,
			mat(p+"self_attn.o_proj.weight", dim, qd, lw.wo),
			vec(p+"post_attention_layernorm.weight", dim, lw.ffnNorm),
			mat(p+"mlp.gate_proj.weight", hid, dim, lw.w1),
			mat(p+"mlp.up_proj.weight", hid, dim, lw.w3),
			mat(p+"mlp.down_proj.weight", dim, hid, lw.w2),
		)
	}
	ts = append(ts, vec("model.norm.weight", dim, w.finalNorm))
	if !c.SharedClassifier {
		ts = append(ts, mat("lm_head.weight", V, dim, w.wcls))
	}
	return ts
}

// HFTensors returns the tensors of vec (the model's parameters, or a
// gradient with the same layout) under their Hugging Face names and
// shapes, as [Model.SaveHF] writes them. Values are copies.
func (m *Model) HFTensors(vec []float32) ([]NamedTensor, error) {
	if len(vec) != len(m.params) {
		return nil, fmt.Errorf("hf tensors: %d values for %d parameters", len(vec), len(m.params))
	}
	c := m.Config
	w := layoutWeights(c, vec)
	if !c.LearnedPos && !c.RopeNeoX {
		cp := newModel(c, m.Tokenizer, append([]float32(nil), vec...))
		cp.ConvertRopeLayout(true)
		c, w = cp.Config, cp.w
	}
	var out []NamedTensor
	for _, t := range hfTensors(c, w) {
		var data []float32
		for _, p := range t.parts {
			data = append(data, p...)
		}
		if t.conv { // model rows are outputs: store [in, out]
			data = transposed(data, int(t.shape[1]), int(t.shape[0]))
		}
		out = append(out, NamedTensor{Name: t.name, Shape: t.shape, Data: data})
	}
	return out, nil
}

// transposed returns the transpose of the rows × cols matrix a.
func transposed(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// hfTokenizerFiles are copied verbatim from a loaded folder to a saved one.
var hfTokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "generation_config.json", "tokenizer.model", hfChatTemplateFile}

// HFTokenizerFiles lists the tokenizer and chat template files a Hugging
// Face folder may hold besides config.json and the weights ([LoadHF] reads
// them, [Model.SaveHF] writes them back).
func HFTokenizerFiles() []string { return slices.Clone(hfTokenizerFiles) }

// ParseSafetensorsIndex returns the distinct shard names of a
// model.safetensors.index.json (its weight_map values); name labels errors.
// Shard names with a path separator are refused.
func ParseSafetensorsIndex(data []byte, name string) ([]string, error) {
	return parseSafetensorsIndex(data, name)
}

// maxTokenizerFile bounds the tokenizer files kept in memory.
const maxTokenizerFile = 64 << 20

// IsHFFolder reports whether dir looks like a Hugging Face checkpoint
// folder (a directory with a config.json).
func IsHFFolder(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// HFTokenizerLoader builds the tokenizer of a Hugging Face folder from its
// files (tokenizer.json, or encoder.json + vocab.bpe, ...). It returns a
// nil tokenizer and no error when the folder has no tokenizer it knows.
// Packages providing byte-level BPE tokenizers set it.
var HFTokenizerLoader func(dir string) (TextTokenizer, error)

// LoadHF loads a Hugging Face checkpoint folder: config.json, then
// model.safetensors or the shards listed in model.safetensors.index.json
// (F32, F16 or BF16 tensors), the tokenizer through [HFTokenizerLoader]
// and the chat template (chat_template.jinja, or tokenizer_config.json's
// chat_template through the tokenizer) as Model.ChatTemplate. Shapes are checked against the config; a missing or
// misshapen tensor is an error naming the file and the tensor.
func LoadHF(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	c, err := ParseHFConfig(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	files, err := hfWeightFiles(dir)
	if err != nil {
		return nil, err
	}
	// Which file holds which tensor.
	where := map[string]*SafetensorsFile{}
	var closers []io.Closer
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
	}()
	for _, fn := range files {
		f, cl, err := OpenSafetensors(filepath.Join(dir, fn))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		closers = append(closers, cl)
		for name := range f.Tensors {
			where[name] = f
		}
	}
	lookup := func(name string) (*SafetensorsFile, SafeTensor, bool) {
		for _, n := range []string{name, "transformer." + name} {
			if f, ok := where[n]; ok {
				return f, f.Tensors[n], true
			}
		}
		return nil, SafeTensor{}, false
	}
	m, err := NewModel(c, nil)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	for _, t := range hfTensors(c, m.w) {
		f, st, ok := lookup(t.name)
		if !ok {
			return nil, fmt.Errorf("load %s: tensor %q missing from %s", dir, t.name, strings.Join(files, ", "))
		}
		if !slices.Equal(st.Shape, t.shape) {
			return nil, fmt.Errorf("load %s: tensor %q has shape %v in %s, config.json implies %v", dir, t.name, st.Shape, f.Name, t.shape)
		}
		n := 0
		for _, p := range t.parts {
			n += len(p)
		}
		buf := make([]float32, n)
		if err := f.ReadF32(st, buf); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		if t.conv {
			buf = transposed(buf, int(t.shape[0]), int(t.shape[1]))
		}
		for _, p := range t.parts {
			copy(p, buf)
			buf = buf[len(p):]
		}
	}
	m.hfFiles = map[string][]byte{}
	for _, name := range hfTokenizerFiles {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Size() > maxTokenizerFile {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		m.hfFiles[name] = b
	}
	if HFTokenizerLoader != nil {
		tok, err := HFTokenizerLoader(dir)
		if err != nil {
			return nil, fmt.Errorf("load %s: tokenizer: %w", dir, err)
		}
		if tok != nil {
			if tok.VocabSize() > c.VocabSize {
				return nil, fmt.Errorf("load %s: tokenizer has %d tokens, config.json vocab_size %d", dir, tok.VocabSize(), c.VocabSize)
			}
			m.Tokenizer = tok
			if ct, ok := tok.(interface{ ChatTemplate() string }); ok {
				m.ChatTemplate = ct.ChatTemplate()
			}
		}
	}
	// Newer folders keep the template in its own file, which wins over
	// tokenizer_config.json's chat_template (as in transformers).
	if b, ok := m.hfFiles[hfChatTemplateFile]; ok {
		m.ChatTemplate = string(b)
	}
	return m, nil
}

// hfChatTemplateFile is the chat template file of newer Hugging Face folders.
const hfChatTemplateFile = "chat_template.jinja"

// hfWeightFiles returns the safetensors files of a folder: the shards of
// model.safetensors.index.json, or model.safetensors.
func hfWeightFiles(dir string) ([]string, error) {
	idx := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(idx)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
			return nil, fmt.Errorf("load %s: no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are supported)", dir)
		}
		return []string{"model.safetensors"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return parseSafetensorsIndex(data, idx)
}

// parseSafetensorsIndex returns the distinct shard names of an index file.
func parseSafetensorsIndex(data []byte, name string) ([]string, error) {
	var ix struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	seen := map[string]bool{}
	var files []string
	for t, f := range ix.WeightMap {
		if f == "" || strings.ContainsAny(f, `/\`) || f == ".." || !strings.HasSuffix(f, ".safetensors") {
			return nil, fmt.Errorf("%s: weight_map[%q]: bad shard name %q", name, t, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", name)
	}
	sort.Strings(files)
	return files, nil
}

// hfConfigJSON returns the config.json of the model.
func (m *Model) hfConfigJSON() ([]byte, error) {
	c := m.Config
	var cfg map[string]any
	switch c.Family() {
	case ArchGPT2:
		if !c.SharedClassifier {
			return nil, errors.New("gpt2 with an untied classifier cannot be saved as a Hugging Face checkpoint")
		}
		cfg = map[string]any{"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2",
			"n_embd": c.Dim, "n_layer": c.NLayers, "n_head": c.NHeads, "n_positions": c.SeqLen, "n_ctx": c.SeqLen,
			"n_inner": c.HiddenDim, "vocab_size": c.VocabSize, "layer_norm_epsilon": c.eps(),
			"activation_function": "gelu_new", "tie_word_embeddings": true}
	default:
		class := map[string]string{ArchLlama: "LlamaForCausalLM", ArchQwen2: "Qwen2ForCausalLM"}[c.Family()]
		cfg = map[string]any{"architectures": []string{class}, "model_type": c.Family(),
			"hidden_size": c.Dim, "intermediate_size": c.HiddenDim, "num_hidden_layers": c.NLayers,
			"num_attention_heads": c.NHeads, "num_key_value_heads": c.NKVHeads, "vocab_size": c.VocabSize,
			"max_position_embeddings": c.SeqLen, "rms_norm_eps": c.eps(), "rope_theta": c.ropeTheta(),
			"tie_word_embeddings": c.SharedClassifier, "hidden_act": "silu"}
		if c.ropeDim() != c.HeadSize() {
			return nil, errors.New("partial RoPE cannot be saved as a Hugging Face checkpoint")
		}
		if rs := c.RopeScaling; rs.Type != "" {
			cfg["rope_scaling"] = map[string]any{"rope_type": rs.Type, "factor": rs.Factor, "low_freq_factor": rs.LowFreqFactor,
				"high_freq_factor": rs.HighFreqFactor, "original_max_position_embeddings": rs.OriginalMaxPos}
		}
	}
	if tok := m.Tokenizer; tok != nil {
		cfg["bos_token_id"], cfg["eos_token_id"] = tok.BOSID(), tok.EOSID()
	}
	cfg["torch_dtype"] = "float32"
	return json.MarshalIndent(cfg, "", "  ")
}

// SaveHF writes the model as a Hugging Face checkpoint folder: config.json,
// model.safetensors (F32) and the tokenizer files of the folder it was
// loaded from, if any. The folder is created if needed; files are written
// to temporary names and renamed when complete. [LoadHF] reads it back with
// identical logits.
func (m *Model) SaveHF(dir string) error {
	cfg, err := m.hfConfigJSON()
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	ts, err := m.HFTensors(m.params)
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "model.safetensors"), func(w io.Writer) error {
		return WriteSafetensors(w, ts, map[string]string{"format": "pt"})
	}); err != nil {
		return err
	}
	files := map[string][]byte{"config.json": cfg}
	for k, v := range m.hfFiles {
		files[k] = v
	}
	for name, b := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns an independent copy of m (float32 parameters, the same
// tokenizer, and the tokenizer files SaveHF writes back), for fine-tuning
// without touching the original.
func (m *Model) Clone() (*Model, error) {
	cp, err := NewModel(m.Config, m.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("clone: %w", err)
	}
	copy(cp.params, m.Params())
	if m.hfFiles != nil {
		cp.hfFiles = make(map[string][]byte, len(m.hfFiles))
		for k, v := range m.hfFiles {
			cp.hfFiles[k] = v
		}
	}
	cp.threads = m.threads
	return cp, nil
}
