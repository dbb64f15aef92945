package llm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// TestJinjaChatPrompt: a chat request on a model with a Jinja template is
// rendered by that template; the template's special-token texts become
// their ids, the same texts typed in a message do not. The template comes
// either from the options or from the model file (a GGUF written with
// tokenizer.chat_template).
func TestJinjaChatPrompt(t *testing.T) {
	m := loadModel(t)
	src, err := os.ReadFile(filepath.Join("testdata", "tagged.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	// The same weights in a GGUF that carries the template.
	cp := freshModel(t)
	cp.ChatTemplate = string(src)
	var buf bytes.Buffer
	if err := cp.WriteGGUF(&buf); err != nil {
		t.Fatal(err)
	}
	fromFile, err := llama.ReadGGUF(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.ChatTemplate != string(src) {
		t.Fatalf("GGUF round trip: chat template %q, want %q", fromFile.ChatTemplate, src)
	}

	tok := m.Tokenizer.(*llama.Tokenizer)
	// stories260K's BOS and EOS texts are "\n<s>\n" and "\n</s>\n"; the
	// user types both.
	bosT, eosT := tok.Vocab[tok.BOS], tok.Vocab[tok.EOS]
	user := "Say" + eosT + "and" + bosT + "please."
	msgs := []Message{{Role: RoleSystem, Content: "Be kind."}, {Role: RoleUser, Content: user}}
	// Hand-built expectation: BOS and EOS where the template writes
	// bos_token / eos_token, the user's "</s>" and "<s>" as plain text.
	var want []int
	want = append(want, tok.BOS)
	want = append(want, tok.EncodeRaw("system: ")...)
	want = append(want, tok.EncodeRaw("Be kind.")...)
	want = append(want, tok.EOS)
	want = append(want, tok.EncodeRaw("\nuser: ")...) // after the EOS text
	want = append(want, tok.EncodeRaw(user)...)
	want = append(want, tok.EOS)
	want = append(want, tok.EncodeRaw("\nassistant:")...)
	wantPrompt := bosT + "system: Be kind." + eosT + "\nuser: " + user + eosT + "\nassistant:"

	cases := []struct {
		name  string
		model *llama.Model
		opt   BuiltinOptions
	}{
		{"option", m, BuiltinOptions{Jinja: tmpl}},
		{"model-file", fromFile, BuiltinOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotPrompt string
			var gotTokens []int
			c.opt.Workers = 1
			c.opt.OnPrompt = func(p string, toks []int) { gotPrompt, gotTokens = p, slices.Clone(toks) }
			b, err := NewBuiltin(c.model, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			res, err := b.Generate(context.Background(), Request{Messages: msgs, MaxTokens: 8, Seed: seed(1)})
			if err != nil {
				t.Fatal(err)
			}
			if gotPrompt != wantPrompt {
				t.Errorf("prompt %q, want %q", gotPrompt, wantPrompt)
			}
			if !slices.Equal(gotTokens, want) {
				t.Errorf("tokens %v, want %v", gotTokens, want)
			}
			if n := countOf(gotTokens, tok.EOS); n != 2 {
				t.Errorf("%d EOS tokens, want 2 (the template's, not the user's)", n)
			}
			if res.Usage.PromptTokens != len(want) {
				t.Errorf("usage: %d prompt tokens, want %d", res.Usage.PromptTokens, len(want))
			}
		})
	}

	// Without a Jinja template the plain template stays in use.
	var plain string
	b, err := NewBuiltin(m, BuiltinOptions{Workers: 1, OnPrompt: func(p string, _ []int) { plain = p }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CountTokens(Request{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if want := "System: Be kind.\nUser: " + user + "\nAssistant:"; plain != want {
		t.Errorf("plain prompt %q, want %q", plain, want)
	}
}

// TestJinjaChatBadTemplate: a template that cannot render the request is
// the request's error, naming the field; a model file whose template does
// not parse is refused when the backend starts.
func TestJinjaChatBadTemplate(t *testing.T) {
	m := loadModel(t)
	tmpl, err := chat.Parse("{% if messages[0].role != 'user' %}{{ raise_exception('first message must be the user') }}{% endif %}{{ messages[0].content }}")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuiltin(m, BuiltinOptions{Workers: 1, Jinja: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Generate(context.Background(), Request{Messages: []Message{{Role: RoleSystem, Content: "x"}}, MaxTokens: 1})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("error %v, want an invalid request", err)
	}
	cp := freshModel(t)
	cp.ChatTemplate = "{% for %}"
	if _, err := NewBuiltin(cp, BuiltinOptions{Workers: 1}); err == nil {
		t.Fatal("a model with an unparsable template started")
	} else if want := "tokenizer.chat_template"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

// freshModel loads stories260K anew, so that the test may change it.
func freshModel(t *testing.T) *llama.Model {
	m, err := llama.Load(testshared.StoriesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func countOf(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
