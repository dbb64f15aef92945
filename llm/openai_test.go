package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// TestOpenAIAgainstServe drives the built-in engine through the project's
// OpenAI-compatible server and checks that every answer equals the one
// the engine gives directly.
func TestOpenAIAgainstServe(t *testing.T) {
	direct, srv := builtinServer(t)
	cases := []struct {
		name   string
		mode   string
		req    llm.Request
		stream bool
	}{
		{name: "completion greedy", req: llm.Request{Prompt: "Once upon a time", MaxTokens: 24}},
		{name: "completion sampled n=3", req: llm.Request{Prompt: "Lily saw a", MaxTokens: 16, N: 3, Seed: u64(42), Temperature: 0.9, TopP: 0.9}},
		{name: "completion stop", req: llm.Request{Prompt: "Once upon a time", MaxTokens: 40, Stop: []string{"."}}},
		{name: "completion logprobs", req: llm.Request{Prompt: "The cat", MaxTokens: 8, Seed: u64(3), Temperature: 1, LogProbs: true}},
		{name: "chat greedy", req: llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Tell me a story."}}, MaxTokens: 20}},
		{name: "chat sampled n=2 logprobs", req: llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Be kind."}, {Role: llm.RoleUser, Content: "Hi"}}, MaxTokens: 12, N: 2, Seed: u64(7), Temperature: 0.8, LogProbs: true, TopLogProbs: 2}},
		{name: "chat streamed", req: llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Once"}}, MaxTokens: 20, N: 2, Seed: u64(9), Temperature: 1}, stream: true},
		{name: "completion streamed", req: llm.Request{Prompt: "Tom", MaxTokens: 20, Seed: u64(11), Temperature: 1}, stream: true},
		{name: "prompt in chat mode", mode: llm.ModeChat, req: llm.Request{Prompt: "Hello", MaxTokens: 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			want, err := direct.Generate(ctx, chatOf(tc.mode, tc.req))
			if err != nil {
				t.Fatal(err)
			}
			b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "stories", Mode: tc.mode, APIKeyEnv: "GGMI_TEST_NO_KEY"})
			if err != nil {
				t.Fatal(err)
			}
			req := tc.req
			streamed := map[int]string{}
			finished := map[int]string{}
			if tc.stream {
				req.OnDelta = func(d llm.Delta) error {
					streamed[d.Index] += d.Text
					if d.FinishReason != "" {
						finished[d.Index] = d.FinishReason
					}
					return nil
				}
			}
			got, err := b.Generate(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Choices) != len(want.Choices) {
				t.Fatalf("%d choices, want %d", len(got.Choices), len(want.Choices))
			}
			for i, c := range got.Choices {
				w := want.Choices[i]
				if c.Index != i || c.Text != w.Text || c.FinishReason != w.FinishReason {
					t.Errorf("choice %d = %d %q (%s), want %q (%s)", i, c.Index, c.Text, c.FinishReason, w.Text, w.FinishReason)
				}
				if tc.req.LogProbs {
					if len(c.LogProbs) != len(w.LogProbs) || len(c.LogProbs) == 0 {
						t.Fatalf("choice %d: %d log-probs, want %d", i, len(c.LogProbs), len(w.LogProbs))
					}
					for j := range c.LogProbs {
						if d := c.LogProbs[j].LogProb - w.LogProbs[j].LogProb; d > 1e-4 || d < -1e-4 || c.LogProbs[j].Token != w.LogProbs[j].Token {
							t.Fatalf("choice %d token %d: %+v, want %+v", i, j, c.LogProbs[j], w.LogProbs[j])
						}
						if len(c.LogProbs[j].Top) != tc.req.TopLogProbs {
							t.Fatalf("choice %d token %d: %d alternatives, want %d", i, j, len(c.LogProbs[j].Top), tc.req.TopLogProbs)
						}
					}
				}
				if tc.stream && (streamed[i] != c.Text || finished[i] != c.FinishReason) {
					t.Errorf("choice %d: streamed %q (%s), final %q (%s)", i, streamed[i], finished[i], c.Text, c.FinishReason)
				}
			}
			if got.Usage != want.Usage {
				t.Errorf("usage %+v, want %+v", got.Usage, want.Usage)
			}
		})
	}
}

// chatOf turns a prompt into the user message ModeChat sends.
func chatOf(mode string, r llm.Request) llm.Request {
	if mode == llm.ModeChat && len(r.Messages) == 0 {
		r.Messages = []llm.Message{{Role: llm.RoleUser, Content: r.Prompt}}
		r.Prompt = ""
	}
	return r
}

// TestOpenAIRequestBody checks the parameters sent on the wire, the
// structured-output schema and the Authorization header.
func TestOpenAIRequestBody(t *testing.T) {
	const key = "sk-test-body-0123456789"
	t.Setenv("GGMI_TEST_KEY", key)
	var body map[string]any
	var auth, path string
	s := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		body = nil
		_ = json.Unmarshal(raw, &body)
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		if strings.HasSuffix(path, "/completions") && !strings.Contains(path, "chat") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"x","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"a","finish_reason":"length"},{"index":1,"text":"b","finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":5,"total_tokens":7}}`)
			return
		}
		okStep(`{"a":1}`)(w, r)
	})
	b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: s.srv.URL + "/v1/", Model: "m", APIKeyEnv: "GGMI_TEST_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	schema := json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`)
	ctx := context.Background()
	resp, err := b.Generate(ctx, llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q"}}, Seed: u64(5), Temperature: 0.5, TopP: 0.8, MaxTokens: 9, Stop: []string{"x", "y"}, LogProbs: true, TopLogProbs: 3,
		Format: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "thing", Schema: schema, Strict: true}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Text != `{"a":1}` || resp.Usage != (llm.Usage{PromptTokens: 7, CompletionTokens: 3}) {
		t.Errorf("response %+v", resp)
	}
	if path != "/v1/chat/completions" || auth != "Bearer "+key {
		t.Errorf("path %q, auth %q", path, auth)
	}
	want := map[string]any{"seed": 5.0, "temperature": 0.5, "top_p": 0.8, "max_tokens": 9.0, "logprobs": true, "top_logprobs": 3.0, "model": "m"}
	for k, v := range want {
		if !reflect.DeepEqual(body[k], v) {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if !reflect.DeepEqual(body["stop"], []any{"x", "y"}) {
		t.Errorf("stop = %v", body["stop"])
	}
	rf, _ := body["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["name"] != "thing" || js["strict"] != true {
		t.Errorf("response_format = %v", body["response_format"])
	}
	if sc, _ := js["schema"].(map[string]any); sc["type"] != "object" {
		t.Errorf("schema = %v", js["schema"])
	}

	jsonObject := &llm.ResponseFormat{Type: llm.FormatJSONObject}
	if _, err := b.Generate(ctx, llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "q"}}, Format: jsonObject}); err != nil {
		t.Fatal(err)
	}
	if rf, _ := body["response_format"].(map[string]any); rf["type"] != "json_object" {
		t.Errorf("response_format = %v, want json_object", body["response_format"])
	}
	// Completion mode sends response_format too (vLLM, llama.cpp and
	// ggmi serve read it there); an unknown type is refused locally.
	if _, err := b.Generate(ctx, llm.Request{Prompt: "q", N: 2, Format: jsonObject}); err != nil {
		t.Fatal(err)
	}
	if rf, _ := body["response_format"].(map[string]any); path != "/v1/completions" || rf["type"] != "json_object" {
		t.Errorf("completion: path %q, response_format = %v", path, body["response_format"])
	}
	if _, err := b.Generate(ctx, llm.Request{Prompt: "q", Format: &llm.ResponseFormat{Type: "xml"}}); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("unknown response format: %v", err)
	}

	// Completion mode: n, prompt, and two choices in order.
	resp, err = b.Generate(context.Background(), llm.Request{Prompt: "p", N: 2, Temperature: 1, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/completions" || body["n"] != 2.0 || body["prompt"] != "p" || body["ignore_eos"] != true {
		t.Errorf("completion body %v at %s", body, path)
	}
	if len(resp.Choices) != 2 || resp.Choices[1].Text != "b" || resp.Choices[0].FinishReason != llm.FinishLength {
		t.Errorf("completion response %+v", resp)
	}
	if _, ok := body["response_format"]; ok {
		t.Error("response_format sent without a schema")
	}
}

// TestOpenAIKeyNeverLeaks makes the server echo the key in every way it
// can and checks errors, String() and a log of them.
func TestOpenAIKeyNeverLeaks(t *testing.T) {
	const key = "sk-secret-DO-NOT-LEAK-42"
	t.Setenv("GGMI_TEST_KEY", key)
	echoJSON := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":"bad key %s","type":"x","param":null,"code":"invalid_api_key"}}`, r.Header.Get("Authorization"))
		}
	}
	echoText := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprint(w, "upstream said: "+r.Header.Get("Authorization"))
	}
	echoOK := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"choices": [%q`, r.Header.Get("Authorization"))
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for i, h := range []http.HandlerFunc{echoJSON(401), echoJSON(429), echoJSON(400), echoText, echoOK, resetStep} {
		s := newScripted(t, h)
		for _, base := range []string{s.srv.URL + "/v1", s.srv.URL + "/v1/" + key} {
			b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: base, Model: "m", APIKeyEnv: "GGMI_TEST_KEY"})
			if err != nil {
				t.Fatal(err)
			}
			l := llm.Limited(b, llm.LimitOptions{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxRetryAfter: time.Millisecond})
			_, err = l.Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1})
			if err == nil {
				t.Fatalf("case %d: no error", i)
			}
			logger.Error("request failed", "err", err, "backend", b, "limited", l)
			for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err), b.String(), fmt.Sprint(b), l.String()} {
				if strings.Contains(s, key) {
					t.Errorf("case %d (%s): key leaked in %q", i, base, s)
				}
			}
		}
	}
	if strings.Contains(logs.String(), key) || !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("log leaks the key or redacts nothing:\n%s", logs.String())
	}
	// "REDACTED" in the log proves the servers echoed the key. A base URL
	// carrying the key is rejected without showing it.
	if _, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: "ftp://" + key, Model: "m", APIKeyEnv: "GGMI_TEST_KEY"}); err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("bad base URL: %v", err)
	}
}

// TestOpenAIErrorKinds checks the mapping of statuses to typed errors,
// without retries.
func TestOpenAIErrorKinds(t *testing.T) {
	cases := []struct {
		name   string
		step   http.HandlerFunc
		kind   error
		status int
	}{
		{"429", statusStep(429, map[string]string{"Retry-After": "3"}), llm.ErrRateLimited, 429},
		{"500", statusStep(500, nil), llm.ErrServer, 500},
		{"503 text body", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503); fmt.Fprint(w, "down") }, llm.ErrServer, 503},
		{"401", statusStep(401, nil), llm.ErrAuth, 401},
		{"400", statusStep(400, nil), llm.ErrInvalidRequest, 400},
		{"422", statusStep(422, nil), llm.ErrClient, 422},
		{"reset", resetStep, llm.ErrConnection, 0},
		{"truncated", truncatedStep, llm.ErrBadResponse, 200},
		{"invalid json", invalidJSONStep, llm.ErrBadResponse, 200},
		{"no choices", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"choices":[]}`)
		}, llm.ErrBadResponse, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t, tc.step)
			_, err := newOpenAI(t, s.srv.URL).Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "user", Content: "x"}}})
			var ae *llm.APIError
			if !errors.As(err, &ae) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v (%T), want kind %v", err, err, tc.kind)
			}
			if tc.status != 200 && ae.StatusCode != tc.status {
				t.Errorf("status %d, want %d", ae.StatusCode, tc.status)
			}
			if tc.name == "429" && ae.RetryAfter != 3*time.Second {
				t.Errorf("RetryAfter = %v", ae.RetryAfter)
			}
			if s.calls.Load() != 1 {
				t.Errorf("%d calls, want 1 (OpenAI alone never retries)", s.calls.Load())
			}
		})
	}
}

// TestOpenAIReadsOnlyItsKeyVariable: the SDK's own environment variables
// (key, admin key, organisation, project, base URL) are never used; only
// the variable named by APIKeyEnv is.
func TestOpenAIReadsOnlyItsKeyVariable(t *testing.T) {
	for k, v := range map[string]string{"OPENAI_API_KEY": "sk-env-default", "OPENAI_ADMIN_KEY": "sk-admin", "OPENAI_ORG_ID": "org-x",
		"OPENAI_PROJECT_ID": "proj-x", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"} {
		t.Setenv(k, v)
	}
	var headers http.Header
	s := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		headers = r.Header.Clone()
		okStep("ok")(w, r)
	})
	for _, tc := range []struct{ env, value, auth string }{
		{"GGMI_TEST_UNSET_KEY", "", ""},
		{"GGMI_TEST_KEY2", "sk-mine-123456", "Bearer sk-mine-123456"},
	} {
		if tc.value != "" {
			t.Setenv(tc.env, tc.value)
		}
		b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: s.srv.URL, Model: "m", APIKeyEnv: tc.env})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "user", Content: "x"}}}); err != nil {
			t.Fatal(err)
		}
		if got := headers.Get("Authorization"); got != tc.auth {
			t.Errorf("%s: Authorization %q, want %q", tc.env, got, tc.auth)
		}
		for _, h := range []string{"OpenAI-Organization", "OpenAI-Project", "Api-Key"} {
			if headers.Get(h) != "" {
				t.Errorf("%s: header %s = %q", tc.env, h, headers.Get(h))
			}
		}
	}
}
