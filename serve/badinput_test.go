package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// errorBody is OpenAI's error JSON.
type errorBody struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func TestBadInput(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{MaxBodyBytes: 64 << 10})
	big := `{"model":"stories260K","prompt":"` + strings.Repeat("a", 70<<10) + `"}`
	chat := func(extra string) string {
		return `{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":4` + extra + `}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		code, param              string
	}{
		{"malformed json", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_json", ""},
		{"not an object", "POST", "/v1/chat/completions", `["model"]`, 400, "invalid_json", ""},
		{"empty body", "POST", "/v1/chat/completions", ``, 400, "invalid_json", ""},
		{"trailing data", "POST", "/v1/chat/completions", chat("") + `{}`, 400, "invalid_json", ""},
		{"model type", "POST", "/v1/chat/completions", `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_type", "model"},
		{"missing model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "missing_required_parameter", "model"},
		{"missing messages", "POST", "/v1/chat/completions", `{"model":"stories260K"}`, 400, "missing_required_parameter", "messages"},
		{"empty messages", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[]}`, 400, "invalid_value", "messages"},
		{"messages type", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":"hi"}`, 400, "invalid_type", "messages"},
		{"missing role", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[{"content":"hi"}]}`, 400, "missing_required_parameter", "messages[0].role"},
		{"bad role", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"robot","content":"hi"}]}`, 400, "invalid_value", "messages[0].role"},
		{"content type", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"user","content":5}]}`, 400, "invalid_type", "messages[0].content"},
		{"image part", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "invalid_value", "messages[0].content"},
		{"max_tokens string", "POST", "/v1/chat/completions", chat(`,"max_completion_tokens":"ten"`), 400, "invalid_type", "max_completion_tokens"},
		{"negative max_tokens", "POST", "/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":-5}`, 400, "invalid_value", "max_tokens"},
		{"zero max_completion_tokens", "POST", "/v1/chat/completions", chat(`,"max_completion_tokens":0`), 400, "invalid_value", "max_completion_tokens"},
		{"fractional n", "POST", "/v1/chat/completions", chat(`,"n":1.5`), 400, "invalid_type", "n"},
		{"zero n", "POST", "/v1/chat/completions", chat(`,"n":0`), 400, "invalid_value", "n"},
		{"temperature high", "POST", "/v1/chat/completions", chat(`,"temperature":2.5`), 400, "invalid_value", "temperature"},
		{"temperature negative", "POST", "/v1/chat/completions", chat(`,"temperature":-0.1`), 400, "invalid_value", "temperature"},
		{"temperature string", "POST", "/v1/chat/completions", chat(`,"temperature":"hot"`), 400, "invalid_type", "temperature"},
		{"top_p", "POST", "/v1/chat/completions", chat(`,"top_p":1.01`), 400, "invalid_value", "top_p"},
		{"stop type", "POST", "/v1/chat/completions", chat(`,"stop":[1,2]`), 400, "invalid_type", "stop"},
		{"too many stops", "POST", "/v1/chat/completions", chat(`,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]`), 400, "invalid_value", "stop"},
		{"seed type", "POST", "/v1/chat/completions", chat(`,"seed":"x"`), 400, "invalid_type", "seed"},
		{"stream type", "POST", "/v1/chat/completions", chat(`,"stream":"yes"`), 400, "invalid_type", "stream"},
		{"top_logprobs without logprobs", "POST", "/v1/chat/completions", chat(`,"top_logprobs":2`), 400, "invalid_value", "top_logprobs"},
		{"top_logprobs range", "POST", "/v1/chat/completions", chat(`,"logprobs":true,"top_logprobs":21`), 400, "invalid_value", "top_logprobs"},
		{"tools", "POST", "/v1/chat/completions", chat(`,"tools":[]`), 400, "unsupported_parameter", "tools"},
		{"penalty", "POST", "/v1/chat/completions", chat(`,"presence_penalty":1`), 400, "unsupported_parameter", "presence_penalty"},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found", "model"},
		{"context too long", "POST", "/v1/chat/completions", chat(`,"max_completion_tokens":5000`), 400, "context_length_exceeded", "messages"},
		{"missing prompt", "POST", "/v1/completions", `{"model":"stories260K"}`, 400, "missing_required_parameter", "prompt"},
		{"token prompt", "POST", "/v1/completions", `{"model":"stories260K","prompt":[1,2,3]}`, 400, "invalid_type", "prompt"},
		{"empty prompt list", "POST", "/v1/completions", `{"model":"stories260K","prompt":[]}`, 400, "invalid_value", "prompt"},
		{"completion logprobs", "POST", "/v1/completions", `{"model":"stories260K","prompt":"x","logprobs":6}`, 400, "invalid_value", "logprobs"},
		{"echo", "POST", "/v1/completions", `{"model":"stories260K","prompt":"x","echo":true}`, 400, "unsupported_parameter", "echo"},
		{"completion negative max_tokens", "POST", "/v1/completions", `{"model":"stories260K","prompt":"x","max_tokens":-1}`, 400, "invalid_value", "max_tokens"},
		{"completion too long", "POST", "/v1/completions", `{"model":"stories260K","prompt":"x","max_tokens":512}`, 400, "context_length_exceeded", "prompt"},
		{"missing input", "POST", "/v1/embeddings", `{"model":"stories260K"}`, 400, "missing_required_parameter", "input"},
		{"input type", "POST", "/v1/embeddings", `{"model":"stories260K","input":{"a":1}}`, 400, "invalid_type", "input"},
		{"encoding format", "POST", "/v1/embeddings", `{"model":"stories260K","input":"x","encoding_format":"int8"}`, 400, "invalid_value", "encoding_format"},
		{"dimensions", "POST", "/v1/embeddings", `{"model":"stories260K","input":"x","dimensions":3}`, 400, "invalid_value", "dimensions"},
		{"oversized body", "POST", "/v1/completions", big, 413, "request_too_large", ""},
		{"get chat", "GET", "/v1/chat/completions", "", 405, "method_not_allowed", ""},
		{"delete models", "DELETE", "/v1/models", "", 405, "method_not_allowed", ""},
		{"put embeddings", "PUT", "/v1/embeddings", `{}`, 405, "method_not_allowed", ""},
		{"unknown path", "POST", "/v1/assistants", `{}`, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, data)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var e errorBody
			if err := json.Unmarshal(data, &e); err != nil || e.Error == nil {
				t.Fatalf("body is not an error JSON: %v: %s", err, data)
			}
			if e.Error.Message == nil || *e.Error.Message == "" || e.Error.Type == nil {
				t.Errorf("error without message or type: %s", data)
			}
			if e.Error.Code == nil || *e.Error.Code != tc.code {
				t.Errorf("code %v, want %q: %s", e.Error.Code, tc.code, data)
			}
			if tc.param == "" && e.Error.Param != nil || tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
				t.Errorf("param %v, want %q: %s", e.Error.Param, tc.param, data)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

// TestRawStreamFormat checks the wire format of a streamed completion: data
// lines with chunk objects, finish reasons, the usage chunk and [DONE].
func TestRawStreamFormat(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	body := `{"model":"stories260K","prompt":["Once upon a time","The dog"],"n":2,"max_tokens":8,"temperature":0.7,"seed":3,"stream":true,"stream_options":{"include_usage":true}}`
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	data, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSuffix(string(data), "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("last event %q", events[len(events)-1])
	}
	texts := map[int]string{}
	finished := map[int]string{}
	var usage map[string]int
	for _, ev := range events[:len(events)-1] {
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Index        int     `json:"index"`
				Text         string  `json:"text"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage map[string]int `json:"usage"`
		}
		if !strings.HasPrefix(ev, "data: ") || json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &chunk) != nil || chunk.Object != "text_completion" {
			t.Fatalf("bad event %q", ev)
		}
		for _, c := range chunk.Choices {
			texts[c.Index] += c.Text
			if c.FinishReason != nil {
				finished[c.Index] = *c.FinishReason
			}
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	if len(texts) != 4 || len(finished) != 4 {
		t.Fatalf("choices %v finished %v", texts, finished)
	}
	if usage == nil || usage["completion_tokens"] == 0 || usage["total_tokens"] != usage["prompt_tokens"]+usage["completion_tokens"] {
		t.Errorf("usage %v", usage)
	}
	// The same request without streaming gives the same texts.
	resp2, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(strings.Replace(body, `"stream":true`, `"stream":false`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var full struct {
		Choices []struct {
			Index int    `json:"index"`
			Text  string `json:"text"`
		} `json:"choices"`
		Usage map[string]int `json:"usage"`
	}
	if err := json.NewDecoder(resp2.Body).Decode(&full); err != nil {
		t.Fatal(err)
	}
	for _, c := range full.Choices {
		if texts[c.Index] != c.Text {
			t.Errorf("choice %d: streamed %q, not streamed %q", c.Index, texts[c.Index], c.Text)
		}
	}
	if full.Usage["completion_tokens"] != usage["completion_tokens"] {
		t.Errorf("usage streamed %v, not streamed %v", usage, full.Usage)
	}
}
