package judge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ggmi-dev/ggmi/internal/jsonx"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/measure"
)

// LLMEntailOptions configure an LLM entailment judge (NOTES §4: an LLM
// asked whether A semantically entails B, at near-zero temperature,
// cached).
type LLMEntailOptions struct {
	// Model names the model (Request.Model); empty lets the backend choose.
	Model string
	// Context, when set, is shown as what both texts respond to (the
	// question of Farquhar et al.), so that entailment is judged in it. The
	// brief prompt used when the full one does not fit the context window
	// omits it.
	Context string
	// Temperature of the requests [0, greedy].
	Temperature float64
	// Seed of the requests.
	Seed uint64
	// MaxChars truncates each text shown [1,000]; prompts are shortened
	// further when they do not fit the context window.
	MaxChars int
	// MaxTokens caps each answer [64].
	MaxTokens int
	// Retries is the number of extra attempts when an answer names no
	// label [1]; negative means none. An answer that never names one is
	// read as neutral (counted in Stats().Unparsed).
	Retries int
	// ContextTokens and CharsPerToken are as in ClusterAgentOptions.
	ContextTokens int
	CharsPerToken float64
}

// LLMEntailer judges entailment with an llm.Backend. Each request sends the
// JSON schema {"label": "entailment" | "neutral" | "contradiction"}; when the
// backend rejects schemas, answers are read as free text (a JSON object, or
// the first of the three words in the answer). Judgements are memoised in
// memory; wrap the backend with llm.Cached to keep them across runs. It is
// safe for concurrent use.
type LLMEntailer struct {
	c        *llmCaller
	opt      LLMEntailOptions
	mu       sync.Mutex
	memo     map[[2]string]measure.Label
	fallback atomic.Int64 // answers read as neutral for want of a label
}

// NewLLMEntailer returns an entailment judge on b.
func NewLLMEntailer(b llm.Backend, opt LLMEntailOptions) (*LLMEntailer, error) {
	if opt.MaxChars == 0 {
		opt.MaxChars = 1000
	}
	if opt.MaxTokens == 0 {
		opt.MaxTokens = 64
	}
	if opt.Retries == 0 {
		opt.Retries = 1
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.MaxChars < minItemChars || opt.MaxTokens < 1 || math.IsNaN(opt.Temperature) || opt.Temperature < 0 {
		return nil, fmt.Errorf("measure: invalid entailment options (max chars %d, max tokens %d, temperature %g)", opt.MaxChars, opt.MaxTokens, opt.Temperature)
	}
	c, err := newLLMCaller(b, opt.Model, opt.ContextTokens, opt.CharsPerToken)
	if err != nil {
		return nil, err
	}
	return &LLMEntailer{c: c, opt: opt, memo: map[[2]string]measure.Label{}}, nil
}

// Stats returns the request counters so far.
func (e *LLMEntailer) Stats() LLMCallStats { return e.c.stats() }

// Fallbacks counts the answers read as neutral because no label was found.
func (e *LLMEntailer) Fallbacks() int64 { return e.fallback.Load() }

// Func returns an EntailFunc bound to ctx, for ClusterByEntailment and
// SemanticEntropy.
func (e *LLMEntailer) Func(ctx context.Context) measure.EntailFunc {
	return func(a, b string) (measure.Label, error) { return e.Entail(ctx, a, b) }
}

var entailSchema = mustSchema(objSchema(map[string]any{
	"label": map[string]any{"type": "string", "enum": []string{"entailment", "neutral", "contradiction"}},
}))

// Entail judges whether a entails b.
func (e *LLMEntailer) Entail(ctx context.Context, a, b string) (measure.Label, error) {
	key := [2]string{a, b}
	e.mu.Lock()
	l, ok := e.memo[key]
	e.mu.Unlock()
	if ok {
		return l, nil
	}
	o := e.opt
	var got measure.Label
	_, err := e.c.call(ctx, jsonCall{
		stage: "entailment", schema: entailSchema, limit: o.MaxChars, maxTokens: o.MaxTokens,
		temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("entailment")), attempts: 1 + o.Retries,
		build: func(limit int, brief bool) []llm.Message {
			if brief {
				return briefMsgs(fmt.Sprintf("A: %s\nB: %s\nDoes A entail B, contradict it, or neither (neutral)?",
					clipText(foldSpace(a), limit), clipText(foldSpace(b), limit)))
			}
			var ctxLine string
			if o.Context != "" {
				ctxLine = "Both statements respond to: " + clipText(foldSpace(o.Context), limit) + "\n"
			}
			return chatMsgs("You judge the logical relation between two statements. You answer with JSON only.",
				fmt.Sprintf("%sStatement A: %s\nStatement B: %s\n"+
					"If A is true, must B be true as well? Say \"entailment\" if A implies B, \"contradiction\" if A and B cannot both be true, "+
					"and \"neutral\" otherwise.\n"+`Answer with JSON: {"label": "entailment"}, {"label": "neutral"} or {"label": "contradiction"}`,
					ctxLine, clipText(foldSpace(a), limit), clipText(foldSpace(b), limit)))
		},
		parse: func(text string) error {
			l, err := ParseEntailment(text)
			got = l
			return err
		},
	})
	switch {
	case errors.Is(err, errUnparsed):
		e.fallback.Add(1)
		got = measure.Neutral
	case err != nil:
		return measure.Neutral, fmt.Errorf("measure: entailment: %w", err)
	}
	e.mu.Lock()
	e.memo[key] = got
	e.mu.Unlock()
	return got, nil
}

// ParseEntailment reads a label from an answer: the "label" of a JSON
// object, else the first of "entail…", "contradict…" and "neutral" in the
// text (case-insensitive).
func ParseEntailment(text string) (measure.Label, error) {
	type labelOut struct {
		Label string `json:"label"`
	}
	if v, err := jsonx.DecodeFirst(text, func(v *labelOut) error {
		if _, ok := labelOf(v.Label); !ok {
			return errors.New("no label")
		}
		return nil
	}); err == nil {
		l, _ := labelOf(v.Label)
		return l, nil
	}
	if l, ok := labelOf(text); ok {
		return l, nil
	}
	return measure.Neutral, fmt.Errorf("no entailment label in %q", clipText(text, 80))
}

// labelOf finds the earliest label word in s.
func labelOf(s string) (measure.Label, bool) {
	s = strings.ToLower(s)
	best, lab := -1, measure.Neutral
	for _, c := range []struct {
		word string
		l    measure.Label
	}{{"entail", measure.Entailment}, {"contradict", measure.Contradiction}, {"neutral", measure.Neutral}} {
		if i := strings.Index(s, c.word); i >= 0 && (best < 0 || i < best) {
			best, lab = i, c.l
		}
	}
	return lab, best >= 0
}
