package llm_test

import (
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

func TestParseModelSpec(t *testing.T) {
	cases := []struct {
		in   string
		want llm.ModelSpec
		err  string
	}{
		{in: "http://127.0.0.1:8080/v1#stories", want: llm.ModelSpec{Kind: llm.SpecRemote, BaseURL: "http://127.0.0.1:8080/v1", Model: "stories"}},
		{in: "https://api.openai.com/v1/#gpt-4o-mini", want: llm.ModelSpec{Kind: llm.SpecRemote, BaseURL: "https://api.openai.com/v1", Model: "gpt-4o-mini"}},
		{in: "builtin:models/m.gguf", want: llm.ModelSpec{Kind: llm.SpecBuiltin, Path: "models/m.gguf"}},
		{in: "builtin:hf://o/r/m.bin", want: llm.ModelSpec{Kind: llm.SpecBuiltin, Path: "hf://o/r/m.bin"}},
		{in: "hf://o/r/m.bin", want: llm.ModelSpec{Kind: llm.SpecBuiltin, Path: "hf://o/r/m.bin"}},
		{in: "", err: "empty model"},
		{in: "builtin:", err: "names no file"},
		{in: "http://host/v1", err: "names no model"},
		{in: "http://host/v1#", err: "names no model"},
		{in: "http://user:sk-secret@host/v1#m", err: "credentials"},
		{in: "ftp://host/v1#m", err: "is not http(s)"},
		{in: "model.gguf", err: "is not http(s)"},
	}
	for _, c := range cases {
		got, err := llm.ParseModelSpec(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("%q: the error repeats the credentials: %v", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// Every form of credentials in a URL is shown redacted, parsable or not.
func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http://host/v1", "http://host/v1"},
		{"https://user:secret@host/v1#m", "https://REDACTED@host/v1#m"},
		{"https://secret@host:8080/v1", "https://REDACTED@host:8080/v1"},
		{"http://us er:sec ret@ho st/v1", "http://REDACTED@ho st/v1"},
		{"builtin:/models/a.bin", "builtin:/models/a.bin"},
	}
	for _, c := range cases {
		got := llm.RedactURL(c.in)
		if got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("RedactURL(%q) leaks the secret: %q", c.in, got)
		}
	}
}
