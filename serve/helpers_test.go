package serve

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

const modelName = "stories260K"

var (
	modelOnce sync.Once
	model     *llama.Model
	modelErr  error
)

// loadModel loads the stories260K reference model once per test binary,
// skipping the test when the shared folder is absent.
func loadModel(t testing.TB) *llama.Model {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "models", "stories260K", "stories260K.bin")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("reference model %s not available (the tests need ../shared): %v", path, err)
	}
	modelOnce.Do(func() { model, modelErr = llama.Load(path) })
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return model
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
