package serve

import (
	"testing"
)

// FuzzChatRequest feeds arbitrary bodies to the chat request decoder: it
// must never panic, and what it accepts must satisfy the documented limits.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a"}]},{"role":"user","content":null}],"n":3,"seed":-1,"stop":"x","temperature":0.5,"top_p":0.9,"max_tokens":10,"logprobs":true,"top_logprobs":2,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b"],"max_completion_tokens":1}`,
		`{"model":`, `[]`, `null`, `{"model":"m","messages":{}}`, `{"model":"m","messages":[{"role":1}]}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1e309}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, e := decodeChat(data)
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Message == "" || e.Code == nil {
				t.Fatalf("bad error %+v", e)
			}
			return
		}
		r := c.req
		switch {
		case r.Model == "" || len(r.Messages) == 0:
			t.Fatalf("accepted without model or messages: %+v", r)
		case r.N < 1 || r.N > 128:
			t.Fatalf("accepted n %d", r.N)
		case !(r.Temperature >= 0 && r.Temperature <= 2) || !(r.TopP >= 0 && r.TopP <= 1):
			t.Fatalf("accepted temperature %g top_p %g", r.Temperature, r.TopP)
		case r.MaxTokens < 0 || r.TopLogProbs < 0 || r.TopLogProbs > 20 || len(r.Stop) > MaxStops:
			t.Fatalf("accepted %+v", r)
		}
		for _, m := range r.Messages {
			switch m.Role {
			case "system", "developer", "user", "assistant":
			default:
				t.Fatalf("accepted role %q", m.Role)
			}
		}
	})
}
