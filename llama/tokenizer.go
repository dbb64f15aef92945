package llama

import (
	"fmt"
	"strings"
	"unicode"
)

// Token types as used by GGUF (tokenizer.ggml.token_type).
const (
	TokenNormal      = 1
	TokenUnknown     = 2
	TokenControl     = 3
	TokenUserDefined = 4
	TokenUnused      = 5
	TokenByte        = 6
)

// Tokenizer is a SentencePiece-style BPE tokenizer with byte fallback. Text
// is encoded by splitting it into UTF-8 code points (unknown code points
// fall back to <0xXX> byte tokens) and then repeatedly merging the adjacent
// pair whose concatenation is the vocabulary entry with the highest score.
type Tokenizer struct {
	// Vocab holds the text of every token; spaces are plain ' ' (the
	// SentencePiece '▁' is converted when loading GGUF vocabularies).
	Vocab []string
	// Scores holds the merge priority of every token.
	Scores []float32
	// Types holds the token types (TokenNormal, TokenControl, ...).
	Types []int32
	// BOS and EOS are the begin- and end-of-sequence token ids.
	BOS, EOS int

	lookup map[string]int
	byteID [256]int // token id of each byte-fallback piece
	isByte []int16  // byte value of a <0xXX> token, or -1
}

// NewTokenizer builds a tokenizer from a vocabulary, scores and optional
// token types (nil means: bos/eos are control tokens, <0xXX> pieces are
// byte tokens, everything else is normal).
func NewTokenizer(vocab []string, scores []float32, types []int32, bos, eos int) (*Tokenizer, error) {
	n := len(vocab)
	if n == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	if len(scores) != n {
		return nil, fmt.Errorf("%d scores for %d tokens", len(scores), n)
	}
	if types != nil && len(types) != n {
		return nil, fmt.Errorf("%d token types for %d tokens", len(types), n)
	}
	if bos < 0 || bos >= n || eos < 0 || eos >= n {
		return nil, fmt.Errorf("bos %d / eos %d outside vocabulary of %d", bos, eos, n)
	}
	t := &Tokenizer{Vocab: vocab, Scores: scores, Types: types, BOS: bos, EOS: eos}
	if t.Types == nil {
		t.Types = make([]int32, n)
		for i := range t.Types {
			t.Types[i] = TokenNormal
		}
		t.Types[bos] = TokenControl
		t.Types[eos] = TokenControl
	}
	t.lookup = make(map[string]int, n)
	t.isByte = make([]int16, n)
	for i, s := range vocab {
		if _, ok := t.lookup[s]; !ok {
			t.lookup[s] = i
		}
		t.isByte[i] = -1
		if b, ok := parseBytePiece(s); ok {
			t.isByte[i] = int16(b)
			if types == nil {
				t.Types[i] = TokenByte
			}
		}
	}
	for b := range t.byteID {
		if id, ok := t.lookup[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteID[b] = id
		} else if b+3 < n {
			// llama2.c convention: byte tokens follow <unk>, <s>, </s>.
			t.byteID[b] = b + 3
		} else {
			t.byteID[b] = 0
		}
	}
	return t, nil
}

// parseBytePiece recognises pieces of the form <0xXX>.
func parseBytePiece(s string) (byte, bool) {
	if len(s) != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(s[3])
	lo, ok2 := hexVal(s[4])
	if !ok1 || !ok2 {
		return 0, false
	}
	return hi<<4 | lo, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.Vocab) }

// Lookup returns the id of the token whose text is exactly s.
func (t *Tokenizer) Lookup(s string) (int, bool) {
	id, ok := t.lookup[s]
	return id, ok
}

// Encode tokenizes text the way SentencePiece (and llama2.c) do: a dummy
// prefix space is prepended to non-empty text, every UTF-8 code point is
// looked up (falling back to its bytes as <0xXX> tokens), and pairs are
// merged greedily by best score. bos and eos add the BOS / EOS tokens.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	return t.encode(text, bos, eos, true)
}

// EncodeRaw tokenizes text without dummy prefix, BOS or EOS. It is meant
// for continuations that follow other text (e.g. " there was").
func (t *Tokenizer) EncodeRaw(text string) []int {
	return t.encode(text, false, false, false)
}

func (t *Tokenizer) encode(text string, bos, eos, dummyPrefix bool) []int {
	tokens := make([]int, 0, len(text)+3)
	if dummyPrefix && text != "" {
		tokens = t.appendPiece(tokens, " ")
	}
	// Split into code points; a code point is at most 4 bytes. Invalid
	// UTF-8 is handled byte-wise exactly like the reference: a run
	// continues while the next byte is a continuation byte.
	start := 0
	for i := 0; i < len(text); i++ {
		if text[i]&0xC0 != 0x80 {
			start = i
		}
		runLen := i - start + 1
		if i+1 < len(text) && text[i+1]&0xC0 == 0x80 && runLen < 4 {
			continue
		}
		tokens = t.appendPiece(tokens, text[start:i+1])
		start = i + 1
	}
	tokens = t.merge(tokens)
	if bos {
		tokens = append(tokens, 0)
		copy(tokens[1:], tokens)
		tokens[0] = t.BOS
	}
	if eos {
		tokens = append(tokens, t.EOS)
	}
	return tokens
}

// appendPiece appends the token of piece, or its byte-fallback tokens.
func (t *Tokenizer) appendPiece(tokens []int, piece string) []int {
	if id, ok := t.lookup[piece]; ok {
		return append(tokens, id)
	}
	for i := 0; i < len(piece); i++ {
		tokens = append(tokens, t.byteID[piece[i]])
	}
	return tokens
}

// merge applies the BPE merges: while some adjacent pair concatenates to a
// vocabulary entry, replace the (first) pair with the highest score.
func (t *Tokenizer) merge(tokens []int) []int {
	if len(tokens) < 2 {
		return tokens
	}
	// pair[i] is the merged id of tokens[i], tokens[i+1], or -1.
	pair := make([]int, len(tokens)-1)
	for i := range pair {
		pair[i] = t.pairID(tokens[i], tokens[i+1])
	}
	for {
		best, bestIdx := float32(-1e10), -1
		for i, id := range pair {
			if id >= 0 && t.Scores[id] > best {
				best, bestIdx = t.Scores[id], i
			}
		}
		if bestIdx < 0 {
			return tokens
		}
		tokens[bestIdx] = pair[bestIdx]
		tokens = append(tokens[:bestIdx+1], tokens[bestIdx+2:]...)
		pair = append(pair[:bestIdx], pair[bestIdx+1:]...)
		if bestIdx > 0 {
			pair[bestIdx-1] = t.pairID(tokens[bestIdx-1], tokens[bestIdx])
		}
		if bestIdx < len(pair) {
			pair[bestIdx] = t.pairID(tokens[bestIdx], tokens[bestIdx+1])
		}
	}
}

func (t *Tokenizer) pairID(a, b int) int {
	if id, ok := t.lookup[t.Vocab[a]+t.Vocab[b]]; ok {
		return id
	}
	return -1
}

// Piece returns the text emitted for token when it follows prev: a leading
// space is dropped right after BOS and byte tokens <0xXX> yield their raw
// byte. Control tokens other than the byte tokens are returned verbatim.
func (t *Tokenizer) Piece(prev, token int) string {
	if token < 0 || token >= len(t.Vocab) {
		return ""
	}
	if b := t.isByte[token]; b >= 0 {
		return string([]byte{byte(b)})
	}
	p := t.Vocab[token]
	if prev == t.BOS && strings.HasPrefix(p, " ") {
		p = p[1:]
	}
	return p
}

// Decode converts tokens to text. BOS, EOS and other control tokens are
// skipped; the first text piece after BOS (or at the start) loses its
// dummy-prefix space.
func (t *Tokenizer) Decode(tokens []int) string {
	var sb strings.Builder
	prev := t.BOS
	for _, tok := range tokens {
		if tok < 0 || tok >= len(t.Vocab) {
			continue
		}
		if t.Types[tok] == TokenControl {
			prev = tok
			continue
		}
		sb.WriteString(t.Piece(prev, tok))
		prev = tok
	}
	return sb.String()
}

// PrintablePiece reports whether a piece would be printed by a C program
// that suppresses single non-printable, non-space bytes (as llama2.c does).
func PrintablePiece(p string) bool {
	if len(p) != 1 {
		return len(p) > 0
	}
	c := p[0]
	return c < 0x80 && (unicode.IsPrint(rune(c)) || unicode.IsSpace(rune(c)))
}

// TextTokenizer converts between text and token ids. [Tokenizer]
// (SentencePiece with byte fallback) implements it, and so do byte-level
// BPE tokenizers of GPT-2, Llama 3 and Qwen2 models.
type TextTokenizer interface {
	// Encode tokenizes text, optionally with the BOS and EOS tokens.
	Encode(text string, bos, eos bool) []int
	// EncodeRaw tokenizes a continuation of earlier text (no BOS and no
	// leading-space handling).
	EncodeRaw(text string) []int
	// Decode returns the text of a token sequence.
	Decode(tokens []int) string
	// Piece returns the text of token following prev (-1 at the start).
	Piece(prev, token int) string
	// TokenBytes returns the bytes token stands for, or nil for a control
	// or unused token that never appears in generated text.
	TokenBytes(token int) []byte
	// VocabSize returns the number of tokens.
	VocabSize() int
	// Lookup returns the id of a token given its text.
	Lookup(piece string) (int, bool)
	// BOSID and EOSID return the begin- and end-of-sequence ids (-1 when
	// the tokenizer has none).
	BOSID() int
	EOSID() int
}

var _ TextTokenizer = (*Tokenizer)(nil)

// BOSID returns t.BOS.
func (t *Tokenizer) BOSID() int { return t.BOS }

// EOSID returns t.EOS.
func (t *Tokenizer) EOSID() int { return t.EOS }

// TokenBytes returns the bytes of a normal, user-defined or byte token
// other than BOS/EOS, nil otherwise.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.Vocab) || id == t.BOS || id == t.EOS {
		return nil
	}
	switch t.Types[id] {
	case TokenNormal, TokenUserDefined, TokenByte:
	default:
		return nil
	}
	if p := t.Piece(-1, id); p != "" {
		return []byte(p)
	}
	return nil
}
