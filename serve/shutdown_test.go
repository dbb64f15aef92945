package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// gated is the real backend with a gate on its stream: the first delta of
// every request waits until the gate opens, so a test can keep a request in
// flight for as long as it needs.
type gated struct {
	*llm.Builtin
	entered chan struct{}
	gate    chan struct{}
	results chan gatedResult // when not nil, receives what Generate returned
}

type gatedResult struct {
	res llm.Response
	err error
}

func (g gated) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if f := req.OnDelta; f != nil {
		first := true
		req.OnDelta = func(d llm.Delta) error {
			err := f(d)
			if first {
				first = false
				g.entered <- struct{}{}
				<-g.gate
			}
			return err
		}
	}
	res, err := g.Builtin.Generate(ctx, req)
	if g.results != nil {
		g.results <- gatedResult{res, err}
	}
	return res, err
}

// TestClientDisconnect checks that a client leaving in the middle of a
// stream stops its generation (the worker is freed, not kept for the
// remaining tokens).
func TestClientDisconnect(t *testing.T) {
	b := newBackend(t, 1)
	g := gated{Builtin: b, entered: make(chan struct{}, 1), gate: make(chan struct{}), results: make(chan gatedResult, 1)}
	ts := httptest.NewServer(New(g, Options{}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"model":"stories260K","prompt":"Once","max_tokens":500,"ignore_eos":true,"stream":true}`
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-g.entered
	cancel()
	time.Sleep(50 * time.Millisecond) // let the server notice
	close(g.gate)
	select {
	case r := <-g.results:
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("generation ended with %v, want context.Canceled", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("generation did not stop")
	}
}

// TestGracefulShutdown cancels Serve's context while a streamed chat is in
// flight: new connections are refused at once, the stream runs to its end
// and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	b := newBackend(t, 1)
	g := gated{Builtin: b, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- New(g, Options{ShutdownTimeout: 20 * time.Second}).Serve(ctx, ln) }()

	body := `{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":60,"temperature":0,"stream":true}`
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-g.entered // the stream has started and is held at its first token
	cancel()

	// New connections are refused while the stream is in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections 5 s after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}

	close(g.gate)
	var text strings.Builder
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "data: [DONE]" {
			done = true
			continue
		}
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &chunk); err != nil {
			t.Fatalf("bad event %q: %v", line, err)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream broken: %v", err)
	}
	if !done {
		t.Fatal("stream ended without [DONE]")
	}
	want, err := b.Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "user", Content: "Tell me a story."}}, MaxTokens: 60})
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != want.Choices[0].Text || text.Len() == 0 {
		t.Errorf("streamed %q, want %q", text.String(), want.Choices[0].Text)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last request")
	}
}
