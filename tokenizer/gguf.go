package tokenizer

import (
	"cmp"
	"fmt"
	"slices"
)

// GGUF vocabularies: tokenizer.ggml.model = "gpt2" with the keys llama.cpp
// reads (tokenizer.ggml.pre, tokens, token_type, merges, bos/eos ids,
// add_bos_token) and tokenizer.chat_template.

// ggufUnused is the GGUF token type of padding entries (ids the vocabulary
// does not use but the model's embedding has rows for).
const ggufUnused = 5

// PreTokenizerName returns llama.cpp's name (tokenizer.ggml.pre) of the
// pre-tokenizer: "gpt-2", "llama-bpe", "qwen2" or "smollm". A
// pre-tokenizer llama.cpp has no name for is an error.
func (t *BPE) PreTokenizerName() (string, error) {
	if !t.byteLevel || t.byteFallback {
		return "", fmt.Errorf("tokenizer: only byte-level BPE vocabularies have a GGUF pre-tokenizer name")
	}
	split := func(st preStep, pattern string) bool {
		s, ok := st.(*splitStep)
		return ok && s.scan != nil && s.pattern == pattern && s.behavior == behaviorIsolated && !s.invert
	}
	bl := func(st preStep, regex bool) bool {
		b, ok := st.(byteLevelStep)
		return ok && b.useRegex == regex && !b.addPrefixSpace
	}
	p := t.pre
	switch {
	case len(p) == 1 && bl(p[0], true):
		return "gpt-2", nil
	case len(p) == 2 && split(p[0], PatternLlama3) && bl(p[1], false):
		return "llama-bpe", nil
	case len(p) == 2 && split(p[0], PatternQwen2) && bl(p[1], false):
		return "qwen2", nil
	case len(p) == 2 && bl(p[1], true):
		if d, ok := p[0].(digitsStep); ok && d.individual {
			return "smollm", nil
		}
	}
	return "", fmt.Errorf("tokenizer: the pre-tokenizer matches none of GPT-2's, Llama 3's, Qwen2's or SmolLM's, so it has no GGUF name")
}

// Merges returns the merge rules in rank order as "a b" strings (the form
// of tokenizer.ggml.merges and of tokenizer.json).
func (t *BPE) Merges() []string {
	type rm struct {
		rank int32
		s    string
	}
	all := make([]rm, 0, len(t.merges))
	for k, m := range t.merges {
		a, b := int(k>>32), int(uint32(k))
		all = append(all, rm{m.rank, t.vocab[a] + " " + t.vocab[b]})
	}
	slices.SortFunc(all, func(x, y rm) int { return cmp.Compare(x.rank, y.rank) })
	out := make([]string, len(all))
	for i, m := range all {
		out[i] = m.s
	}
	return out
}

// GGUFMetadata returns the GGUF metadata of the vocabulary for a model with
// vocabSize embedding rows: tokenizer.ggml.model "gpt2", .pre, .tokens
// (padded to vocabSize with unused "[PAD<id>]" entries, as llama.cpp's
// converter does), .token_type (1 normal, 3 control for special added
// tokens, 4 user-defined for other added tokens, 5 unused), .merges,
// .bos_token_id / .eos_token_id (when the vocabulary has them, as uint32),
// .add_bos_token, and tokenizer.chat_template when tokenizer_config.json
// had one. Values are string, []string, []int32, uint32 or bool.
func (t *BPE) GGUFMetadata(vocabSize int) (map[string]any, error) {
	pre, err := t.PreTokenizerName()
	if err != nil {
		return nil, err
	}
	if vocabSize < len(t.vocab) {
		return nil, fmt.Errorf("tokenizer: %d tokens do not fit a model with %d embedding rows", len(t.vocab), vocabSize)
	}
	tokens := make([]string, vocabSize)
	types := make([]int32, vocabSize)
	for id := range tokens {
		if id < len(t.vocab) && t.vocab[id] != "" {
			tokens[id], types[id] = t.vocab[id], ggufNormal
			continue
		}
		tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), ggufUnused
	}
	for _, a := range t.added {
		types[a.id] = ggufUserDefined
		if a.special {
			types[a.id] = ggufControl
		}
	}
	meta := map[string]any{
		"tokenizer.ggml.model":         "gpt2",
		"tokenizer.ggml.pre":           pre,
		"tokenizer.ggml.tokens":        tokens,
		"tokenizer.ggml.token_type":    types,
		"tokenizer.ggml.merges":        t.Merges(),
		"tokenizer.ggml.add_bos_token": t.AddBOS(),
	}
	if t.bos >= 0 {
		meta["tokenizer.ggml.bos_token_id"] = uint32(t.bos)
	}
	if t.eos >= 0 {
		meta["tokenizer.ggml.eos_token_id"] = uint32(t.eos)
	}
	if t.chatTemplate != "" {
		meta["tokenizer.chat_template"] = t.chatTemplate
	}
	return meta, nil
}

// FromGGUFMetadata builds the tokenizer of a GGUF file whose
// tokenizer.ggml.model is "gpt2" from its metadata (as parsed by
// llama.ReadGGUFHeader: strings, typed integer slices, integers, bools).
// A missing or mistyped key is an error naming it.
func FromGGUFMetadata(meta map[string]any) (*BPE, error) {
	const (
		kModel  = "tokenizer.ggml.model"
		kPre    = "tokenizer.ggml.pre"
		kTokens = "tokenizer.ggml.tokens"
		kTypes  = "tokenizer.ggml.token_type"
		kMerges = "tokenizer.ggml.merges"
		kBOS    = "tokenizer.ggml.bos_token_id"
		kEOS    = "tokenizer.ggml.eos_token_id"
		kAddBOS = "tokenizer.ggml.add_bos_token"
		kChat   = "tokenizer.chat_template"
	)
	if m, _ := meta[kModel].(string); m != "gpt2" {
		return nil, fmt.Errorf("%s: %v is not gpt2 (byte-level BPE)", kModel, meta[kModel])
	}
	str := func(k string) (string, error) {
		v, ok := meta[k]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: %T is not a string", k, v)
		}
		return s, nil
	}
	strs := func(k string, required bool) ([]string, error) {
		v, ok := meta[k]
		if !ok {
			if required {
				return nil, fmt.Errorf("%s: missing", k)
			}
			return nil, nil
		}
		s, ok := v.([]string)
		if !ok {
			return nil, fmt.Errorf("%s: %T is not a string array", k, v)
		}
		return s, nil
	}
	id := func(k string) (int, error) {
		v, ok := meta[k]
		if !ok {
			return -1, nil
		}
		n, ok := intValue(v)
		if !ok {
			return 0, fmt.Errorf("%s: %T is not an integer", k, v)
		}
		return n, nil
	}
	pre, err := str(kPre)
	if err != nil {
		return nil, err
	}
	if pre == "" {
		pre = "gpt-2"
	}
	tokens, err := strs(kTokens, true)
	if err != nil {
		return nil, err
	}
	merges, err := strs(kMerges, true)
	if err != nil {
		return nil, err
	}
	var types []int32
	if v, ok := meta[kTypes]; ok {
		if types, ok = intSlice(v); !ok {
			return nil, fmt.Errorf("%s: %T is not an integer array", kTypes, v)
		}
	}
	bos, err := id(kBOS)
	if err != nil {
		return nil, err
	}
	eos, err := id(kEOS)
	if err != nil {
		return nil, err
	}
	t, err := FromGGUF(tokens, merges, types, pre, bos, eos)
	if err != nil {
		return nil, err
	}
	if v, ok := meta[kAddBOS]; ok {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: %T is not a bool", kAddBOS, v)
		}
		t.addBOS = b
	}
	if t.chatTemplate, err = str(kChat); err != nil {
		return nil, err
	}
	return t, nil
}

func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case uint8:
		return int(x), true
	case int8:
		return int(x), true
	case uint16:
		return int(x), true
	case int16:
		return int(x), true
	case uint32:
		return int(x), true
	case int32:
		return int(x), true
	case uint64:
		if x > 1<<31 {
			return 0, false
		}
		return int(x), true
	case int64:
		if x > 1<<31 || x < -1<<31 {
			return 0, false
		}
		return int(x), true
	}
	return 0, false
}

func intSlice(v any) ([]int32, bool) {
	conv := func(n int, at func(int) int) []int32 {
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
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	case []int8:
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	case []uint8:
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	case []int16:
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	case []uint16:
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	case []int64:
		return conv(len(a), func(i int) int { return int(a[i]) }), true
	}
	return nil, false
}
