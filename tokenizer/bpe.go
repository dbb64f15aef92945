package tokenizer

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// BPE is a byte-level BPE tokenizer. It is safe for concurrent use.
type BPE struct {
	vocab   []string       // token text by id ("" for unused ids)
	ids     map[string]int // token text -> id
	merges  map[uint64]merge
	special []bool // per id: a special added token
	decoded [][]byte

	byteLevel    bool     // pieces are mapped byte by byte (ByteLevel)
	byteTok      [256]int // byte-level: id of each byte's character; byte fallback: id of <0xXX>
	byteFallback bool
	unk          int
	ignoreMerges bool

	normalize []norm.Form
	pre       []preStep
	added     []addedToken // longest first

	bos, eos     int
	addBOS       bool
	chatTemplate string

	mu    sync.Mutex
	cache map[string][]int
}

type merge struct{ rank, id int32 }

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	id                        int
	content                   string
	special                   bool
	lstrip, rstrip, singleWrd bool
}

const cacheLimit = 1 << 16 // pre-tokens cached before the cache is reset

// VocabSize is the number of token ids (the largest id + 1).
func (t *BPE) VocabSize() int { return len(t.vocab) }

// Token returns the text of a token as stored in the vocabulary (byte-level
// characters, e.g. "Ġthe"), or "" for an unknown id.
func (t *BPE) Token(id int) string {
	if id < 0 || id >= len(t.vocab) {
		return ""
	}
	return t.vocab[id]
}

// Lookup returns the id of a vocabulary entry (byte-level form, or an
// added token's content).
func (t *BPE) Lookup(tok string) (int, bool) {
	id, ok := t.ids[tok]
	return id, ok
}

// BOS and EOS return the begin- and end-of-sequence token ids, or -1 when
// the tokenizer has none.
func (t *BPE) BOS() int { return t.bos }

// EOS returns the end-of-sequence token id, or -1.
func (t *BPE) EOS() int { return t.eos }

// AddBOS reports whether the model expects BOS before a prompt
// (tokenizer_config.json's add_bos_token, or a post-processor that adds it).
func (t *BPE) AddBOS() bool { return t.addBOS && t.bos >= 0 }

// ChatTemplate returns the Jinja chat template of tokenizer_config.json
// ("" when none was read).
func (t *BPE) ChatTemplate() string { return t.chatTemplate }

// IsSpecial reports whether id is a special added token (control token).
func (t *BPE) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// DecodeBytes returns the bytes a token stands for. Concatenating the
// bytes of consecutive tokens gives the text; a multi-byte character may
// be split across tokens, so stream decoders should hold back an
// incomplete UTF-8 tail. Do not modify the result.
func (t *BPE) DecodeBytes(id int) []byte {
	if id < 0 || id >= len(t.decoded) {
		return nil
	}
	return t.decoded[id]
}

// Decode returns the text of a token sequence (special tokens included;
// unknown ids skipped). Invalid UTF-8 in the result is kept as is.
func (t *BPE) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.Write(t.DecodeBytes(id))
	}
	return b.String()
}

// Encode tokenizes user text: special tokens are not recognised (their
// text is encoded like any other), non-special added tokens are, as in
// Hugging Face tokenizers with encode_special_tokens. No BOS is added.
func (t *BPE) Encode(text string) []int { return t.encode(text, false) }

// EncodeSpecial tokenizes text in which special tokens are recognised
// (rendered chat prompts). No BOS is added.
func (t *BPE) EncodeSpecial(text string) []int { return t.encode(text, true) }

func (t *BPE) encode(text string, special bool) []int {
	out := make([]int, 0, len(text)/3+1)
	var pieces []string
	for len(text) > 0 {
		a, b, id := t.findAdded(text, special)
		if a < 0 {
			return t.encodeText(text, out, pieces)
		}
		out = t.encodeText(text[:a], out, pieces)
		out = append(out, id)
		text = text[b:]
	}
	return out
}

// findAdded finds the leftmost (then longest) added token in text that may
// be matched, and returns its span (widened by lstrip/rstrip) and id, or
// a = -1.
func (t *BPE) findAdded(text string, special bool) (a, b, id int) {
	if len(t.added) == 0 {
		return -1, -1, -1
	}
	best, bestEnd := -1, -1
	var bestTok *addedToken
	for k := range t.added {
		at := &t.added[k]
		if at.special && !special {
			continue
		}
		for from := 0; from < len(text); {
			i := strings.Index(text[from:], at.content)
			if i < 0 {
				break
			}
			i += from
			if best >= 0 && i > best {
				break
			}
			end := i + len(at.content)
			if at.singleWrd && !singleWord(text, i, end) {
				from = i + 1
				continue
			}
			if best < 0 || i < best || i == best && end > bestEnd {
				best, bestEnd, bestTok = i, end, at
			}
			break
		}
	}
	if bestTok == nil {
		return -1, -1, -1
	}
	a, b = best, bestEnd
	if bestTok.lstrip {
		for a > 0 {
			r, w := utf8.DecodeLastRuneInString(text[:a])
			if !unicode.IsSpace(r) {
				break
			}
			a -= w
		}
	}
	if bestTok.rstrip {
		for b < len(text) {
			r, w := utf8.DecodeRuneInString(text[b:])
			if !unicode.IsSpace(r) {
				break
			}
			b += w
		}
	}
	return a, b, bestTok.id
}

func isWordChar(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

func singleWord(text string, a, b int) bool {
	if a > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:a]); isWordChar(r) {
			return false
		}
	}
	if b < len(text) {
		if r, _ := utf8.DecodeRuneInString(text[b:]); isWordChar(r) {
			return false
		}
	}
	return true
}

// encodeText normalizes, pre-tokenizes and merges text without added
// tokens.
func (t *BPE) encodeText(text string, out []int, pieces []string) []int {
	if text == "" {
		return out
	}
	for _, f := range t.normalize {
		text = f.String(text)
	}
	pieces = append(pieces[:0], text)
	var next []string
	for _, st := range t.pre {
		next = next[:0]
		for _, p := range pieces {
			next = st.split(p, next)
		}
		pieces, next = next, pieces
	}
	for _, p := range pieces {
		out = t.encodePiece(p, out)
	}
	return out
}

// encodePiece appends the ids of one pre-token, through the cache.
func (t *BPE) encodePiece(p string, out []int) []int {
	if p == "" {
		return out
	}
	cacheable := len(p) <= 64
	if cacheable {
		t.mu.Lock()
		ids, ok := t.cache[p]
		t.mu.Unlock()
		if ok {
			return append(out, ids...)
		}
	}
	n := len(out)
	out = t.bpe(p, out)
	if cacheable {
		ids := append([]int(nil), out[n:]...)
		t.mu.Lock()
		if len(t.cache) >= cacheLimit {
			clear(t.cache)
		}
		t.cache[strings.Clone(p)] = ids
		t.mu.Unlock()
	}
	return out
}

// symbols of one word while merging: a doubly linked list over an array.
type symbol struct {
	id         int32
	prev, next int32
}

type mergeCand struct {
	rank, pos   int32
	left, right int32
	id          int32
}

func candLess(a, b mergeCand) bool {
	return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
}

// bpe merges one pre-token and appends its ids.
func (t *BPE) bpe(p string, out []int) []int {
	if t.ignoreMerges {
		if id, ok := t.ids[t.mapped(p)]; ok {
			return append(out, id)
		}
	}
	var buf [64]symbol
	syms := buf[:0]
	add := func(id int) {
		syms = append(syms, symbol{id: int32(id)})
	}
	if t.byteLevel {
		for i := 0; i < len(p); i++ {
			if id := t.byteTok[p[i]]; id >= 0 {
				add(id)
			} else if t.unk >= 0 {
				add(t.unk)
			}
		}
	} else {
		for i := 0; i < len(p); {
			_, w := utf8.DecodeRuneInString(p[i:])
			if id, ok := t.ids[p[i:i+w]]; ok {
				add(id)
			} else if t.byteFallback {
				for k := i; k < i+w; k++ {
					if id := t.byteTok[p[k]]; id >= 0 {
						add(id)
					}
				}
			} else if t.unk >= 0 {
				add(t.unk)
			}
			i += w
		}
	}
	n := len(syms)
	if n <= 1 {
		for _, s := range syms {
			out = append(out, int(s.id))
		}
		return out
	}
	for i := range syms {
		syms[i].prev, syms[i].next = int32(i-1), int32(i+1)
	}
	syms[n-1].next = -1
	var hbuf [64]mergeCand
	h := hbuf[:0]
	push := func(pos int32) {
		nx := syms[pos].next
		if nx < 0 {
			return
		}
		l, r := syms[pos].id, syms[nx].id
		m, ok := t.merges[pairKey(int(l), int(r))]
		if !ok {
			return
		}
		h = append(h, mergeCand{m.rank, pos, l, r, m.id})
		for i := len(h) - 1; i > 0; {
			up := (i - 1) / 2
			if !candLess(h[i], h[up]) {
				break
			}
			h[i], h[up] = h[up], h[i]
			i = up
		}
	}
	pop := func() mergeCand {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && candLess(h[l], h[m]) {
				m = l
			}
			if r < len(h) && candLess(h[r], h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		return top
	}
	for i := 0; i < n-1; i++ {
		push(int32(i))
	}
	for len(h) > 0 {
		c := pop()
		s := &syms[c.pos]
		if s.id != c.left || s.next < 0 || syms[s.next].id != c.right {
			continue
		}
		rm := s.next
		s.id = c.id
		s.next = syms[rm].next
		if s.next >= 0 {
			syms[s.next].prev = c.pos
		}
		syms[rm].id = -1
		if s.prev >= 0 {
			push(s.prev)
		}
		push(c.pos)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, int(syms[i].id))
	}
	return out
}

// mapped returns a pre-token in vocabulary form (byte-level characters).
func (t *BPE) mapped(p string) string {
	if !t.byteLevel {
		return p
	}
	var b strings.Builder
	b.Grow(2 * len(p))
	for i := 0; i < len(p); i++ {
		b.WriteRune(byteEnc[p[i]])
	}
	return b.String()
}
