package synth

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./synth -update to create it)", err)
	}
	if string(b) != got {
		t.Errorf("%s differs from the golden file (run go test ./synth -update after checking the change)\n--- got ---\n%s\n--- want ---\n%s", name, got, b)
	}
}

func sampleDemos() []dataset.Record {
	return []dataset.Record{
		{ID: "a1", Instruction: "Give three tips for staying healthy.", Output: "Eat vegetables, sleep well and move every day."},
		{ID: "a2", Instruction: "Classify the sentiment of the review.", Input: "The soup was cold & the waiter <rude>.", Output: "negative"},
		{ID: "a3", Instruction: "Rewrite the sentence in the passive voice.", Input: "The dog chased the \"red\" ball.", Output: "The \"red\" ball was chased by the dog."},
	}
}

func sampleData() TemplateData {
	return TemplateData{
		Task:      DefaultTask,
		Condition: Condition{Topic: "cooking", Style: "casual", Persona: "a retired teacher", Length: "short"},
		Demos:     sampleDemos(),
		N:         20,
	}
}

func TestTemplatesGolden(t *testing.T) {
	schema := `{"type": "array", "items": {"type": "object", "required": ["instruction", "context", "response"]}}`
	cases := []struct {
		name string
		tmpl *Template
		data func() TemplateData
	}{
		{"default.golden", DefaultTemplate(), sampleData},
		{"default_plain.golden", DefaultTemplate(), func() TemplateData {
			d := sampleData()
			d.Condition = Condition{}
			d.Demos = d.Demos[:1]
			d.N = 5
			return d
		}},
		{"default_schema.golden", DefaultTemplate(), func() TemplateData {
			d := sampleData()
			d.Condition = Condition{Topic: "astronomy"}
			d.Schema = schema
			return d
		}},
		{"completion.golden", CompletionTemplate(), sampleData},
		{"completion_plain.golden", CompletionTemplate(), func() TemplateData {
			d := sampleData()
			d.Condition = Condition{}
			return d
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tmpl.Render(tc.data())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, got)
		})
	}
}

// The demonstrations in a rendered prompt parse back to themselves.
func TestTemplateDemosRoundTrip(t *testing.T) {
	for _, tmpl := range []*Template{DefaultTemplate(), CompletionTemplate()} {
		got, err := tmpl.Render(sampleData())
		if err != nil {
			t.Fatal(err)
		}
		res := Parse(got, nil)
		if len(res.Records) != 3 {
			t.Fatalf("%s: parsed %d records from the prompt, want 3 (rejects %v)", tmpl.Name(), len(res.Records), res.Rejects)
		}
		for i, r := range res.Records {
			d := sampleDemos()[i]
			if r.Instruction != d.Instruction || r.Input != d.Input || r.Output != d.Output {
				t.Errorf("%s: demo %d came back as %+v", tmpl.Name(), i, r)
			}
		}
	}
}

func TestTemplateFromStringAndFile(t *testing.T) {
	src := `{{trim .Task}}|{{.N}}|{{.Condition.Topic}}{{range .Demos}}|{{json (demo .)}}{{end}}|{{indent 2 "a\nb"}}|{{join "+" (list)}}`
	if _, err := NewTemplate("x", src); err == nil {
		t.Fatal("unknown function list accepted")
	}
	src = `{{trim .Task}}|{{.N}}|{{.Condition.Topic}}{{range .Demos}}|{{json (demo .)}}{{end}}|{{indent 2 "a\nb"}}`
	path := filepath.Join(t.TempDir(), "t.tmpl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := TemplateByName(path)
	if err != nil {
		t.Fatal(err)
	}
	joined, err := NewTemplate("j", `{{join "+" .Demos}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := joined.Render(TemplateData{Demos: sampleDemos()}); err == nil {
		t.Error("join of records rendered")
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(TemplateData{Task: "  T ", N: 2, Condition: Condition{Topic: "x"}, Demos: sampleDemos()[1:2]})
	if err != nil {
		t.Fatal(err)
	}
	want := `T|2|x|{"instruction":"Classify the sentiment of the review.","context":"The soup was cold & the waiter <rude>.","response":"negative"}|  a
  b`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := TemplateByName(filepath.Join(t.TempDir(), "missing.tmpl")); err == nil {
		t.Error("missing file accepted")
	}
	bad, err := NewTemplate("bad", "{{.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Render(TemplateData{}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("unknown field: %v", err)
	}
	var nilT *Template
	if _, err := nilT.Render(TemplateData{}); err == nil {
		t.Error("nil template rendered")
	}
}

func FuzzTemplateData(f *testing.F) {
	f.Add("task", "topic", "style", "persona", "short", "do {x}", "ctx \"q\"", "out\n", 3)
	f.Add("", "", "", "", "", "", "", "", 0)
	f.Add("{{.N}}", "<b>", "“smart”", "\x00", "\xff", "}", "[", "\\", -1)
	f.Fuzz(func(t *testing.T, task, topic, style, persona, length, inst, ctx, out string, n int) {
		d := TemplateData{
			Task:      task,
			Condition: Condition{Topic: topic, Style: style, Persona: persona, Length: length},
			Demos:     []dataset.Record{{ID: "x", Instruction: inst, Input: ctx, Output: out}, {ID: "y", Instruction: out, Output: inst}},
			N:         n,
			Schema:    ctx,
		}
		for _, tm := range []*Template{DefaultTemplate(), CompletionTemplate()} {
			got, err := tm.Render(d)
			if err != nil {
				t.Fatalf("%s: %v", tm.Name(), err)
			}
			for _, r := range d.Demos {
				js, err := jsonText(DemoOf(r))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(got, js) {
					t.Fatalf("%s: demo JSON %s missing from prompt", tm.Name(), js)
				}
			}
			Parse(got, nil) // must not panic
		}
		id1 := PromptID("h", task, ctx, []string{inst, out}, d.Condition, n, 0)
		id2 := PromptID("h", task, ctx, []string{inst, out}, d.Condition, n, 0)
		if id1 != id2 || len(id1) != 32 {
			t.Fatalf("prompt ID %q / %q", id1, id2)
		}
	})
}

func TestTrunc(t *testing.T) {
	for _, tc := range []struct {
		n        int
		in, want string
	}{{5, "hello world", "hell…"}, {11, "hello world", "hello world"}, {0, "abc", "abc"}, {3, "héllo", "hé…"}} {
		if got := truncRunes(tc.n, tc.in); got != tc.want {
			t.Errorf("trunc %d %q = %q, want %q", tc.n, tc.in, got, tc.want)
		}
	}
}
