package llama

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// SampleOptions control how the next token is drawn from the logits.
type SampleOptions struct {
	// Temperature divides the logits before the softmax; 0 means greedy
	// (argmax) decoding.
	Temperature float32
	// TopP keeps the smallest set of most likely tokens whose probability
	// mass reaches TopP (nucleus sampling); 0 or ≥ 1 disables it.
	TopP float32
	// TopK keeps only the TopK most likely tokens; 0 disables it.
	TopK int
	// Seed makes sampling deterministic: equal seeds give equal draws.
	Seed uint64
}

// Sampler draws tokens from logits. It keeps its own random stream and
// scratch buffers, so use one Sampler per sequence.
type Sampler struct {
	opt   SampleOptions
	rng   *rand.Rand
	cands []candidate
}

type candidate struct {
	id int
	p  float32
}

// NewSampler returns a sampler with the given options.
func NewSampler(opt SampleOptions) *Sampler {
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9E3779B97F4A7C15))}
}

// Argmax returns the index of the largest value (the first one on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// Sample returns the next token for the given logits (which are not
// modified).
func (s *Sampler) Sample(logits []float32) int {
	if s.opt.Temperature <= 0 || s.opt.TopK == 1 || len(logits) < 2 {
		return Argmax(logits)
	}
	// Softmax of logits / temperature.
	mx := logits[Argmax(logits)]
	inv := 1 / s.opt.Temperature
	cands := s.cands[:0]
	var sum float64
	for i, l := range logits {
		p := float32(math.Exp(float64((l - mx) * inv)))
		sum += float64(p)
		cands = append(cands, candidate{i, p})
	}
	s.cands = cands
	norm := float32(1 / sum)
	for i := range cands {
		cands[i].p *= norm
	}
	topK := s.opt.TopK
	topP := s.opt.TopP
	if topP > 0 && topP < 1 {
		// Tokens below this probability cannot be part of the nucleus
		// (they would need more than n-1 companions to reach topP).
		cutoff := (1 - topP) / float32(len(cands)-1)
		kept := cands[:0]
		for _, c := range cands {
			if c.p >= cutoff {
				kept = append(kept, c)
			}
		}
		cands = kept
		if len(cands) == 0 { // e.g. a near-uniform distribution and tiny topP
			return Argmax(logits)
		}
	}
	if topK > 0 && topK < len(cands) || topP > 0 && topP < 1 {
		slices.SortFunc(cands, func(a, b candidate) int {
			if c := cmp.Compare(b.p, a.p); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		if topK > 0 && topK < len(cands) {
			cands = cands[:topK]
		}
		if topP > 0 && topP < 1 {
			var cum float32
			for i, c := range cands {
				cum += c.p
				if cum >= topP {
					cands = cands[:i+1]
					break
				}
			}
		}
	}
	var mass float32
	for _, c := range cands {
		mass += c.p
	}
	r := s.rng.Float32() * mass
	var cum float32
	for _, c := range cands {
		cum += c.p
		if r < cum {
			return c.id
		}
	}
	return cands[len(cands)-1].id
}

// GenerateOptions control text generation.
type GenerateOptions struct {
	SampleOptions
	// MaxTokens caps the number of generated tokens; 0 means until the
	// context window is full.
	MaxTokens int
	// Stop ends generation as soon as the generated text contains one of
	// these strings; the text is cut right before it.
	Stop []string
	// IgnoreEOS keeps generating after EOS (and BOS) tokens instead of
	// stopping.
	IgnoreEOS bool
}

// Finish reasons reported in Generation.FinishReason.
const (
	FinishLength = "length" // MaxTokens or the context window was reached
	FinishEOS    = "eos"    // the model produced EOS (or BOS)
	FinishStop   = "stop"   // a stop sequence was produced
)

// Generation is the result of one generated sequence.
type Generation struct {
	// Prompt holds the prompt tokens (starting with BOS).
	Prompt []int
	// Tokens holds the generated tokens, excluding a final EOS/BOS but
	// including the token that completed a stop sequence.
	Tokens []int
	// Text is the decoded generated text (cut before a stop sequence).
	Text string
	// FinishReason is FinishLength, FinishEOS or FinishStop.
	FinishReason string
}

// Generate encodes prompt (with BOS) and generates a continuation.
func (m *Model) Generate(prompt string, opt GenerateOptions) (*Generation, error) {
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	return m.GenerateTokens(m.Tokenizer.Encode(prompt, true, false), opt)
}

// GenerateTokens generates a continuation of the prompt tokens (which
// should start with BOS).
func (m *Model) GenerateTokens(prompt []int, opt GenerateOptions) (*Generation, error) {
	return m.generate(m.stateFor(prompt, opt, m.Threads()), prompt, opt, nil)
}

// stateFor allocates a state with just enough cache for the request.
func (m *Model) stateFor(prompt []int, opt GenerateOptions, threads int) *State {
	n := m.Config.SeqLen
	if opt.MaxTokens > 0 && len(prompt)+opt.MaxTokens < n {
		n = max(len(prompt)+opt.MaxTokens, 1)
	}
	return m.newState(n, threads)
}

// generate runs the generation loop (Model.Decode) on st. When c is not
// nil every step is restricted to the tokens that can continue c's
// document (see Request.Constraint).
func (m *Model) generate(st *State, prompt []int, opt GenerateOptions, c *Constraint) (*Generation, error) {
	g, err := m.Decode(context.Background(), st, Request{Prompt: prompt, Options: opt, Constraint: c})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return g, nil
}

// BatchRequest is one sequence of a GenerateBatch call.
type BatchRequest struct {
	Prompt  string
	Options GenerateOptions
}

// GenerateBatch generates independent sequences, using up to workers
// goroutines (GOMAXPROCS when workers ≤ 0). Each sequence has its own
// state and random stream, so the results do not depend on workers.
func (m *Model) GenerateBatch(reqs []BatchRequest, workers int) ([]*Generation, error) {
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(reqs))
	threads := max(1, m.Threads()/max(workers, 1))
	out := make([]*Generation, len(reqs))
	errs := make([]error, len(reqs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := m.Tokenizer.Encode(reqs[i].Prompt, true, false)
				out[i], errs[i] = m.generate(m.stateFor(p, reqs[i].Options, threads), p, reqs[i].Options, nil)
			}
		}()
	}
	for i := range reqs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("batch item %d: %w", i, err)
		}
	}
	return out, nil
}

// LogProbResult holds the log-probability of a continuation.
type LogProbResult struct {
	// Tokens are the continuation tokens that were scored.
	Tokens []int
	// PerToken[i] is log P(Tokens[i] | prompt, Tokens[:i]) (natural log).
	PerToken []float64
	// Sum is the total log-probability of the continuation.
	Sum float64
}

// LogProb returns the log-probability of continuation following prompt.
// The prompt is encoded with BOS and the dummy-prefix space; the
// continuation is encoded as raw text (include its leading space, e.g.
// " there was").
func (m *Model) LogProb(prompt, continuation string) (*LogProbResult, error) {
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	return m.LogProbTokens(m.Tokenizer.Encode(prompt, true, false), m.Tokenizer.EncodeRaw(continuation))
}

// LogProbTokens scores continuation tokens given prompt tokens (the prompt
// must hold at least one token, normally BOS).
func (m *Model) LogProbTokens(prompt, continuation []int) (*LogProbResult, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("logprob: empty prompt (need at least BOS)")
	}
	if n := len(prompt) + len(continuation) - 1; n > m.Config.SeqLen {
		return nil, fmt.Errorf("logprob: %d positions exceed context of %d", n, m.Config.SeqLen)
	}
	st := m.NewStateN(len(prompt) + len(continuation))
	if err := st.Prefill(prompt[:len(prompt)-1], 0); err != nil {
		return nil, fmt.Errorf("logprob: %w", err)
	}
	res := &LogProbResult{Tokens: slices.Clone(continuation), PerToken: make([]float64, len(continuation))}
	token := prompt[len(prompt)-1]
	pos := len(prompt) - 1
	for i, next := range continuation {
		if next < 0 || next >= m.Config.VocabSize {
			return nil, fmt.Errorf("logprob: token %d outside vocabulary", next)
		}
		logits, err := st.Forward(token, pos)
		if err != nil {
			return nil, fmt.Errorf("logprob: %w", err)
		}
		lp := LogSoftmaxAt(logits, next)
		res.PerToken[i] = lp
		res.Sum += lp
		token = next
		pos++
	}
	return res, nil
}

// LogSoftmaxAt returns log softmax(logits)[i], computed in float64.
func LogSoftmaxAt(logits []float32, i int) float64 {
	mx := float64(logits[Argmax(logits)])
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - mx)
	}
	return float64(logits[i]) - mx - math.Log(sum)
}

// Embed returns the mean of the final (normalised) hidden states over the
// tokens of text (BOS excluded unless text is empty), a vector of length
// Config.Dim.
func (m *Model) Embed(text string) ([]float32, error) {
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	return m.EmbedTokens(m.Tokenizer.Encode(text, true, false))
}

// EmbedTokens is Embed for a token sequence; the first token (BOS) only
// contributes when it is the only one.
func (m *Model) EmbedTokens(tokens []int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("embed: no tokens")
	}
	if len(tokens) > m.Config.SeqLen {
		return nil, fmt.Errorf("embed: %d tokens exceed context of %d", len(tokens), m.Config.SeqLen)
	}
	st := m.NewStateN(len(tokens))
	acc := make([]float64, m.Config.Dim)
	n := 0
	err := st.prefill(tokens, 0, func(pos int, h []float32) {
		if pos == 0 && len(tokens) > 1 {
			return
		}
		for i, v := range h {
			acc[i] += float64(v)
		}
		n++
	})
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	out := make([]float32, len(acc))
	for i, v := range acc {
		out[i] = float32(v / float64(n))
	}
	return out, nil
}
