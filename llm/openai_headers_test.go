package llm_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

// TestOpenAISendsNoTelemetryHeaders: requests carry the key and the
// content headers, not the SDK's self-description (which every endpoint
// ignores and which costs CPU on both sides of every request).
func TestOpenAISendsNoTelemetryHeaders(t *testing.T) {
	t.Setenv("GGMI_TEST_HDR_KEY", "sk-test-headers-123")
	var got http.Header
	s := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		okStep("hi")(w, r)
	})
	b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: s.srv.URL + "/v1", Model: "m", APIKeyEnv: "GGMI_TEST_HDR_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Generate(context.Background(), llm.Request{Prompt: "q", MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer sk-test-headers-123" || got.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", got)
	}
	for k := range got {
		if strings.HasPrefix(strings.ToLower(k), "x-stainless") {
			t.Errorf("telemetry header %s sent", k)
		}
	}
}
