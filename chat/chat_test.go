package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedNow is the time strftime_now reports in every test (Llama 3.x
// prints today's date).
var fixedNow = time.Date(2024, 7, 26, 10, 11, 12, 0, time.UTC)

// renderCase is one conversation rendered with one template.
type renderCase struct {
	name   string
	msgs   []Message
	genPr  bool
	extra  map[string]any
	onlyIf func(tmpl string) bool // nil: every template
}

var weatherTool = map[string]any{
	"type": "function",
	"function": map[string]any{
		"name":        "get_weather",
		"description": "Current weather of a city.",
		"parameters": map[string]any{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string", "description": "City name, e.g. Zürich"}},
			"required":   []any{"city"},
		},
	},
}

func uses(word string) func(string) bool {
	return func(src string) bool { return strings.Contains(src, word) }
}

var renderCases = []renderCase{
	{name: "user", msgs: []Message{{"user", "Hello!"}}, genPr: true},
	{name: "system", msgs: []Message{{"system", "Be brief."}, {"user", "What is 2+2?"}}, genPr: true},
	{name: "multiturn", msgs: []Message{
		{"system", "You are a poet."}, {"user", "A haiku on rain."},
		{"assistant", "Soft rain on tin roofs\nwhispers to the sleeping town\npuddles hold the sky"},
		{"user", "Now one on snow, with ünïcödé & <tags>."},
	}, genPr: true},
	{name: "no-generation-prompt", msgs: []Message{{"user", "Hi"}, {"assistant", "Hello, how can I help?"}}},
	{name: "tools", msgs: []Message{{"system", "Use tools when useful."}, {"user", "Weather in Zürich?"}}, genPr: true,
		extra: map[string]any{"tools": []any{weatherTool}}, onlyIf: uses("tools")},
	{name: "no-thinking", msgs: []Message{{"user", "Quick: capital of France?"}}, genPr: true,
		extra: map[string]any{"enable_thinking": false}, onlyIf: uses("enable_thinking")},
}

// templateCase is one template under test.
type templateCase struct {
	name string
	load func(t *testing.T) (*Template, string, string) // template, bos, eos
}

func fileTemplate(name string, bos, eos string) func(t *testing.T) (*Template, string, string) {
	return func(t *testing.T) (*Template, string, string) {
		p := filepath.Join("testdata", name)
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := ParseFrom(string(src), p, "")
		if err != nil {
			t.Fatal(err)
		}
		return tm, bos, eos
	}
}

var templateCases = []templateCase{
	{"qwen3", func(t *testing.T) (*Template, string, string) {
		c, err := FromTokenizerConfig(testshared.Path(t, "tokenizers", "qwen3"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Template == nil {
			t.Fatal("qwen3 tokenizer_config.json has no chat_template")
		}
		return c.Template, c.BOS, c.EOS
	}},
	{"llama-3.2", fileTemplate("llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>")},
	{"smollm2", fileTemplate("smollm2-instruct.jinja", "<|im_start|>", "<|im_end|>")},
}

// jinja2Available reports why the Python reference cannot run ("" when it
// can).
func jinja2Available() string {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		return "/usr/bin/python3 is absent"
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import jinja2").Run(); err != nil {
		return "python3-jinja2 is not installed (scripts/ensure-jinja2.sh installs it)"
	}
	return ""
}

// pyCase is a case as render_reference.py reads it.
type pyCase struct {
	Messages            []map[string]any `json:"messages"`
	AddGenerationPrompt bool             `json:"add_generation_prompt"`
	BOS                 string           `json:"bos_token"`
	EOS                 string           `json:"eos_token"`
	Extra               map[string]any   `json:"extra,omitempty"`
}

type pyResult struct {
	Text  *string `json:"text"`
	Error string  `json:"error"`
}

// renderPython renders cases with Python's jinja2 (testdata/render_reference.py).
func renderPython(t *testing.T, src string, cases []pyCase) []pyResult {
	t.Helper()
	req, err := json.Marshal(map[string]any{"template": src, "now": fixedNow.Format("2006-01-02T15:04:05"), "cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "render_reference.py"))
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render_reference.py: %v\n%s", err, stderr.String())
	}
	var res []pyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("render_reference.py output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("render_reference.py: %d results for %d cases", len(res), len(cases))
	}
	return res
}

// TestRenderMatchesJinja2 renders every conversation with every template
// and compares the prompt with the golden file and, where Debian's
// python3-jinja2 is installed, with what Python's jinja2 renders live.
func TestRenderMatchesJinja2(t *testing.T) {
	noPy := jinja2Available()
	if noPy != "" {
		t.Logf("live jinja2 comparison skipped: %s (golden files still checked)", noPy)
	}
	for _, tc := range templateCases {
		t.Run(tc.name, func(t *testing.T) {
			tm, bos, eos := tc.load(t)
			var cases []renderCase
			var py []pyCase
			for _, rc := range renderCases {
				if rc.onlyIf != nil && !rc.onlyIf(tm.Source()) {
					continue
				}
				cases = append(cases, rc)
				ms := make([]map[string]any, len(rc.msgs))
				for i, m := range rc.msgs {
					ms[i] = map[string]any{"role": m.Role, "content": m.Content}
				}
				py = append(py, pyCase{Messages: ms, AddGenerationPrompt: rc.genPr, BOS: bos, EOS: eos, Extra: rc.extra})
			}
			var ref []pyResult
			if noPy == "" {
				ref = renderPython(t, tm.Source(), py)
			}
			for i, rc := range cases {
				got, err := tm.Render(rc.msgs, Options{AddGenerationPrompt: rc.genPr, BOS: bos, EOS: eos, Now: fixedNow, Extra: rc.extra})
				if err != nil {
					t.Errorf("%s: %v", rc.name, err)
					continue
				}
				if ref != nil {
					if ref[i].Text == nil {
						t.Errorf("%s: jinja2 failed: %s", rc.name, ref[i].Error)
					} else if got != *ref[i].Text {
						t.Errorf("%s: differs from jinja2\n--- go ---\n%s\n--- jinja2 ---\n%s", rc.name, got, *ref[i].Text)
					}
				}
				golden := filepath.Join("testdata", "golden", tc.name+"-"+rc.name+".txt")
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./chat -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s: differs from %s\n--- got ---\n%s\n--- want ---\n%s", rc.name, golden, got, want)
				}
			}
		})
	}
}

// TestBadTemplate: a template that fails to parse or render gives one error
// naming the file and the field, never a panic.
func TestBadTemplate(t *testing.T) {
	cases := []struct {
		name, src, op string
		cfg           bool // embed in a tokenizer_config.json
	}{
		{"unclosed-tag", "{% for m in messages %}{{ m.content }}", "parse", true},
		{"unknown-filter", "{{ messages | frobnicate }}", "", true},
		{"raise", "{{ raise_exception('only user and assistant roles') }}", "render", true},
		{"bad-call", "{{ messages[0].content.nosuch() }}", "render", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "tokenizer_config.json")
			data, _ := json.Marshal(map[string]any{"chat_template": c.src})
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := FromTokenizerConfig(dir)
			if err == nil {
				_, err = cfg.Template.Render([]Message{{"user", "hi"}}, Options{Now: fixedNow})
			}
			if err == nil {
				t.Fatal("no error")
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *chat.Error", err)
			}
			if c.op != "" && te.Op != c.op {
				t.Errorf("op %q, want %q (%v)", te.Op, c.op, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, p+": chat_template: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q does not start with %q on one line", msg, p+": chat_template: ")
			}
		})
	}
	// The field's shape is checked too.
	for _, raw := range []string{`{"chat_template": 3}`, `{"chat_template": [{"name": "tool_use", "template": "x"}]}`, `{"bos_token": 1}`, `{`} {
		if _, err := ParseTokenizerConfig([]byte(raw), "cfg.json"); err == nil || !strings.HasPrefix(err.Error(), "cfg.json: ") {
			t.Errorf("%s: error %v, want one naming cfg.json", raw, err)
		}
	}
}

// TestTokenizerConfigShapes: chat_template as a list of named templates and
// special tokens as AddedToken objects.
func TestTokenizerConfigShapes(t *testing.T) {
	raw := `{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
		"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]}`
	c, err := ParseTokenizerConfig([]byte(raw), "cfg.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Template.Render([]Message{{"user", "x"}}, Options{BOS: c.BOS, EOS: c.EOS})
	if err != nil || got != "<s>x</s>" {
		t.Errorf("got %q, %v; want %q", got, err, "<s>x</s>")
	}
}

// TestStrftime checks Strftime against Python's datetime.strftime output
// for fixedNow (values computed by hand: 26 July 2024 was a Friday, day 208).
func TestStrftime(t *testing.T) {
	cases := []struct{ f, want string }{
		{"%d %b %Y", "26 Jul 2024"},
		{"%A %B %e %j", "Friday July 26 208"},
		{"%H:%M:%S %p %I %y %m %%", "10:11:12 AM 10 24 07 %"},
		{"%q trailing %", "%q trailing %"},
	}
	for _, c := range cases {
		if got := Strftime(fixedNow, c.f); got != c.want {
			t.Errorf("Strftime(%q) = %q, want %q", c.f, got, c.want)
		}
	}
}

// FuzzRender: any template text and message content parse and render
// without panicking; failures are *Error values.
func FuzzRender(f *testing.F) {
	for _, name := range []string{"llama-3.2-instruct.jinja", "smollm2-instruct.jinja"} {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), "hello")
	}
	f.Add("{% for m in messages %}{{ m.role | upper }}{% endfor %}", "x")
	f.Add("{{ messages[0].content | tojson }}{% if", "\"quoted\"")
	f.Add("{{ raise_exception('no') }}", "")
	f.Add("{% set ns = namespace(a=1) %}{{ ns.a + 'x' }}", "")
	f.Fuzz(func(t *testing.T, src, content string) {
		tm, err := Parse(src)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("parse error %v is not a *chat.Error", err)
			}
			return
		}
		_, err = tm.Render([]Message{{"system", "s"}, {"user", content}}, Options{AddGenerationPrompt: true, Now: fixedNow})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("render error %v is not a *chat.Error", err)
			}
		}
	})
}
