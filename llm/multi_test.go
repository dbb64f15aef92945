package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// fakeClock is a settable clock for Multi's backoffs.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestMultiFaultOnOneEndpoint: endpoint 0 fails (500, reset, 429 or
// refused) and endpoints 1 and 2 answer. Every request succeeds in one
// call, none is answered twice, the failing endpoint gets exactly one
// attempt until its backoff has passed, then exactly one probe, and after
// it recovers it is used again.
func TestMultiFaultOnOneEndpoint(t *testing.T) {
	cases := []struct {
		name string
		bad  http.HandlerFunc
		down bool // the endpoint counts as down (not merely throttled)
	}{
		{"500", statusStep(500, nil), true},
		{"reset", resetStep, true},
		{"429", statusStep(429, map[string]string{"Retry-After": "2"}), false},
		{"invalid-json", invalidJSONStep, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			healed := false
			var mu sync.Mutex
			bad := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				h := healed
				mu.Unlock()
				if h {
					okStep("bad-endpoint")(w, r)
					return
				}
				c.bad(w, r)
			})
			good1, good2 := newScripted(t, okStep("one")), newScripted(t, okStep("two"))
			clock := &fakeClock{now: time.Unix(1000, 0)}
			m, err := llm.NewMulti([]llm.Backend{newOpenAI(t, bad.srv.URL), newOpenAI(t, good1.srv.URL), newOpenAI(t, good2.srv.URL)},
				[]string{"bad", "one", "two"}, llm.MultiOptions{Backoff: time.Second, MaxBackoff: 8 * time.Second, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			req := llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}}
			// Sequential requests: least loaded with ties by requests sent
			// sends the first to endpoint 0, which fails, so it moves on.
			for i := range 12 {
				resp, err := m.Generate(context.Background(), req)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if got := resp.Choices[0].Text; got != "one" && got != "two" {
					t.Fatalf("request %d answered by %q", i, got)
				}
			}
			if n := bad.calls.Load(); n != 1 {
				t.Fatalf("the failing endpoint got %d attempts within its backoff, want 1", n)
			}
			st := m.Endpoints()
			if st[0].Failed != 1 || st[0].Done != 0 || st[0].Down != c.down {
				t.Fatalf("bad endpoint stats %+v", st[0])
			}
			if st[1].Done+st[2].Done != 12 || st[1].Done < 5 || st[2].Done < 5 {
				t.Fatalf("healthy endpoints answered %d and %d of 12 (want both used, no request twice)", st[1].Done, st[2].Done)
			}
			// After the backoff (1 s, or the 2 s Retry-After), one request
			// probes it again; it still fails and the request moves on.
			clock.advance(2 * time.Second)
			if _, err := m.Generate(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if n := bad.calls.Load(); n != 2 {
				t.Fatalf("after the backoff the failing endpoint got %d attempts in all, want 2 (one probe)", n)
			}
			if c.down {
				// The failed probe doubled the backoff to 2 s: nothing at 1.5 s.
				clock.advance(1500 * time.Millisecond)
				if _, err := m.Generate(context.Background(), req); err != nil {
					t.Fatal(err)
				}
				if n := bad.calls.Load(); n != 2 {
					t.Fatalf("within the doubled backoff the endpoint got %d attempts in all, want 2", n)
				}
			}
			mu.Lock()
			healed = true
			mu.Unlock()
			clock.advance(10 * time.Second)
			for range 6 {
				if _, err := m.Generate(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			}
			st = m.Endpoints()
			if st[0].Down || st[0].Done < 2 {
				t.Fatalf("the healed endpoint is not used again: %+v", st[0])
			}
		})
	}
}

// TestMultiAllDown: with every endpoint refusing connections a request
// fails with a retryable connection error naming all endpoints, and while
// all are backing off the next one fails at once without an attempt.
func TestMultiAllDown(t *testing.T) {
	var bs []llm.Backend
	var scr []*scripted
	for range 3 {
		s := newScripted(t, statusStep(503, nil))
		scr = append(scr, s)
		bs = append(bs, newOpenAI(t, s.srv.URL))
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	m, err := llm.NewMulti(bs, nil, llm.MultiOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	req := llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}}
	_, err = m.Generate(context.Background(), req)
	var ae *llm.APIError
	if !errors.As(err, &ae) || !ae.Retryable() {
		t.Fatalf("error %v is not a retryable API error", err)
	}
	for i, s := range scr {
		if s.calls.Load() != 1 {
			t.Fatalf("endpoint %d got %d attempts, want 1", i, s.calls.Load())
		}
	}
	_, err = m.Generate(context.Background(), req)
	if !errors.As(err, &ae) || !errors.Is(err, llm.ErrConnection) {
		t.Fatalf("second request: %v, want a connection error", err)
	}
	total := 0
	for _, s := range scr {
		total += int(s.calls.Load())
	}
	if total != 3 {
		t.Fatalf("%d attempts in all while every endpoint backs off, want 3", total)
	}
}

// TestMultiLeastLoaded: with slow answers and 30 concurrent requests on 3
// endpoints, each endpoint gets 10 (the least loaded one is chosen).
func TestMultiLeastLoaded(t *testing.T) {
	var bs []llm.Backend
	var scr []*scripted
	for i := range 3 {
		s := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond)
			okStep(fmt.Sprint(i))(w, r)
		})
		scr = append(scr, s)
		bs = append(bs, newOpenAI(t, s.srv.URL))
	}
	m, err := llm.NewMulti(bs, nil, llm.MultiOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, s := range scr {
		if n := s.calls.Load(); n != 10 {
			t.Errorf("endpoint %d got %d of 30 requests, want 10", i, n)
		}
	}
}

// TestMultiBadOptions: no endpoint, or names that do not match.
func TestMultiBadOptions(t *testing.T) {
	if _, err := llm.NewMulti(nil, nil, llm.MultiOptions{}); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("no endpoint: %v", err)
	}
	b := &fakeBackend{}
	if _, err := llm.NewMulti([]llm.Backend{b, b}, []string{"a"}, llm.MultiOptions{}); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("one name for two endpoints: %v", err)
	}
}
