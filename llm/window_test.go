package llm_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

// countingBackend counts a token per byte of content and refuses prompts
// over its window, as the built-in engine does.
type countingBackend struct {
	llm.Backend
	window int
}

func (c countingBackend) CountTokens(req llm.Request) (int, error) {
	n := len(req.Prompt)
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	if n > c.window {
		return 0, &llm.RequestError{Kind: llm.ErrContextLength, Message: "too long"}
	}
	return n, nil
}

func (c countingBackend) ContextLength() int { return c.window }

type wrapper struct{ llm.Backend }

func (w wrapper) Unwrap() llm.Backend { return w.Backend }

func TestWindow(t *testing.T) {
	msg := func(s string) llm.Request {
		return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: s}}}
	}
	cases := []struct {
		name       string
		b          llm.Backend
		length     int
		chars      float64
		req        llm.Request
		maxTokens  int
		wantLen    int
		wantExact  bool
		wantTokens int
		wantFits   bool
	}{
		// Found through a wrapper: 10 tokens of 20, 10 answer tokens fit, 11 do not.
		{"counter fits", wrapper{countingBackend{window: 20}}, 0, 0, msg("0123456789"), 10, 20, true, 10, true},
		{"counter full", wrapper{countingBackend{window: 20}}, 0, 0, msg("0123456789"), 11, 20, true, 10, false},
		// The counter refuses a prompt over the window: Length + 1.
		{"counter overflow", countingBackend{window: 5}, 0, 0, msg("0123456789"), 1, 5, true, 6, false},
		// A given length overrides the backend's.
		{"length override", countingBackend{window: 20}, 12, 0, msg("0123456789"), 2, 12, true, 10, true},
		// No counter: ⌈(len(content)+len(role)+4)/chars⌉ + 4 = ⌈(12+4+4)/4⌉ + 4 = 9.
		{"estimate", wrapper{nil}, 30, 4, msg("abcdefghijkl"), 21, 30, false, 9, true},
		{"estimate default chars", wrapper{nil}, 30, 0, llm.Request{Prompt: "abcdefghi"}, 1, 30, false, 7, true},
		// Unknown window: everything fits.
		{"unknown", wrapper{nil}, 0, 0, msg(strings.Repeat("x", 10000)), 100, 0, false, 3340, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := llm.WindowOf(tc.b, tc.length, tc.chars)
			if w.Length != tc.wantLen || w.Exact() != tc.wantExact || w.Known() != (tc.wantLen > 0) {
				t.Fatalf("window %+v exact %v, want length %d exact %v", w, w.Exact(), tc.wantLen, tc.wantExact)
			}
			req := tc.req
			req.MaxTokens = tc.maxTokens
			if got := w.PromptTokens(req); got != tc.wantTokens {
				t.Errorf("PromptTokens = %d, want %d", got, tc.wantTokens)
			}
			if got := w.Fits(req); got != tc.wantFits {
				t.Errorf("Fits = %v, want %v", got, tc.wantFits)
			}
		})
	}
}

// The built-in engine's window, through Cached, counts what it would feed.
func TestWindowOfBuiltin(t *testing.T) {
	b, err := llm.NewBuiltin(loadStories(t), llm.BuiltinOptions{Name: "stories"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := llm.Cached(b, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := llm.WindowOf(c, 0, 0)
	if w.Length != 512 || !w.Exact() {
		t.Fatalf("window %d exact %v, want 512 from the engine", w.Length, w.Exact())
	}
	req := llm.Request{Prompt: "Once upon a time"}
	n, err := b.CountTokens(req)
	if err != nil || w.PromptTokens(req) != n {
		t.Fatalf("PromptTokens %d, engine %d (%v)", w.PromptTokens(req), n, err)
	}
	req.MaxTokens = 512 - n
	if !w.Fits(req) {
		t.Error("a request filling the window exactly does not fit")
	}
	req.MaxTokens++
	if w.Fits(req) {
		t.Error("a request one token over the window fits")
	}
	if _, err := b.Generate(context.Background(), req); !errors.Is(err, llm.ErrContextLength) {
		t.Errorf("engine accepted the request the window refuses: %v", err)
	}
}
