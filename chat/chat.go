package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation. Role is "system", "user",
// "assistant" or whatever else the template understands (e.g. "tool").
type Message struct {
	Role    string
	Content string
}

// Options are the variables a render sees besides the messages.
type Options struct {
	// AddGenerationPrompt ends the prompt with the cue of the assistant's
	// turn (the template's add_generation_prompt).
	AddGenerationPrompt bool
	// BOS and EOS are the texts of the begin- and end-of-sequence tokens
	// (bos_token, eos_token).
	BOS, EOS string
	// Now is the time strftime_now reports (time.Now() when zero); tests
	// fix it so that templates which print today's date are reproducible.
	Now time.Time
	// Extra holds further template variables (e.g. enable_thinking,
	// tools, date_string); they override the defaults above, including
	// "messages", so callers can pass messages with fields beyond Role and
	// Content.
	Extra map[string]any
}

// Error is a template that failed to parse or to render. Source names where
// the template came from (a file, or "" for a string) and Field its key in
// that source (chat_template, tokenizer.chat_template).
type Error struct {
	Source string
	Field  string
	Op     string // "parse" or "render"
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	field := e.Field
	if field == "" {
		field = "chat template"
	}
	fmt.Fprintf(&b, "%s: %s: %v", field, e.Op, e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	src    string
	source string
	field  string
	t      *jinja.Template
}

// Parse compiles a Jinja chat template.
func Parse(src string) (*Template, error) { return ParseFrom(src, "", "") }

// ParseFrom is Parse for a template read from source (a file name) under
// field; both appear in every error of the template.
func ParseFrom(src, source, field string) (t *Template, err error) {
	t = &Template{src: src, source: source, field: field}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, t.err("parse", fmt.Errorf("%v", r))
		}
	}()
	jt, err := jinja.Compile(src)
	if err != nil {
		return nil, t.err("parse", err)
	}
	t.t = jt
	return t, nil
}

func (t *Template) err(op string, err error) error {
	return &Error{Source: t.source, Field: t.field, Op: op, Err: err}
}

// Source returns the template's text.
func (t *Template) Source() string { return t.src }

// Render renders msgs. Like transformers' apply_chat_template it defines
// messages, add_generation_prompt, bos_token, eos_token, tools and
// documents (both none), and the functions raise_exception and
// strftime_now; tojson follows Python's json.dumps (no HTML escaping, ", "
// and ": " separators, non-ASCII kept).
func (t *Template) Render(msgs []Message, o Options) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", t.err("render", fmt.Errorf("%v", r))
		}
	}()
	ms := make([]any, len(msgs))
	for i, m := range msgs {
		ms[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	data := map[string]any{
		"messages":              ms,
		"add_generation_prompt": o.AddGenerationPrompt,
		"bos_token":             o.BOS,
		"eos_token":             o.EOS,
		"tools":                 nil,
		"documents":             nil,
	}
	for k, v := range o.Extra {
		data[k] = v
	}
	vals := make(map[string]jinja.Value, len(data)+2)
	for k, v := range data {
		vals[k] = jinja.FromGoValue(v)
	}
	vals["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), errors.New("strftime_now takes one format string")
		}
		return jinja.NewString(Strftime(now, args[0].AsString())), nil
	})
	vals["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		msg := "raise_exception called"
		if len(args) > 0 {
			msg = args[0].String()
		}
		return jinja.Undefined(), fmt.Errorf("template raised: %s", msg)
	})
	s, err := t.t.RenderValues(vals)
	if err != nil {
		return "", t.err("render", err)
	}
	return s, nil
}

// Config is what a Hugging Face tokenizer_config.json says about chat.
type Config struct {
	// Template is the chat template (nil when the file has none).
	Template *Template
	// BOS and EOS are the texts of bos_token and eos_token ("" when
	// absent or null).
	BOS, EOS string
}

// FromTokenizerConfig reads path, a tokenizer_config.json or a folder
// holding one. chat_template is a string or a list of {name, template}
// objects, of which the one named "default" is used; bos_token and
// eos_token are strings or AddedToken objects ({"content": ...}).
func FromTokenizerConfig(path string) (*Config, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "tokenizer_config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	return ParseTokenizerConfig(data, path)
}

// ParseTokenizerConfig is FromTokenizerConfig on the file's contents; name
// labels the errors.
func ParseTokenizerConfig(data []byte, name string) (*Config, error) {
	var raw struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var c Config
	var err error
	if c.BOS, err = tokenText(raw.BOS); err != nil {
		return nil, fmt.Errorf("%s: bos_token: %w", name, err)
	}
	if c.EOS, err = tokenText(raw.EOS); err != nil {
		return nil, fmt.Errorf("%s: eos_token: %w", name, err)
	}
	src, field, err := templateSource(raw.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, field, err)
	}
	if src == "" {
		return &c, nil
	}
	if c.Template, err = ParseFrom(src, name, field); err != nil {
		return nil, err
	}
	return &c, nil
}

// templateSource decodes chat_template: a string, or a list of named
// templates of which "default" is taken.
func templateSource(raw json.RawMessage) (src, field string, err error) {
	field = "chat_template"
	if len(raw) == 0 || string(raw) == "null" {
		return "", field, nil
	}
	if err := json.Unmarshal(raw, &src); err == nil {
		return src, field, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", field, errors.New("want a string or a list of {name, template} objects")
	}
	for i, n := range named {
		if n.Name == "default" {
			return n.Template, fmt.Sprintf("chat_template[%d] (default)", i), nil
		}
	}
	return "", field, fmt.Errorf("no template named \"default\" among %d", len(named))
}

// tokenText decodes a special token given as a string, an AddedToken object
// or null.
func tokenText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", errors.New("want a string or an object with a content string")
	}
	return *obj.Content, nil
}
