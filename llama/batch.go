package llama

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The generation loop. One sequence's decoding (sampling, EOS, stop
// sequences, a JSON-schema constraint, the per-token callback) lives in
// sequence.advance; two drivers feed it logits:
//
//   - Model.Decode runs one sequence on one State, position by position;
//   - Batcher runs many sequences on one goroutine, one batched forward
//     step for all of them (continuous batching).
//
// Both check their context before every step, so cancelling one stops
// its sequence within one step.

// TokenEvent is what a Request's OnToken callback receives after every
// generated token (not after a final EOS, which ends generation without
// adding a token).
type TokenEvent struct {
	// Prev is the token fed to the model at this step and Token the one
	// drawn from its output.
	Prev, Token int
	// Logits are the scores Token was drawn from, after a constraint's
	// mask (masked tokens are -Inf). Valid during the call only.
	Logits []float32
	// Text is the generated text so far, cut before a stop sequence when
	// this token completed one.
	Text string
	// Count is the number of generated tokens so far, this one included.
	Count int
	// FinishReason is empty while generation goes on; FinishStop when this
	// token completed a stop sequence or the constrained document;
	// FinishLength when it is the last one the budget allows.
	FinishReason string
}

// Request is one sequence to generate.
type Request struct {
	// Prompt holds the prompt tokens (normally starting with BOS).
	Prompt []int
	// Options are the sampling options and limits.
	Options GenerateOptions
	// Constraint, when not nil, restricts every step to the tokens that
	// can continue its document; EOS then ends generation whatever
	// Options.IgnoreEOS says, and generation stops (FinishStop) as soon as
	// the document is complete. A Constraint serves one sequence.
	Constraint *Constraint
	// OnToken, when not nil, is called after every generated token; an
	// error ends generation and is returned. Under a Batcher it runs on
	// the batcher's goroutine between steps: it should return quickly, as
	// every sequence of the batch waits for it.
	OnToken func(*TokenEvent) error
}

// sequence is one generation in progress: everything of the loop but the
// forward pass.
type sequence struct {
	r         Request
	tok       TextTokenizer
	bos, eos  int
	ignoreEOS bool
	maxNew    int
	maxStop   int
	smp       *Sampler
	text      strings.Builder
	g         *Generation
	token     int  // the next token to feed
	pos       int  // its position
	done      bool // generation has ended
	ev        TokenEvent
}

// newSequence validates r for a cache of ctxLen positions and starts it.
func (m *Model) newSequence(r Request, ctxLen int) (*sequence, error) {
	p, opt := r.Prompt, r.Options
	if len(p) == 0 {
		return nil, fmt.Errorf("empty prompt (need at least BOS)")
	}
	if len(p) > ctxLen {
		return nil, fmt.Errorf("prompt of %d tokens exceeds context of %d", len(p), ctxLen)
	}
	if opt.MaxTokens < 0 {
		return nil, fmt.Errorf("negative MaxTokens %d", opt.MaxTokens)
	}
	q := &sequence{r: r, tok: m.Tokenizer, bos: -1, eos: -1, smp: NewSampler(opt.SampleOptions)}
	if q.tok != nil {
		q.bos, q.eos = q.tok.BOSID(), q.tok.EOSID()
	}
	q.ignoreEOS = opt.IgnoreEOS && r.Constraint == nil
	q.maxNew = ctxLen - len(p) + 1
	if opt.MaxTokens > 0 && opt.MaxTokens < q.maxNew {
		q.maxNew = opt.MaxTokens
	}
	for _, s := range opt.Stop {
		q.maxStop = max(q.maxStop, len(s))
	}
	q.g = &Generation{Prompt: slices.Clone(p), FinishReason: FinishLength}
	q.token, q.pos = p[len(p)-1], len(p)-1
	return q, nil
}

// head returns the prompt tokens fed without logits before the first step.
func (q *sequence) head() []int { return q.r.Prompt[:len(q.r.Prompt)-1] }

// advance takes the logits of q.token at q.pos, draws the next token and
// updates the text, the finish reason and q.done.
func (q *sequence) advance(logits []float32) error {
	c := q.r.Constraint
	if c != nil {
		if err := c.MaskLogits(logits, q.maxNew-len(q.g.Tokens)); err != nil {
			return fmt.Errorf("after %d tokens: %w", len(q.g.Tokens), err)
		}
	}
	next := q.smp.Sample(logits)
	if !q.ignoreEOS && (next == q.eos || next == q.bos) {
		q.g.FinishReason = FinishEOS
		q.done = true
		return nil
	}
	if c != nil {
		if err := c.Accept(q.tok, q.token, next); err != nil {
			return err
		}
	}
	prev := q.token
	q.g.Tokens = append(q.g.Tokens, next)
	if q.tok != nil {
		before := q.text.Len()
		q.text.WriteString(q.tok.Piece(prev, next))
		if q.maxStop > 0 {
			s := q.text.String()
			if cut, ok := findStop(s, max(0, before-q.maxStop+1), q.r.Options.Stop); ok {
				q.text.Reset()
				q.text.WriteString(s[:cut])
				q.g.FinishReason = FinishStop
				q.done = true
			}
		}
	}
	q.token, q.pos = next, q.pos+1
	if !q.done && c != nil && c.Done() {
		q.g.FinishReason = FinishStop
		q.done = true
	}
	if !q.done && len(q.g.Tokens) >= q.maxNew {
		q.done = true // FinishLength
	}
	if q.r.OnToken == nil {
		return nil
	}
	q.ev = TokenEvent{Prev: prev, Token: next, Logits: logits, Text: q.text.String(), Count: len(q.g.Tokens)}
	if q.done {
		q.ev.FinishReason = q.g.FinishReason
	}
	err := q.r.OnToken(&q.ev)
	q.ev.Logits = nil
	return err
}

// result returns the finished generation.
func (q *sequence) result() *Generation {
	q.g.Text = q.text.String()
	return q.g
}

// findStop returns the earliest index ≥ from (where a match may end in the
// new part of s) at which one of stops occurs.
func findStop(s string, from int, stops []string) (int, bool) {
	best := -1
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(s[from:], st); i >= 0 && (best < 0 || from+i < best) {
			best = from + i
		}
	}
	return best, best >= 0
}

// Decode generates r on st, a State of m whose cache holds the prompt and
// the generated tokens (nil: a State sized for the request). ctx is
// checked before every prompt chunk and every step: once it is done,
// Decode returns its error within one step.
func (m *Model) Decode(ctx context.Context, st *State, r Request) (*Generation, error) {
	if st == nil {
		st = m.stateFor(r.Prompt, r.Options, m.Threads())
	}
	q, err := m.newSequence(r, st.ctx)
	if err != nil {
		return nil, err
	}
	head := q.head()
	for pos := 0; pos < len(head); pos += prefillChunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := st.Prefill(head[pos:min(pos+prefillChunk, len(head))], pos); err != nil {
			return nil, fmt.Errorf("prompt: %w", err)
		}
	}
	for !q.done {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		logits, err := st.Forward(q.token, q.pos)
		if err != nil {
			return nil, fmt.Errorf("position %d: %w", q.pos, err)
		}
		if err := q.advance(logits); err != nil {
			return nil, err
		}
	}
	return q.result(), nil
}

// ErrClosed is returned by a closed Batcher.
var ErrClosed = errors.New("llama: batcher closed")
