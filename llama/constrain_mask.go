package llama

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"unicode/utf8"
)

// ConstraintVocab is the byte-level view of a vocabulary used to mask
// tokens: every usable token's bytes (byte-fallback tokens <0xXX> as their
// byte), arranged in a trie so that the tokens allowed in a state are found
// by walking the trie against the automaton, pruning every subtree whose
// prefix is rejected. Tokens that are plain string content (no '"', '\',
// control bytes, complete UTF-8) are kept apart, sorted by their number of
// characters, and allowed in bulk inside strings without a walk. It is
// immutable and may be shared.
type ConstraintVocab struct {
	size     int
	bos, eos int
	tokens   [][]byte // nil for tokens never allowed (control, unknown, unused, empty)
	full     trie     // every usable token
	special  trie     // usable tokens that are not plain string content
	plain    []int32  // plain string tokens by increasing rune count
	plainLen []int32  // rune count of plain[i]
	// singleBytes is true when every byte value is a token of its own,
	// so that any completion can be written one byte per token.
	singleBytes bool
}

type trie struct {
	nodes []trieNode
	edges []trieEdge
	dups  []int32 // further tokens with the same bytes as a node's tok
}

type trieNode struct {
	first, n  int32 // edges[first:first+n], sorted by byte
	tok       int32 // token ending here, -1 if none
	dup, ndup int32 // dups[dup:dup+ndup]: other tokens with the same bytes
}

type trieEdge struct {
	b     byte
	child int32
}

var vocabCache sync.Map // *Tokenizer → *ConstraintVocab

// VocabFor returns the ConstraintVocab of tok, built once per tokenizer.
func VocabFor(tok TextTokenizer) (*ConstraintVocab, error) {
	if tok == nil {
		return nil, ErrNoTokenizer
	}
	if v, ok := vocabCache.Load(tok); ok {
		return v.(*ConstraintVocab), nil
	}
	toks := make([][]byte, tok.VocabSize())
	for id := range toks {
		toks[id] = tok.TokenBytes(id)
	}
	v := NewConstraintVocab(toks, tok.BOSID(), tok.EOSID())
	actual, _ := vocabCache.LoadOrStore(tok, v)
	return actual.(*ConstraintVocab), nil
}

// NewConstraintVocab builds the vocabulary view from the bytes of every
// token (nil or empty for tokens that must never be generated); bos and
// eos are the ids of the control tokens (-1 when absent).
func NewConstraintVocab(tokens [][]byte, bos, eos int) *ConstraintVocab {
	v := &ConstraintVocab{size: len(tokens), bos: bos, eos: eos, tokens: make([][]byte, len(tokens))}
	type pl struct{ id, n int32 }
	var plains []pl
	var single [256]bool
	var fullB, specB trieBuilder
	for id, t := range tokens {
		if len(t) == 0 {
			continue
		}
		v.tokens[id] = t
		if len(t) == 1 {
			single[t[0]] = true
		}
		fullB.insert(t, int32(id))
		if n, ok := plainRunes(t); ok {
			plains = append(plains, pl{int32(id), int32(n)})
		} else {
			specB.insert(t, int32(id))
		}
	}
	v.full = fullB.build()
	v.special = specB.build()
	sort.SliceStable(plains, func(i, j int) bool { return plains[i].n < plains[j].n })
	for _, p := range plains {
		v.plain = append(v.plain, p.id)
		v.plainLen = append(v.plainLen, p.n)
	}
	v.singleBytes = true
	for _, ok := range single {
		v.singleBytes = v.singleBytes && ok
	}
	return v
}

// plainRunes reports whether t is plain string content and its number of
// characters.
func plainRunes(t []byte) (int, bool) {
	if !utf8.Valid(t) {
		return 0, false
	}
	for _, b := range t {
		if b < 0x20 || b == '"' || b == '\\' {
			return 0, false
		}
	}
	return utf8.RuneCount(t), true
}

// trieBuilder accumulates a trie with map children before flattening.
type trieBuilder struct {
	nodes []map[byte]int32
	toks  [][]int32
}

func (tb *trieBuilder) insert(t []byte, id int32) {
	if len(tb.nodes) == 0 {
		tb.nodes = append(tb.nodes, map[byte]int32{})
		tb.toks = append(tb.toks, nil)
	}
	cur := int32(0)
	for _, b := range t {
		next, ok := tb.nodes[cur][b]
		if !ok {
			next = int32(len(tb.nodes))
			tb.nodes = append(tb.nodes, map[byte]int32{})
			tb.toks = append(tb.toks, nil)
			tb.nodes[cur][b] = next
		}
		cur = next
	}
	tb.toks[cur] = append(tb.toks[cur], id)
}

func (tb *trieBuilder) build() trie {
	var t trie
	if len(tb.nodes) == 0 {
		t.nodes = []trieNode{{tok: -1}}
		return t
	}
	t.nodes = make([]trieNode, len(tb.nodes))
	for i, ch := range tb.nodes {
		keys := make([]int, 0, len(ch))
		for b := range ch {
			keys = append(keys, int(b))
		}
		sort.Ints(keys)
		t.nodes[i] = trieNode{first: int32(len(t.edges)), n: int32(len(keys)), tok: -1}
		if ids := tb.toks[i]; len(ids) > 0 {
			t.nodes[i].tok = ids[0]
			t.nodes[i].dup, t.nodes[i].ndup = int32(len(t.dups)), int32(len(ids)-1)
			t.dups = append(t.dups, ids[1:]...)
		}
		for _, b := range keys {
			t.edges = append(t.edges, trieEdge{b: byte(b), child: ch[byte(b)]})
		}
	}
	return t
}

// Size returns the number of tokens of the vocabulary.
func (v *ConstraintVocab) Size() int { return v.size }

// ErrConstraintDeadEnd is returned when no token can continue a
// constrained document (the vocabulary cannot spell any allowed byte).
var ErrConstraintDeadEnd = errors.New("llama: no token can continue the constrained document")

// Constraint restricts a generated sequence to the documents of a
// JSONSchema. It follows one sequence: call Allowed or MaskLogits before
// each step and Accept with the chosen token. It is not safe for
// concurrent use.
type Constraint struct {
	schema *JSONSchema
	vocab  *ConstraintVocab
	m      machine
	// scratch states of the trie walk, one per depth
	states   []machine
	allowed  []int32
	saved    []float32
	eosLogit float32
	eosOK    bool
}

// NewConstraint starts a constraint for schema over vocab.
func NewConstraint(schema *JSONSchema, vocab *ConstraintVocab) (*Constraint, error) {
	if schema == nil || vocab == nil {
		return nil, errors.New("llama: constraint: nil schema or vocabulary")
	}
	return &Constraint{schema: schema, vocab: vocab, m: newMachine(schema.root)}, nil
}

// Reset returns the constraint to the start of a document.
func (c *Constraint) Reset() { c.m = newMachine(c.schema.root) }

// Done reports whether the document is complete and nothing may follow;
// generation should stop.
func (c *Constraint) Done() bool { return c.m.done() }

// Complete reports whether the text so far is a complete document (EOS
// is allowed).
func (c *Constraint) Complete() bool { return c.m.complete() }

// AcceptBytes advances the constraint by b, reporting an error (and
// leaving the state unchanged) when b cannot continue a valid document.
func (c *Constraint) AcceptBytes(b []byte) error {
	var tmp machine
	tmp.copyFrom(&c.m)
	for i, x := range b {
		if !tmp.feed(x) {
			return fmt.Errorf("llama: constraint: byte %d (%q) of %q cannot continue the document", i, x, b)
		}
	}
	c.m.copyFrom(&tmp)
	return nil
}

// Accept advances the constraint by the bytes of token id as emitted after
// prev (see Tokenizer.Piece: a leading space is dropped after BOS).
func (c *Constraint) Accept(tok TextTokenizer, prev, id int) error {
	if id < 0 || id >= c.vocab.size || c.vocab.tokens[id] == nil {
		return fmt.Errorf("llama: constraint: token %d is not allowed", id)
	}
	piece := c.vocab.tokens[id]
	if tok != nil {
		piece = []byte(tok.Piece(prev, id))
	}
	return c.AcceptBytes(piece)
}

// Allowed returns the ids of the tokens that can continue the document
// (EOS is not included; see Complete) and can still be completed within
// budget further tokens after them (budget < 0: no limit; the budget is
// only applied when every byte is a token of its own). The slice is
// owned by the constraint and valid until the next call.
func (c *Constraint) Allowed(budget int) []int32 {
	c.allowed = c.allowed[:0]
	if c.m.done() {
		return c.allowed
	}
	if !c.vocab.singleBytes {
		budget = -1
	}
	top := &c.m.stack[len(c.m.stack)-1]
	t := &c.vocab.full
	if top.kind == fString && top.esc == 0 && top.utfNeed == 0 {
		// Plain tokens keep the string open and the cost unchanged.
		if budget < 0 || c.m.remaining() <= budget {
			room := math.MaxInt32
			if top.n.maxLength >= 0 {
				room = top.n.maxLength - int(top.count)
			}
			for i, id := range c.vocab.plain {
				if int(c.vocab.plainLen[i]) > room {
					break
				}
				c.allowed = append(c.allowed, id)
			}
		}
		t = &c.vocab.special
	}
	if len(c.states) == 0 {
		c.states = make([]machine, 8)
	}
	c.states[0].copyFrom(&c.m)
	c.walk(t, 0, 0, budget)
	return c.allowed
}

func (c *Constraint) walk(t *trie, node int32, depth, budget int) {
	nd := t.nodes[node]
	if depth+1 >= len(c.states) {
		c.states = append(c.states, make([]machine, len(c.states))...)
	}
	for _, e := range t.edges[nd.first : nd.first+nd.n] {
		next := &c.states[depth+1]
		next.copyFrom(&c.states[depth])
		if !next.feed(e.b) {
			continue
		}
		ch := &t.nodes[e.child]
		if ch.tok >= 0 && (budget < 0 || next.remaining() <= budget) {
			c.allowed = append(c.allowed, ch.tok)
			c.allowed = append(c.allowed, t.dups[ch.dup:ch.dup+ch.ndup]...)
		}
		if t.nodes[e.child].n > 0 {
			c.walk(t, e.child, depth+1, budget)
		}
	}
}

// MaskLogits sets the logits of every token that cannot continue the
// document to -Inf (EOS stays allowed only when the document is complete),
// keeping the document finishable within budget tokens counting the one
// about to be drawn (budget < 0: no limit). It returns ErrConstraintDeadEnd
// when no token is allowed.
func (c *Constraint) MaskLogits(logits []float32, budget int) error {
	b := -1
	if budget >= 0 {
		b = budget - 1
	}
	allowed := c.Allowed(b)
	if len(allowed) == 0 && b >= 0 && !c.m.complete() {
		allowed = c.Allowed(-1) // the estimate was too strict: finish late rather than never
	}
	c.eosOK = c.m.complete()
	if len(allowed) == 0 && !c.eosOK {
		return ErrConstraintDeadEnd
	}
	ninf := float32(math.Inf(-1))
	saved := c.savedLogits(logits, allowed)
	for i := range logits {
		logits[i] = ninf
	}
	for i, id := range allowed {
		if int(id) < len(logits) {
			logits[id] = saved[i]
		}
	}
	if c.eosOK && c.vocab.eos >= 0 && c.vocab.eos < len(logits) {
		logits[c.vocab.eos] = c.eosLogit
	}
	return nil
}

// savedLogits copies the logits of the allowed tokens (and EOS).
func (c *Constraint) savedLogits(logits []float32, allowed []int32) []float32 {
	c.saved = c.saved[:0]
	for _, id := range allowed {
		if int(id) < len(logits) {
			c.saved = append(c.saved, logits[id])
		} else {
			c.saved = append(c.saved, 0)
		}
	}
	if c.vocab.eos >= 0 && c.vocab.eos < len(logits) {
		c.eosLogit = logits[c.vocab.eos]
	}
	return c.saved
}
