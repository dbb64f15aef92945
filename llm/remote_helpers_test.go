package llm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/serve"
)

// loadStories is the shared stories260K model (the test skips without ../shared).
func loadStories(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

// builtinServer starts the built-in backend behind the project's
// OpenAI-compatible server and returns both.
func builtinServer(t testing.TB) (*llm.Builtin, *httptest.Server) {
	t.Helper()
	b, err := llm.NewBuiltin(loadStories(t), llm.BuiltinOptions{Name: "stories", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(b, serve.Options{}))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	return b, srv
}

// scripted is an httptest server whose i-th request (from 0) is answered
// by steps[min(i, len(steps)-1)].
type scripted struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	times []time.Time // arrival of every request
}

func newScripted(t testing.TB, steps ...http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(s.calls.Add(1)) - 1
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
		steps[min(i, len(steps)-1)](w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// arrivals returns the arrival times of the requests so far.
func (s *scripted) arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// chatJSON is a valid chat completion answer with the given text.
func chatJSON(text string) string {
	return fmt.Sprintf(`{"id":"c1","object":"chat.completion","created":1,"model":"m",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`, text)
}

// okStep answers with a valid chat completion.
func okStep(text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, chatJSON(text))
	}
}

// statusStep answers with an OpenAI error body and optional headers.
func statusStep(status int, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"scripted %d","type":"x","param":null,"code":null}}`, status)
	}
}

// resetStep hijacks the connection and closes it without an answer.
func resetStep(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", 500)
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	c.Close()
}

// hangStep blocks until the client gives up.
func hangStep(w http.ResponseWriter, r *http.Request) {
	// The server notices a closed connection only once the body is read.
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// truncatedStep sends the first half of a valid body with a Content-Length
// of the whole, then closes the connection.
func truncatedStep(w http.ResponseWriter, r *http.Request) {
	body := chatJSON("hello")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(200)
	fmt.Fprint(w, body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
		}
	}
}

// invalidJSONStep sends a complete body that is not JSON.
func invalidJSONStep(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"c1","choices":[{"index":0,`)
}

// newOpenAI returns an OpenAI backend on url with the key read from a
// per-test environment variable.
func newOpenAI(t testing.TB, url string) *llm.OpenAI {
	t.Helper()
	b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: url, Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeBackend is an in-process Backend whose answer depends only on the
// request; it counts its calls.
type fakeBackend struct {
	calls    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
	delay    time.Duration
	usage    llm.Usage
	err      error
}

func (f *fakeBackend) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	f.calls.Add(1)
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxIn.Load()
		if n <= m || f.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return llm.Response{}, ctx.Err()
		}
	}
	if f.err != nil {
		return llm.Response{}, f.err
	}
	seed := uint64(0)
	if req.Seed != nil {
		seed = *req.Seed
	}
	resp := llm.Response{Model: "fake", Usage: f.usage}
	for i := range max(req.N, 1) {
		resp.Choices = append(resp.Choices, llm.Choice{Index: i, FinishReason: llm.FinishStop,
			Text: fmt.Sprintf("%s|%s|%d|%d|%g", req.Prompt, firstContent(req), seed, i, req.Temperature)})
	}
	return resp, nil
}

func firstContent(req llm.Request) string {
	if len(req.Messages) == 0 {
		return ""
	}
	return req.Messages[0].Content
}

func (f *fakeBackend) Embed(ctx context.Context, req llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{Vectors: make([][]float32, len(req.Input))}, nil
}

func (f *fakeBackend) Models() []string { return []string{"fake"} }

func u64(v uint64) *uint64 { return &v }
