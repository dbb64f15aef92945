package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Condition is the condition element e_condition of a prompt: the factors
// along which the diversity literature varies generation. Empty fields are
// left out of the prompt.
type Condition struct {
	Topic   string `json:"topic,omitempty"`
	Style   string `json:"style,omitempty"`
	Persona string `json:"persona,omitempty"`
	Length  string `json:"length,omitempty"`
}

// IsZero reports whether the condition sets no factor.
func (c Condition) IsZero() bool { return c == Condition{} }

// TemplateData is what a Template is rendered with.
type TemplateData struct {
	// Task is the task element e_task (what the data are for).
	Task string
	// Condition is the condition element e_condition.
	Condition Condition
	// Attributes are the prompt's sampled attributes (name → value), also
	// part of e_condition; a template reads one as {{.Attributes.persona}}.
	Attributes map[string]string
	// Demos are the demonstrations e_demo drawn from the anchors.
	Demos []dataset.Record
	// N is the number of records the prompt asks for.
	N int
	// Schema is an optional JSON schema the output must follow.
	Schema string
}

// Demo is the JSON form of a demonstration shown in a prompt, in the field
// order the parser expects back.
type Demo struct {
	Instruction string `json:"instruction"`
	Context     string `json:"context"`
	Response    string `json:"response"`
}

// DemoOf returns the JSON form of an anchor record.
func DemoOf(r dataset.Record) Demo {
	return Demo{Instruction: r.Instruction, Context: r.Input, Response: r.Output}
}

// DefaultTask is the task element used when a Plan sets none.
const DefaultTask = "We are building a data set to teach a language model to follow instructions written by people."

// defaultSource is the template for instruction-tuned (chat) models. It asks
// for N tasks as a JSON array, in the spirit of the paper's App. G.1.2 (an
// Alpaca-style request with k anchor demonstrations) but in its own words.
const defaultSource = `{{trim .Task}}

Please invent {{.N}} new {{if eq .N 1}}task{{else}}tasks{{end}} for that data set. Each task is a JSON object with exactly these fields:
- "instruction": what the user asks the model to do, in one or two sentences;
- "context": material the instruction needs (a passage, a list, some data), or "" when it needs none;
- "response": a correct, helpful answer to the instruction given the context, under about 100 words.

Guidelines:
1. Make the tasks differ from one another: vary the verbs, mix questions with requests, and cover several kinds of work (open and closed question answering, brainstorming, classification, extraction, rewriting, summarising, creative writing).
2. A text-only assistant must be able to do every task: nothing that needs pictures, sound, files, browsing or actions in the world.
3. Write in {{with index .Attributes "language"}}{{.}}{{else}}English{{end}}. When a context is given, make it concrete and realistic rather than a placeholder.
4. Do not copy the examples; use them only to see the expected form and level.
{{- if or (not .Condition.IsZero) .Attributes}}

Shape this batch as follows:
{{- with .Condition}}
{{- if .Topic}}
- topic: {{.Topic}}{{end}}
{{- if .Style}}
- style: {{.Style}}{{end}}
{{- if .Persona}}
- written for or by: {{.Persona}}{{end}}
{{- if .Length}}
- length: {{.Length}}{{end}}
{{- end}}
{{- range $name, $value := .Attributes}}
- {{if eq $name "persona"}}written for or by{{else}}{{$name}}{{end}}: {{$value}}{{end}}
{{- end}}
{{- if .Demos}}

Examples ({{len .Demos}}):
{{- range .Demos}}
{{json (demo .)}}
{{- end}}
{{- end}}
{{- if .Schema}}

The reply must validate against this JSON schema:
{{indent 2 (trim .Schema)}}
{{- end}}

Reply with a JSON array of {{.N}} {{if eq .N 1}}object{{else}}objects{{end}} and nothing else.
`

// completionSource is the template for base models: a document of JSON lines
// that the model continues with more lines.
const completionSource = `# {{trim .Task}}
{{- if or (not .Condition.IsZero) .Attributes}}
# Batch:{{with .Condition}}{{if .Topic}} topic={{.Topic}}{{end}}{{if .Style}} style={{.Style}}{{end}}{{if .Persona}} persona={{.Persona}}{{end}}{{if .Length}} length={{.Length}}{{end}}{{end}}{{range $name, $value := .Attributes}} {{$name}}={{$value}}{{end}}{{end}}
# Each line is one task as JSON with "instruction", "context" and "response"; {{.N}} new tasks follow the first {{len .Demos}}.
{{range .Demos}}{{json (demo .)}}
{{end}}`

// Template is the prompt template E. It wraps a text/template with the
// helper functions json, indent, trim, join and demo.
type Template struct {
	name string
	src  string
	t    *template.Template
}

// Funcs returns the helper functions available in templates:
//
//	json v        v as compact JSON (HTML characters not escaped)
//	indent n s    s with every line indented by n spaces
//	trim s        s without leading and trailing white space
//	join sep list the strings of list joined by sep
//	trunc n s     s cut to n characters (ending in …)
//	demo r        the Demo form (instruction, context, response) of a record
func Funcs() template.FuncMap {
	return template.FuncMap{
		"json":   jsonText,
		"indent": indent,
		"trim":   strings.TrimSpace,
		"join":   func(sep string, list []string) string { return strings.Join(list, sep) },
		"demo":   DemoOf,
		"trunc":  truncRunes,
	}
}

// truncRunes cuts s to at most n characters, ending in "…" when cut.
func truncRunes(n int, s string) string {
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func jsonText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func indent(n int, s string) string {
	if n <= 0 || s == "" {
		return s
	}
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// NewTemplate parses a template from its source text. Unknown fields of
// TemplateData are errors at render time.
func NewTemplate(name, src string) (*Template, error) {
	t, err := template.New(name).Funcs(Funcs()).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("synth: template %q: %w", name, err)
	}
	return &Template{name: name, src: src, t: t}, nil
}

// LoadTemplate reads and parses a template file.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("synth: read template: %w", err)
	}
	return NewTemplate(path, string(b))
}

// DefaultTemplate returns the template for instruction-tuned models: it asks
// for N tasks as one JSON array of {"instruction", "context", "response"}
// objects, after the demonstrations as JSON.
func DefaultTemplate() *Template { return mustTemplate("default", defaultSource) }

// CompletionTemplate returns the template for base models: a header and the
// demonstrations as JSON lines, for the model to continue line by line.
func CompletionTemplate() *Template { return mustTemplate("completion", completionSource) }

func mustTemplate(name, src string) *Template {
	t, err := NewTemplate(name, src)
	if err != nil {
		panic(err) // the built-in sources are tested
	}
	return t
}

// TemplateByName returns a built-in template ("default" or "completion") or,
// for any other name, the template in the file it names.
func TemplateByName(name string) (*Template, error) {
	switch name {
	case "", "default", "chat":
		return DefaultTemplate(), nil
	case "completion", "base":
		return CompletionTemplate(), nil
	}
	return LoadTemplate(name)
}

// Name returns the template's name.
func (t *Template) Name() string { return t.name }

// Source returns the template's source text.
func (t *Template) Source() string { return t.src }

// Hash returns the hex SHA-256 of the template's source (its identity in
// prompt IDs).
func (t *Template) Hash() string {
	h := sha256.Sum256([]byte(t.src))
	return hex.EncodeToString(h[:])
}

// Render renders the prompt p for the data d.
func (t *Template) Render(d TemplateData) (string, error) {
	if t == nil || t.t == nil {
		return "", fmt.Errorf("synth: render: nil template")
	}
	var b strings.Builder
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("synth: render %q: %w", t.name, err)
	}
	return b.String(), nil
}
