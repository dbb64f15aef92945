package serve

import (
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

const modelName = "stories260K"

// loadModel is the shared stories260K model (the test skips without ../shared).
func loadModel(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

// newBackend starts a Builtin backend over the reference model.
func newBackend(t testing.TB, workers int) *llm.Builtin {
	t.Helper()
	b, err := llm.NewBuiltin(loadModel(t), llm.BuiltinOptions{Name: modelName, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// newTestServer runs a Server over a fresh backend on an httptest.Server.
func newTestServer(t testing.TB, workers int, opt Options) (*httptest.Server, *llm.Builtin) {
	t.Helper()
	b := newBackend(t, workers)
	ts := httptest.NewServer(New(b, opt))
	t.Cleanup(ts.Close)
	return ts, b
}

// newClient returns an official OpenAI client for ts (no retries).
func newClient(ts *httptest.Server, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(ts.URL + "/v1/"), option.WithAPIKey("test"), option.WithMaxRetries(0)}, opts...)...)
}
