package openaiwire

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The encodings below are OpenAI's documented field names; the client
// sends Request and the server writes the answers.
func TestEncode(t *testing.T) {
	user, hi, stop := "Say hi.", "hi", "stop"
	seed := int64(7)
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"chat request", Request{Model: "m", Messages: []Message{{Role: "user", Content: &user}}, MaxTokens: 5, Temperature: 0, Seed: &seed, Logprobs: true, TopLogprobs: 2,
			ResponseFormat: &ResponseFormat{Type: "json_schema", JSONSchema: &JSONSchema{Name: "r", Schema: json.RawMessage(`{"type":"object"}`)}},
			Stream:         true, StreamOptions: &StreamOptions{IncludeUsage: true}},
			`{"model":"m","messages":[{"role":"user","content":"Say hi."}],"max_tokens":5,"temperature":0,"seed":7,"logprobs":true,"top_logprobs":2,"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}},"stream":true,"stream_options":{"include_usage":true}}`},
		{"empty content is sent", Request{Model: "m", Messages: []Message{{Role: "system", Content: new(string)}}, Temperature: 1},
			`{"model":"m","messages":[{"role":"system","content":""}],"temperature":1}`},
		{"completion request", Request{Model: "m", Prompt: &user, Logprobs: 0, N: 2},
			`{"model":"m","prompt":"Say hi.","temperature":0,"n":2,"logprobs":0}`},
		{"chat answer", ChatCompletion{ID: "c", Object: "chat.completion", Created: 1, Model: "m", SystemFingerprint: "ggmi",
			Choices: []ChatChoice{{Message: &Message{Role: "assistant", Content: &hi}, FinishReason: &stop,
				LogProbs: &ChatLogProbs{Content: []ChatLogProb{{Token: "hi", LogProb: -0.5, Bytes: Bytes("hi"), TopLogProbs: []TopLogProb{}}}, Refusal: []ChatLogProb{}}}},
			Usage: &Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4}},
			`{"id":"c","object":"chat.completion","created":1,"model":"m","system_fingerprint":"ggmi","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"logprobs":{"content":[{"token":"hi","logprob":-0.5,"bytes":[104,105],"top_logprobs":[]}],"refusal":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`},
		{"stream chunk end", ChatCompletion{Object: "chat.completion.chunk", Choices: []ChatChoice{{Index: 1, Delta: &Message{}, FinishReason: &stop}}},
			`{"id":"","object":"chat.completion.chunk","created":0,"model":"","system_fingerprint":"","choices":[{"index":1,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`},
		{"completion answer", Completion{Object: "text_completion", Choices: []TextChoice{{Text: "hi",
			LogProbs: &TextLogProbs{Tokens: []string{"hi"}, TokenLogProbs: []float64{-0.5}, TextOffset: []int{0}}}}},
			`{"id":"","object":"text_completion","created":0,"model":"","system_fingerprint":"","choices":[{"index":0,"text":"hi","logprobs":{"tokens":["hi"],"token_logprobs":[-0.5],"top_logprobs":null,"text_offset":[0]},"finish_reason":null}]}`},
		{"model", Model{ID: "m", Object: "model", OwnedBy: "ggmi"}, `{"id":"m","object":"model","created":0,"owned_by":"ggmi"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got  %s\nwant %s", b, c.want)
			}
		})
	}
}

// Answers of other servers decode: null content and finish_reason, absent
// usage, alternatives without bytes.
func TestDecodeAnswer(t *testing.T) {
	var c ChatCompletion
	raw := `{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":null,
		"logprobs":{"content":[{"token":"a","logprob":-1,"top_logprobs":[{"token":"b","logprob":-2}]}]}}]}`
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	ch := c.Choices[0]
	if ch.Message.Text() != "" || Str(ch.FinishReason) != "" || c.Usage != nil {
		t.Errorf("decoded %+v", c)
	}
	want := []ChatLogProb{{Token: "a", LogProb: -1, TopLogProbs: []TopLogProb{{Token: "b", LogProb: -2}}}}
	if !reflect.DeepEqual(ch.LogProbs.Content, want) {
		t.Errorf("logprobs %+v, want %+v", ch.LogProbs.Content, want)
	}
	var nilMsg *Message
	if nilMsg.Text() != "" {
		t.Error("nil message has text")
	}
	if got := Bytes("é"); !reflect.DeepEqual(got, []int{0xc3, 0xa9}) {
		t.Errorf("Bytes(é) = %v", got)
	}
}
