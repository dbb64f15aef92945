package llm

import (
	"errors"
	"math"
)

// DefaultCharsPerToken estimates a prompt's tokens from its characters
// when the backend cannot count them.
const DefaultCharsPerToken = 3

// Window is a backend's context window, for callers that fit prompts into
// it (the LLM judge, the Cluster-agent, LLM entailment): its length and a
// way to count a request's prompt tokens as the backend will.
type Window struct {
	Length        int // context length in tokens; 0 when unknown
	count         func(Request) (int, error)
	charsPerToken float64
}

// WindowOf inspects b and the backends it wraps (through an Unwrap()
// Backend method, as Cached and Limited have) for a token counter
// (CountTokens(Request) (int, error), the built-in engine's tokenizer and
// chat template) and a context length (ContextLength() int). A positive
// length overrides the backend's; charsPerToken (DefaultCharsPerToken when
// not positive) estimates tokens when no counter is found.
func WindowOf(b Backend, length int, charsPerToken float64) Window {
	w := Window{Length: max(length, 0), charsPerToken: charsPerToken}
	if !(w.charsPerToken > 0) || math.IsInf(w.charsPerToken, 0) {
		w.charsPerToken = DefaultCharsPerToken
	}
	for cur := b; cur != nil; {
		if tc, ok := cur.(interface {
			CountTokens(Request) (int, error)
		}); ok && w.count == nil {
			w.count = tc.CountTokens
		}
		if cl, ok := cur.(interface{ ContextLength() int }); ok && w.Length == 0 {
			w.Length = cl.ContextLength()
		}
		u, ok := cur.(interface{ Unwrap() Backend })
		if !ok {
			break
		}
		cur = u.Unwrap()
	}
	return w
}

// Known reports whether the window's length is known.
func (w Window) Known() bool { return w.Length > 0 }

// Exact reports whether prompt tokens are counted by the backend rather
// than estimated.
func (w Window) Exact() bool { return w.count != nil }

// PromptTokens returns the tokens of req's prompt, its MaxTokens aside:
// the backend's count when it has a counter, else an estimate from the
// characters of the prompt and messages. When the counter reports that
// the prompt alone overflows the window, the result is Length + 1.
func (w Window) PromptTokens(req Request) int {
	req.MaxTokens = 0
	if w.count != nil {
		n, err := w.count(req)
		if err == nil {
			return n
		}
		if errors.Is(err, ErrContextLength) && w.Length > 0 {
			return w.Length + 1
		}
	}
	chars := len(req.Prompt)
	for _, m := range req.Messages {
		chars += len(m.Content) + len(m.Role) + 4
	}
	return int(math.Ceil(float64(chars)/w.charsPerToken)) + 4
}

// Fits reports whether req's prompt and its MaxTokens (at least one) fit
// the window, the check the built-in engine makes; true when the length
// is unknown.
func (w Window) Fits(req Request) bool {
	if !w.Known() {
		return true
	}
	return w.PromptTokens(req)+max(req.MaxTokens, 1) <= w.Length
}
