package llm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// TestLimitedRetries injects faults with a scripted server and checks the
// outcome, the number of attempts and the elapsed time.
func TestLimitedRetries(t *testing.T) {
	// An HTTP date has one-second resolution: +2 s gives a wait in (1 s, 2 s].
	date := func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }
	cases := []struct {
		name       string
		steps      []http.HandlerFunc
		opt        llm.LimitOptions
		kind       error // nil: success
		status     int
		calls      int64
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{name: "429 retry-after seconds", steps: []http.HandlerFunc{statusStep(429, map[string]string{"Retry-After": "1"}), okStep("ok")},
			calls: 2, minElapsed: 950 * time.Millisecond, maxElapsed: 1900 * time.Millisecond},
		{name: "429 retry-after date", steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			statusStep(429, map[string]string{"Retry-After": date()})(w, r)
		}, okStep("ok")}, calls: 2, minElapsed: 900 * time.Millisecond, maxElapsed: 2900 * time.Millisecond},
		{name: "503 retry-after", steps: []http.HandlerFunc{statusStep(503, map[string]string{"Retry-After": "0.3"}), okStep("ok")},
			calls: 2, minElapsed: 290 * time.Millisecond, maxElapsed: 1200 * time.Millisecond},
		{name: "500 then success", steps: []http.HandlerFunc{statusStep(500, nil), okStep("ok")}, calls: 2, maxElapsed: time.Second},
		{name: "connection reset then success", steps: []http.HandlerFunc{resetStep, okStep("ok")}, calls: 2, maxElapsed: time.Second},
		{name: "truncated body then success", steps: []http.HandlerFunc{truncatedStep, okStep("ok")}, calls: 2, maxElapsed: time.Second},
		{name: "invalid json then success", steps: []http.HandlerFunc{invalidJSONStep, invalidJSONStep, okStep("ok")}, calls: 3, maxElapsed: time.Second},
		{name: "hang times out", steps: []http.HandlerFunc{hangStep}, opt: llm.LimitOptions{Timeout: 150 * time.Millisecond, MaxAttempts: 3},
			kind: llm.ErrTimeout, calls: 3, minElapsed: 450 * time.Millisecond, maxElapsed: 2 * time.Second},
		{name: "hang then success", steps: []http.HandlerFunc{hangStep, okStep("ok")}, opt: llm.LimitOptions{Timeout: 150 * time.Millisecond},
			calls: 2, minElapsed: 150 * time.Millisecond, maxElapsed: time.Second},
		{name: "500 until exhausted", steps: []http.HandlerFunc{statusStep(502, nil)}, opt: llm.LimitOptions{MaxAttempts: 4},
			kind: llm.ErrServer, status: 502, calls: 4, maxElapsed: time.Second},
		{name: "429 until exhausted", steps: []http.HandlerFunc{statusStep(429, nil)}, opt: llm.LimitOptions{MaxAttempts: 2, CooldownAfter: -1},
			kind: llm.ErrRateLimited, status: 429, calls: 2, maxElapsed: time.Second},
		{name: "retry-after beyond cap fails at once", steps: []http.HandlerFunc{statusStep(429, map[string]string{"Retry-After": "60"}), okStep("ok")},
			opt: llm.LimitOptions{MaxRetryAfter: time.Second}, kind: llm.ErrRateLimited, status: 429, calls: 1, maxElapsed: 500 * time.Millisecond},
		{name: "400 no retry", steps: []http.HandlerFunc{statusStep(400, nil), okStep("ok")}, kind: llm.ErrInvalidRequest, status: 400, calls: 1, maxElapsed: 500 * time.Millisecond},
		{name: "404 no retry", steps: []http.HandlerFunc{statusStep(404, nil), okStep("ok")}, kind: llm.ErrClient, status: 404, calls: 1, maxElapsed: 500 * time.Millisecond},
		{name: "401 no retry", steps: []http.HandlerFunc{statusStep(401, nil), okStep("ok")}, kind: llm.ErrAuth, status: 401, calls: 1, maxElapsed: 500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, tc.steps...)
			opt := tc.opt
			opt.BaseDelay, opt.MaxDelay, opt.Seed = 5*time.Millisecond, 40*time.Millisecond, 1
			l := llm.Limited(newOpenAI(t, s.srv.URL), opt)
			start := time.Now()
			resp, err := l.Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}})
			el := time.Since(start)
			if tc.kind == nil {
				if err != nil || resp.Choices[0].Text != "ok" {
					t.Fatalf("got %+v, %v", resp, err)
				}
			} else {
				var ae *llm.APIError
				if !errors.As(err, &ae) || !errors.Is(err, tc.kind) {
					t.Fatalf("err = %v, want kind %v", err, tc.kind)
				}
				if ae.StatusCode != tc.status || ae.Attempts != int(tc.calls) {
					t.Errorf("status %d attempts %d, want %d and %d", ae.StatusCode, ae.Attempts, tc.status, tc.calls)
				}
			}
			if got := s.calls.Load(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if el < tc.minElapsed || el > tc.maxElapsed {
				t.Errorf("elapsed %v, want in [%v, %v]", el, tc.minElapsed, tc.maxElapsed)
			}
			st := l.Stats()
			if st.Attempts != tc.calls || st.Retries != tc.calls-1 || st.Requests != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// sseStep streams a chat completion in pieces separated by gap.
func sseStep(pieces []string, gap time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		f, _ := w.(http.Flusher)
		for i, p := range pieces {
			fin := "null"
			if i == len(pieces)-1 {
				fin = `"stop"`
			}
			fmt.Fprintf(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", p, fin)
			f.Flush()
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5,\"total_tokens\":9}}\n\ndata: [DONE]\n\n")
		f.Flush()
	}
}

// TestLimitedSlowStream: a slow stream completes within a generous timeout
// with its deltas in order; with a short one it times out, and is not
// retried once text was delivered.
func TestLimitedSlowStream(t *testing.T) {
	pieces := []string{"Once", " upon", " a", " time", "."}
	cases := []struct {
		name    string
		timeout time.Duration
		kind    error
	}{
		{"completes", 3 * time.Second, nil},
		{"times out mid-stream", 100 * time.Millisecond, llm.ErrTimeout},
		{"cut short", 3 * time.Second, llm.ErrBadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			step := sseStep(pieces, 50*time.Millisecond)
			if tc.kind == llm.ErrBadResponse {
				step = func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprint(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Once\"},\"finish_reason\":null}]}\n\n")
				}
			}
			s := newScripted(t, step)
			l := llm.Limited(newOpenAI(t, s.srv.URL), llm.LimitOptions{Timeout: tc.timeout, MaxAttempts: 3, BaseDelay: time.Millisecond})
			var got []string
			start := time.Now()
			resp, err := l.Generate(context.Background(), llm.Request{
				Messages: []llm.Message{{Role: "user", Content: "x"}},
				OnDelta:  func(d llm.Delta) error { got = append(got, d.Text); return nil },
			})
			el := time.Since(start)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if resp.Choices[0].Text != "Once upon a time." || fmt.Sprint(got) != fmt.Sprint(pieces) || resp.Usage.CompletionTokens != 5 {
					t.Errorf("resp %+v deltas %q", resp, got)
				}
				if el < 200*time.Millisecond {
					t.Errorf("elapsed %v: the stream was not slow", el)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if len(got) == 0 || s.calls.Load() != 1 {
				t.Errorf("%d deltas, %d calls (want some deltas and no retry)", len(got), s.calls.Load())
			}
			if el > time.Second {
				t.Errorf("elapsed %v", el)
			}
		})
	}
}

// TestLimitedCooldown: after CooldownAfter consecutive 429s without
// Retry-After, no request reaches the server during the cool-down, not
// even one started by another goroutine.
func TestLimitedCooldown(t *testing.T) {
	const pause = 300 * time.Millisecond
	s := newScripted(t, statusStep(429, nil), statusStep(429, nil), okStep("ok"))
	l := llm.Limited(newOpenAI(t, s.srv.URL), llm.LimitOptions{CooldownAfter: 2, CooldownBase: pause, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	req := llm.Request{Messages: []llm.Message{{Role: "user", Content: "x"}}}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := l.Generate(context.Background(), req)
		errs <- err
	}()
	deadline := time.Now().Add(2 * time.Second)
	for l.Stats().Cooldowns == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := l.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	at := s.arrivals()
	if len(at) != 4 {
		t.Fatalf("%d requests, want 4", len(at))
	}
	for _, a := range at[2:] {
		if d := a.Sub(at[1]); d < pause-20*time.Millisecond {
			t.Errorf("a request arrived %v after the second 429, inside the %v cool-down", d, pause)
		}
	}
	st := l.Stats()
	if st.Cooldowns != 1 || st.RateLimited != 2 || st.Succeeded != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestLimitedConcurrencyAndAccounting: at most Concurrency requests in
// flight; usage and cost add up exactly under concurrent use.
func TestLimitedConcurrencyAndAccounting(t *testing.T) {
	f := &fakeBackend{delay: 10 * time.Millisecond, usage: llm.Usage{PromptTokens: 100, CompletionTokens: 50}}
	l := llm.Limited(f, llm.LimitOptions{Concurrency: 3, Prices: map[string]llm.Price{"fake": {InputPerMTok: 2, OutputPerMTok: 8}}})
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Generate(context.Background(), llm.Request{Prompt: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := f.maxIn.Load(); m != 3 {
		t.Errorf("max in flight %d, want 3", m)
	}
	st := l.Stats()
	if st.Usage != (llm.Usage{PromptTokens: 100 * n, CompletionTokens: 50 * n}) || st.ByModel["fake"] != st.Usage {
		t.Errorf("usage %+v by model %+v", st.Usage, st.ByModel)
	}
	if want := n * (100*2.0 + 50*8.0) / 1e6; math.Abs(st.Cost-want) > 1e-12 {
		t.Errorf("cost %g, want %g", st.Cost, want)
	}
	if st.Requests != n || st.Succeeded != n || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLimitedRates: the request and token limits spread the requests
// over the expected time.
func TestLimitedRates(t *testing.T) {
	cases := []struct {
		name string
		opt  llm.LimitOptions
		req  llm.Request
		n    int
		min  time.Duration
	}{
		// 20 req/s with a burst of 20: 40 requests need ≥ 1 s.
		{"requests per minute", llm.LimitOptions{RequestsPerMinute: 1200}, llm.Request{Prompt: "p"}, 40, 950 * time.Millisecond},
		// 1000 tokens/s, burst 1000, ~201 tokens each: 10 requests need ≥ ~1 s.
		{"tokens per minute", llm.LimitOptions{TokensPerMinute: 60000, TokenBurst: 1000}, llm.Request{Prompt: "p", MaxTokens: 200}, 10, 950 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := llm.Limited(&fakeBackend{}, tc.opt)
			start := time.Now()
			var wg sync.WaitGroup
			for range tc.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := l.Generate(context.Background(), tc.req); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if el := time.Since(start); el < tc.min || el > tc.min+time.Second {
				t.Errorf("elapsed %v, want in [%v, %v]", el, tc.min, tc.min+time.Second)
			}
		})
	}
}

// TestLimitedContextCancel: a cancelled caller stops the retries at once.
func TestLimitedContextCancel(t *testing.T) {
	s := newScripted(t, statusStep(500, nil))
	l := llm.Limited(newOpenAI(t, s.srv.URL), llm.LimitOptions{BaseDelay: 10 * time.Second, MaxDelay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Generate(ctx, llm.Request{Prompt: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		got, ok := llm.ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
