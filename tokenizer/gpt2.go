package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// LoadGPT2 loads GPT-2's original tokenizer files: encoder.json (token ->
// id) and vocab.bpe (merges, one "a b" per line after a "#version"
// header). <|endoftext|> is BOS, EOS and the only special token.
func LoadGPT2(encoderJSON, vocabBPE string) (*BPE, error) {
	enc, err := readFile(encoderJSON)
	if err != nil {
		return nil, err
	}
	voc, err := readFile(vocabBPE)
	if err != nil {
		return nil, err
	}
	return ParseGPT2(enc, voc, encoderJSON, vocabBPE)
}

// ParseGPT2 is LoadGPT2 on the files' bytes; the names are used in errors.
func ParseGPT2(encoderJSON, vocabBPE []byte, encName, vocName string) (*BPE, error) {
	var vocab map[string]int
	if err := json.Unmarshal(encoderJSON, &vocab); err != nil || len(vocab) == 0 {
		return nil, fmt.Errorf("%s: not a JSON object of token ids", encName)
	}
	t := newBPE(len(vocab))
	for s, id := range vocab {
		if err := t.setToken(id, s, len(vocab)); err != nil {
			return nil, fmt.Errorf("%s: %w", encName, err)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(vocabBPE))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	rank := 0
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(s, "#version") || strings.TrimSpace(s) == "" {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%s: line %d (%q) is not two tokens separated by a space", vocName, line, s)
		}
		if err := t.addMerge(rank, a, b); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", vocName, line, err)
		}
		rank++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", vocName, err)
	}
	t.pre = []preStep{byteLevelStep{useRegex: true}}
	t.byteLevel = true
	if id, ok := t.ids["<|endoftext|>"]; ok {
		t.added = []addedToken{{id: id, content: "<|endoftext|>", special: true}}
		t.bos, t.eos = id, id
	}
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

// GGUF token types (tokenizer.ggml.token_type).
const (
	ggufNormal      = 1
	ggufControl     = 3
	ggufUserDefined = 4
)

// FromGGUF builds a tokenizer from GGUF metadata with tokenizer.ggml.model
// = "gpt2": tokens (tokenizer.ggml.tokens), merges ("a b" strings,
// tokenizer.ggml.merges), token types (nil: all normal), the
// pre-tokenizer name (tokenizer.ggml.pre: "gpt-2", "llama-bpe", "qwen2",
// "deepseek-r1-qwen", "smollm") and bos/eos ids (-1 for
// none). Control tokens become special added tokens, user-defined tokens
// plain added tokens.
func FromGGUF(tokens, merges []string, types []int32, pre string, bos, eos int) (*BPE, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer.ggml.tokens: empty")
	}
	if types != nil && len(types) != n {
		return nil, fmt.Errorf("tokenizer.ggml.token_type: %d types for %d tokens", len(types), n)
	}
	for _, f := range []struct {
		name string
		id   int
	}{{"tokenizer.ggml.bos_token_id", bos}, {"tokenizer.ggml.eos_token_id", eos}} {
		if f.id < -1 || f.id >= n {
			return nil, fmt.Errorf("%s: %d outside the vocabulary of %d tokens", f.name, f.id, n)
		}
	}
	t := newBPE(n)
	for id, s := range tokens {
		if s == "" {
			continue
		}
		if err := t.setToken(id, s, n); err != nil {
			return nil, fmt.Errorf("tokenizer.ggml.tokens: %w", err)
		}
	}
	for len(t.vocab) < n {
		t.vocab = append(t.vocab, "")
	}
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("tokenizer.ggml.merges[%d]: %q is not two tokens separated by a space", i, m)
		}
		if err := t.addMerge(i, a, b); err != nil {
			return nil, fmt.Errorf("tokenizer.ggml.merges[%d]: %w", i, err)
		}
	}
	switch pre {
	case "gpt-2", "gpt2":
		t.pre = []preStep{byteLevelStep{useRegex: true}}
	case "llama-bpe", "llama3", "smaug-bpe":
		t.pre = []preStep{&splitStep{scan: scannerFor(PatternLlama3), pattern: PatternLlama3, behavior: behaviorIsolated}, byteLevelStep{}}
		t.ignoreMerges = true
	case "qwen2", "deepseek-r1-qwen":
		t.pre = []preStep{&splitStep{scan: scannerFor(PatternQwen2), pattern: PatternQwen2, behavior: behaviorIsolated}, byteLevelStep{}}
	case "smollm":
		t.pre = []preStep{digitsStep{individual: true}, byteLevelStep{useRegex: true}}
	default:
		return nil, fmt.Errorf("tokenizer.ggml.pre: %q is not supported (gpt-2, llama-bpe, smaug-bpe, qwen2, deepseek-r1-qwen, smollm)", pre)
	}
	t.byteLevel = true
	for id, ty := range types {
		if (ty == ggufControl || ty == ggufUserDefined) && tokens[id] != "" {
			t.added = append(t.added, addedToken{id: id, content: tokens[id], special: ty == ggufControl})
		}
	}
	t.bos, t.eos = bos, eos
	if err := t.finish(); err != nil {
		return nil, err
	}
	return t, nil
}
