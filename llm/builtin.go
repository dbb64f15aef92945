package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/llama"
)

// Limits of a Builtin request.
const (
	// MaxN is the largest number of choices per request.
	MaxN = 128
	// MaxTopLogProbs is the largest number of alternatives per position.
	MaxTopLogProbs = 20
)

// BuiltinOptions configure NewBuiltin.
type BuiltinOptions struct {
	// Name is the model name clients use ("builtin" when empty).
	Name string
	// Workers is the largest number of sequences run at once
	// (DefaultWorkers when ≤ 0): they are decoded together by continuous
	// batching (llama.Batcher), one forward step for all of them; the
	// rest wait in arrival order. Each running sequence holds a
	// llama.State with a cache for its prompt and max_tokens.
	Workers int
	// Threads is the number of cores the engine uses (GOMAXPROCS when
	// ≤ 0): every batched step splits its matrix products over them.
	Threads int
	// Template renders chat requests (DefaultChatTemplate when nil) when
	// the model has no Jinja chat template and Jinja is nil.
	Template *ChatTemplate
	// Jinja is the Jinja chat template of chat requests; when nil the
	// model's own (llama.Model.ChatTemplate) is used if it has one and
	// Template is nil.
	Jinja *chat.Template
	// OnPrompt, when not nil, receives every chat request's rendered
	// prompt and its tokens before generation (a debug log or test hook).
	OnPrompt func(prompt string, tokens []int)
}

// DefaultWorkers is the number of sequences a Builtin runs at once when
// BuiltinOptions.Workers is not set.
const DefaultWorkers = 8

// Builtin is a Backend over a loaded llama.Model. Every choice of every
// request is one sequence of a llama.Batcher: up to Workers sequences are
// decoded together, one batched forward step for all of them, and the
// rest wait in arrival order. A sequence's tokens do not depend on the
// others running beside it. It is safe for concurrent use; call Close to
// stop the engine.
type Builtin struct {
	m        *llama.Model
	name     string
	tmpl     ChatTemplate
	jinja    *jinjaChat // nil: tmpl renders chat requests
	jinjaTok llama.TextTokenizer
	onPr     func(string, []int)

	batcher   *llama.Batcher
	slots     chan struct{} // one per running sequence, held until its text is delivered
	embedSlot chan struct{} // one embedding pass at a time
	quit      chan struct{}
	closeOnce sync.Once
}

// NewBuiltin starts a Builtin backend over m, which must have a tokenizer.
func NewBuiltin(m *llama.Model, opt BuiltinOptions) (*Builtin, error) {
	if m == nil {
		return nil, errors.New("llm: builtin: nil model")
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("llm: builtin: %w", llama.ErrNoTokenizer)
	}
	b := &Builtin{m: m, name: opt.Name, embedSlot: make(chan struct{}, 1), quit: make(chan struct{})}
	if b.name == "" {
		b.name = "builtin"
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	m.SetThreads(threads)
	if opt.Template != nil {
		b.tmpl = *opt.Template
	} else {
		b.tmpl = DefaultChatTemplate()
	}
	jt := opt.Jinja
	if jt == nil && opt.Template == nil && m.ChatTemplate != "" {
		var err error
		if jt, err = parseModelTemplate(m); err != nil {
			return nil, err
		}
	}
	if jt != nil {
		b.jinja = newJinjaChat(jt, m.Tokenizer)
		b.jinjaTok = m.Tokenizer
	}
	b.onPr = opt.OnPrompt
	b.batcher = m.NewBatcher(workers)
	b.slots = make(chan struct{}, workers)
	return b, nil
}

// Close stops the engine after the sequences it is running; waiting and
// later requests fail with ErrClosed.
func (b *Builtin) Close() error {
	b.closeOnce.Do(func() { close(b.quit) })
	b.batcher.Close()
	return nil
}

// Models returns the backend's single model name.
func (b *Builtin) Models() []string { return []string{b.name} }

// Name returns the model name.
func (b *Builtin) Name() string { return b.name }

// Workers returns the largest number of sequences run at once.
func (b *Builtin) Workers() int { return b.batcher.MaxSeqs() }

// ContextLength returns the model's context window in tokens.
func (b *Builtin) ContextLength() int { return b.m.Config.SeqLen }

// Template returns the chat template.
func (b *Builtin) Template() ChatTemplate { return b.tmpl }

// each runs fn(i) for i in [0, n) on their own goroutines and returns the
// first error in index order, or ctx's error when ctx ended.
func each(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	// A cancelled context is the cause to report, not a follower error.
	if err := ctx.Err(); err != nil {
		for _, e := range errs {
			if e != nil {
				return err
			}
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (b *Builtin) checkModel(name string) error {
	if name != "" && name != b.name {
		return reqErr(ErrUnknownModel, "model", "the model %q does not exist (this server has %q)", name, b.name)
	}
	return nil
}

// seqParams are the validated parameters of every sequence of a request.
type seqParams struct {
	sample    llama.SampleOptions
	maxTokens int
	stops     []string
	maxStop   int
	ignoreEOS bool
	logProbs  bool
	top       int
	schema    *llama.JSONSchema // response format (nil: free text)
}

// prepare validates req and returns its prompt tokens and sequence
// parameters; Generate calls it before any work is queued.
func (b *Builtin) prepare(req Request) ([]int, seqParams, error) {
	var p seqParams
	if err := b.checkModel(req.Model); err != nil {
		return nil, p, err
	}
	switch {
	case req.N < 0 || req.N > MaxN:
		return nil, p, reqErr(ErrInvalidRequest, "n", "must be between 1 and %d (got %d)", MaxN, req.N)
	case math.IsNaN(req.Temperature) || req.Temperature < 0 || req.Temperature > 2:
		return nil, p, reqErr(ErrInvalidRequest, "temperature", "must be between 0 and 2 (got %g)", req.Temperature)
	case math.IsNaN(req.TopP) || req.TopP < 0 || req.TopP > 1:
		return nil, p, reqErr(ErrInvalidRequest, "top_p", "must be between 0 and 1 (got %g)", req.TopP)
	case req.MaxTokens < 0:
		return nil, p, reqErr(ErrInvalidRequest, "max_tokens", "must not be negative (got %d)", req.MaxTokens)
	case req.TopLogProbs < 0 || req.TopLogProbs > MaxTopLogProbs:
		return nil, p, reqErr(ErrInvalidRequest, "top_logprobs", "must be between 0 and %d (got %d)", MaxTopLogProbs, req.TopLogProbs)
	}
	prompt := req.Prompt
	p.stops = append(p.stops, req.Stop...)
	var tokens []int
	switch {
	case len(req.Messages) > 0 && b.jinja != nil:
		var err error
		if prompt, tokens, err = b.jinja.render(b.jinjaTok, req.Messages); err != nil {
			return nil, p, err
		}
	case len(req.Messages) > 0:
		var err error
		if prompt, err = b.tmpl.Render(req.Messages); err != nil {
			return nil, p, err
		}
		p.stops = append(p.stops, b.tmpl.Stop...)
	}
	for _, s := range p.stops {
		p.maxStop = max(p.maxStop, len(s))
	}
	if tokens == nil {
		tokens = b.m.Tokenizer.Encode(prompt, true, false)
	}
	if len(tokens) == 0 {
		return nil, p, reqErr(ErrInvalidRequest, "messages", "the chat template rendered an empty prompt")
	}
	if len(req.Messages) > 0 && b.onPr != nil {
		b.onPr(prompt, tokens)
	}
	ctxLen := b.m.Config.SeqLen
	if need := len(tokens) + max(req.MaxTokens, 1); need > ctxLen {
		param := "prompt"
		if len(req.Messages) > 0 {
			param = "messages"
		}
		return nil, p, reqErr(ErrContextLength, param,
			"this model's maximum context length is %d tokens; the request needs %d (%d in the prompt, %d to generate)",
			ctxLen, need, len(tokens), max(req.MaxTokens, 1))
	}
	p.sample = llama.SampleOptions{Temperature: float32(req.Temperature), TopP: float32(req.TopP)}
	p.maxTokens = req.MaxTokens
	p.ignoreEOS = req.IgnoreEOS
	p.logProbs = req.LogProbs || req.TopLogProbs > 0
	p.top = req.TopLogProbs
	return tokens, p, nil
}

// CountTokens returns the number of tokens of the prompt req would feed
// the model (BOS included), after validating req.
func (b *Builtin) CountTokens(req Request) (int, error) {
	tokens, _, err := b.prepare(req)
	return len(tokens), err
}

// ChoiceSeed returns the seed of choice i of a request with seed s: s itself
// for the first choice, so that a request with N = 1 reproduces
// llama.Model.Generate with Seed s.
func ChoiceSeed(s uint64, i int) uint64 { return s + uint64(i)*0x9E3779B97F4A7C15 }

// Generate implements Backend.
func (b *Builtin) Generate(ctx context.Context, req Request) (Response, error) {
	tokens, p, err := b.prepare(req)
	if err != nil {
		return Response{}, err
	}
	if p.schema, err = req.Format.Compile(); err != nil {
		return Response{}, err
	}
	n := max(req.N, 1)
	seed := rand.Uint64()
	if req.Seed != nil {
		seed = *req.Seed
	}
	var emit func(Delta) error
	if req.OnDelta != nil {
		var mu sync.Mutex
		emit = func(d Delta) error {
			mu.Lock()
			defer mu.Unlock()
			return req.OnDelta(d)
		}
	}
	choices := make([]Choice, n)
	counts := make([]int, n)
	err = each(ctx, n, func(i int) error {
		sp := p
		sp.sample.Seed = ChoiceSeed(seed, i)
		var err error
		choices[i], counts[i], err = b.sequence(ctx, tokens, sp, i, emit)
		return err
	})
	if err != nil {
		return Response{}, fmt.Errorf("llm: builtin: generate: %w", err)
	}
	res := Response{Model: b.name, Choices: choices, Usage: Usage{PromptTokens: len(tokens)}}
	for _, c := range counts {
		res.Usage.CompletionTokens += c
	}
	return res, nil
}

// sequence generates choice idx from the prompt tokens: one sequence of
// the batcher (llama's generation loop), with log-probabilities and
// streaming added by its per-token callback. It returns the choice and the
// number of generated tokens.
func (b *Builtin) sequence(ctx context.Context, prompt []int, p seqParams, idx int, emit func(Delta) error) (Choice, int, error) {
	tok := b.m.Tokenizer
	con, err := b.newConstraint(p.schema)
	if err != nil {
		return Choice{}, 0, err
	}
	c := Choice{Index: idx}
	var pending []TokenLogProb // log-probs not yet delivered
	emitted := 0               // bytes of text already delivered
	var top topK
	// The sequence holds a slot until its text is delivered, so a slow
	// client keeps its own place, not the batch, waiting.
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return Choice{}, 0, ctx.Err()
	case <-b.quit:
		return Choice{}, 0, ErrClosed
	}
	defer func() { <-b.slots }()
	var out *stream
	if emit != nil {
		out = newStream(ctx, emit)
	}
	req := llama.Request{
		Prompt:     prompt,
		Options:    llama.GenerateOptions{SampleOptions: p.sample, MaxTokens: p.maxTokens, Stop: p.stops, IgnoreEOS: p.ignoreEOS},
		Constraint: con,
	}
	if p.logProbs || out != nil {
		req.OnToken = func(ev *llama.TokenEvent) error {
			if p.logProbs {
				lp := tokenLogProb(tok, ev.Logits, ev.Prev, ev.Token, p.top, &top)
				if con != nil {
					lp.Top = finiteTop(lp.Top) // masked tokens have no probability
				}
				c.LogProbs = append(c.LogProbs, lp)
				if out != nil {
					pending = append(pending, lp)
				}
			}
			if out == nil || ev.FinishReason == llama.FinishStop {
				return nil // the final delta below carries the rest
			}
			s := ev.Text
			safe := utf8Boundary(s, len(s)-holdBack(s, p.stops))
			if safe > emitted {
				if err := out.push(Delta{Index: idx, Text: s[emitted:safe], LogProbs: pending}); err != nil {
					return err
				}
				emitted, pending = safe, nil
			}
			return nil
		}
	}
	g, err := b.batcher.Generate(ctx, req)
	if out != nil {
		if derr := out.close(); err == nil {
			err = derr
		}
	}
	if cerr := ctx.Err(); cerr != nil && (err != nil || out != nil) {
		err = cerr // the cause, not its consequence (or the stream was cut)
	} else if errors.Is(err, llama.ErrClosed) {
		err = ErrClosed
	}
	if err != nil {
		return Choice{}, 0, err
	}
	c.Text = g.Text
	c.FinishReason = FinishStop
	if g.FinishReason == llama.FinishLength {
		c.FinishReason = FinishLength
	}
	if emit != nil {
		if err := emit(Delta{Index: idx, Text: c.Text[min(emitted, len(c.Text)):], LogProbs: pending, FinishReason: c.FinishReason}); err != nil {
			return Choice{}, len(g.Tokens), err
		}
	}
	return c, len(g.Tokens), nil
}

// stream delivers one sequence's deltas on its own goroutine, in order,
// so that writing to a client never holds up the batch's next step. It
// stops delivering once ctx ends or a delivery fails; push then returns
// that error, which ends the sequence.
type stream struct {
	ctx    context.Context
	emit   func(Delta) error
	mu     sync.Mutex
	queue  []Delta
	closed bool
	err    error
	wake   chan struct{}
	done   chan struct{}
}

func newStream(ctx context.Context, emit func(Delta) error) *stream {
	s := &stream{ctx: ctx, emit: emit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.run()
	return s
}

// push queues d; it never blocks.
func (s *stream) push(d Delta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.queue = append(s.queue, d)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// close waits until every queued delta is delivered (or delivery stopped)
// and returns the delivery error.
func (s *stream) close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		q, closed := s.queue, s.closed
		s.queue = nil
		s.mu.Unlock()
		for _, d := range q {
			err := s.ctx.Err()
			if err == nil {
				err = s.emit(d)
			}
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
		}
		if closed {
			return // nothing is pushed after close
		}
		<-s.wake
	}
}

// holdBack returns the length of the longest suffix of s that is a proper
// prefix of a stop string: text that may still turn into a stop and must
// not be streamed yet.
func holdBack(s string, stops []string) int {
	best := 0
	for _, st := range stops {
		for k := min(len(s), len(st)-1); k > best; k-- {
			if s[len(s)-k:] == st[:k] {
				best = k
				break
			}
		}
	}
	return best
}

// utf8Boundary moves end back to the start of an incomplete UTF-8 sequence
// at the end of s[:end], so streamed pieces never split a character.
func utf8Boundary(s string, end int) int {
	for i := end - 1; i >= 0 && i >= end-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:end]) {
				return i
			}
			break
		}
	}
	return end
}

// topK keeps the k largest logits.
type topK struct{ ids []int }

func (t *topK) find(logits []float32, k int) []int {
	ids := t.ids[:0]
	for i, l := range logits {
		if len(ids) == k && l <= logits[ids[k-1]] {
			continue
		}
		j := len(ids)
		if j < k {
			ids = append(ids, i)
		} else {
			j--
		}
		for ; j > 0 && logits[ids[j-1]] < l; j-- {
			ids[j] = ids[j-1]
		}
		ids[j] = i
	}
	t.ids = ids
	return ids
}

// tokenLogProb returns the log-probability of next (following prev) under
// logits and, when top > 0, the top alternatives.
func tokenLogProb(tok llama.TextTokenizer, logits []float32, prev, next, top int, buf *topK) TokenLogProb {
	mx := float64(logits[llama.Argmax(logits)])
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - mx)
	}
	lse := mx + math.Log(sum)
	lp := TokenLogProb{Token: tok.Piece(prev, next), LogProb: min(float64(logits[next])-lse, 0)}
	if top > 0 {
		for _, id := range buf.find(logits, min(top, len(logits))) {
			lp.Top = append(lp.Top, TopLogProb{Token: tok.Piece(prev, id), LogProb: min(float64(logits[id])-lse, 0)})
		}
	}
	return lp
}

// Embed implements Backend: the mean-pooled final hidden states of each
// text (llama.Model.EmbedTokens), one vector of the model's width per text.
func (b *Builtin) Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error) {
	if err := b.checkModel(req.Model); err != nil {
		return EmbedResponse{}, err
	}
	if len(req.Input) == 0 {
		return EmbedResponse{}, reqErr(ErrInvalidRequest, "input", "at least one text is required")
	}
	select {
	case <-b.quit:
		return EmbedResponse{}, fmt.Errorf("llm: builtin: embed: %w", ErrClosed)
	default:
	}
	toks := make([][]int, len(req.Input))
	res := EmbedResponse{Model: b.name, Vectors: make([][]float32, len(req.Input))}
	for i, s := range req.Input {
		toks[i] = b.m.Tokenizer.Encode(s, true, false)
		if len(toks[i]) > b.m.Config.SeqLen {
			return EmbedResponse{}, reqErr(ErrContextLength, "input",
				"input %d has %d tokens; this model's maximum context length is %d tokens", i, len(toks[i]), b.m.Config.SeqLen)
		}
		res.Usage.PromptTokens += len(toks[i])
	}
	err := each(ctx, len(toks), func(i int) (err error) {
		select {
		case b.embedSlot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-b.quit:
			return ErrClosed
		}
		defer func() {
			<-b.embedSlot
			if r := recover(); r != nil {
				err = fmt.Errorf("engine panic: %v", r)
			}
		}()
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Vectors[i], err = b.m.EmbedTokens(toks[i])
		return err
	})
	if err != nil {
		return EmbedResponse{}, fmt.Errorf("llm: builtin: embed: %w", err)
	}
	return res, nil
}
