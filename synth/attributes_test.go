package synth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// chiSquare returns Pearson's statistic of observed counts against the
// probabilities p.
func chiSquare(counts map[string]int, values []string, p []float64, n int) float64 {
	x := 0.0
	for j, v := range values {
		e := p[j] * float64(n)
		d := float64(counts[v]) - e
		x += d * d / e
	}
	return x
}

// The draws follow the asked distribution: Pearson's chi-square over
// 20,000 seeded draws stays below the 0.1% critical value of its degrees
// of freedom (a fixed seed, so the test is deterministic; a sampler that
// ignored the weights would exceed the bound by orders of magnitude).
func TestAttributeSamplingChiSquare(t *testing.T) {
	// Upper 0.1% points of the chi-square distribution (df 1…5).
	crit := map[int]float64{1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515}
	cases := []struct {
		name string
		attr Attribute
		mode string
		p    []float64
	}{
		{"uniform4", Attribute{Name: "persona", Values: []string{"a", "b", "c", "d"}}, SampleUniform, []float64{.25, .25, .25, .25}},
		{"weighted1234", Attribute{Name: "difficulty", Values: []string{"w", "x", "y", "z"}, Weights: []float64{1, 2, 3, 4}}, SampleWeighted, []float64{.1, .2, .3, .4}},
		{"weighted-zero", Attribute{Name: "language", Values: []string{"en", "fr", "de"}, Weights: []float64{3, 0, 1}}, "", []float64{.75, 0, .25}},
		{"weighted-unweighted", Attribute{Name: "style", Values: []string{"s", "t", "u", "v", "w", "x"}}, SampleWeighted, []float64{1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6}},
	}
	const n = 20000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := AttributeSpace{Attributes: []Attribute{tc.attr}, Mode: tc.mode}
			counts := map[string]int{}
			for i := range n {
				m, err := s.Draw(i, 42)
				if err != nil {
					t.Fatal(err)
				}
				counts[m[tc.attr.Name]]++
			}
			var vals []string
			var p []float64
			for j, v := range tc.attr.Values {
				if tc.p[j] == 0 {
					if counts[v] != 0 {
						t.Fatalf("value %s has weight 0 but was drawn %d times", v, counts[v])
					}
					continue
				}
				vals, p = append(vals, v), append(p, tc.p[j])
			}
			x := chiSquare(counts, vals, p, n)
			if x > crit[len(vals)-1] {
				t.Fatalf("chi-square %.2f > %.2f (df %d): counts %v", x, crit[len(vals)-1], len(vals)-1, counts)
			}
		})
	}
}

// Two attributes drawn independently: the joint counts factorise (chi-square
// test of independence on the 2×3 table, df 2).
func TestAttributeSamplingIndependent(t *testing.T) {
	s := AttributeSpace{Attributes: []Attribute{
		{Name: "a", Values: []string{"a0", "a1"}},
		{Name: "b", Values: []string{"b0", "b1", "b2"}, Weights: []float64{1, 1, 2}},
	}}
	const n = 12000
	joint := map[string]int{}
	for i := range n {
		m, _ := s.Draw(i, 3)
		joint[m["a"]+m["b"]]++
	}
	pa := []float64{.5, .5}
	pb := []float64{.25, .25, .5}
	var vals []string
	var p []float64
	for i, a := range []string{"a0", "a1"} {
		for j, b := range []string{"b0", "b1", "b2"} {
			vals, p = append(vals, a+b), append(p, pa[i]*pb[j])
		}
	}
	if x := chiSquare(joint, vals, p, n); x > 20.515 { // df 5, 0.1%
		t.Fatalf("chi-square %.2f > 20.515: %v", x, joint)
	}
}

// The cross product is exact: every block of Size prompts holds each
// combination once, so 3 blocks hold each exactly 3 times.
func TestAttributeCrossProductExact(t *testing.T) {
	s := AttributeSpace{Mode: SampleCross, Attributes: []Attribute{
		{Name: "persona", Values: []string{"teacher", "nurse", "pilot"}},
		{Name: "difficulty", Values: []string{"easy", "hard"}},
	}}
	if s.Size() != 6 {
		t.Fatalf("size %d, want 6", s.Size())
	}
	for _, seed := range []uint64{1, 2, 99} {
		total := map[string]int{}
		for b := range 3 {
			block := map[string]int{}
			for i := b * 6; i < b*6+6; i++ {
				m, err := s.Draw(i, seed)
				if err != nil {
					t.Fatal(err)
				}
				k := m["persona"] + "/" + m["difficulty"]
				block[k]++
				total[k]++
			}
			if len(block) != 6 {
				t.Fatalf("seed %d block %d covers %d combinations, want 6: %v", seed, b, len(block), block)
			}
		}
		for k, c := range total {
			if c != 3 {
				t.Fatalf("seed %d: %s drawn %d times, want 3", seed, k, c)
			}
		}
	}
}

// A prompt's attributes depend only on the seed and its index: the same
// plan gives the same attributes, a larger target keeps the first prompts'
// attributes (and IDs), and the records' provenance carries them.
func TestPlanAttributesResumable(t *testing.T) {
	for _, mode := range []string{SampleUniform, SampleWeighted, SampleCross} {
		t.Run(mode, func(t *testing.T) {
			pl := toyPlan()
			pl.Target = 40
			pl.Attributes = AttributeSpace{Mode: mode, Attributes: []Attribute{
				{Name: "difficulty", Values: []string{"easy", "medium", "hard"}},
				{Name: "language", Values: []string{"English", "French"}},
			}}
			if mode == SampleWeighted {
				pl.Attributes.Attributes[0].Weights = []float64{1, 1, 5}
			}
			a, err := pl.Prompts()
			if err != nil {
				t.Fatal(err)
			}
			pl.Target = 80
			b, err := pl.Prompts()
			if err != nil {
				t.Fatal(err)
			}
			for i := range a {
				if !reflect.DeepEqual(a[i].Attributes, b[i].Attributes) || a[i].ID != b[i].ID && i < len(a)-1 {
					t.Fatalf("prompt %d: %v then %v", i, a[i].Attributes, b[i].Attributes)
				}
				if len(a[i].Attributes) != 2 {
					t.Fatalf("prompt %d has attributes %v", i, a[i].Attributes)
				}
				if !strings.Contains(a[i].Text, "- difficulty: "+a[i].Attributes["difficulty"]+"\n") {
					t.Fatalf("prompt %d text lacks its difficulty %q:\n%s", i, a[i].Attributes["difficulty"], a[i].Text)
				}
				prov := a[i].Provenance("m", nil, "", time.Time{})
				want := map[string]string{"difficulty": a[i].Attributes["difficulty"], "language": a[i].Attributes["language"],
					"topic": a[i].Condition.Topic, "style": a[i].Condition.Style}
				if !reflect.DeepEqual(prov.Attributes, want) {
					t.Fatalf("prompt %d provenance attributes %v, want %v", i, prov.Attributes, want)
				}
			}
		})
	}
}

// Attributes enter the prompt ID; without attributes the ID is unchanged.
func TestPromptIDAttributes(t *testing.T) {
	c := Condition{Topic: "t"}
	base := PromptID("h", "task", "", []string{"a"}, c, 3, 0)
	if got := PromptIDAttrs("h", "task", "", []string{"a"}, c, nil, 3, 0); got != base {
		t.Fatalf("no attributes: %s, want %s", got, base)
	}
	x := PromptIDAttrs("h", "task", "", []string{"a"}, c, map[string]string{"persona": "nurse"}, 3, 0)
	y := PromptIDAttrs("h", "task", "", []string{"a"}, c, map[string]string{"persona": "pilot"}, 3, 0)
	if x == base || x == y {
		t.Fatalf("attributes do not change the ID: %s %s %s", base, x, y)
	}
}

func TestRenderAttributesGolden(t *testing.T) {
	d := TemplateData{Task: DefaultTask, Condition: Condition{Topic: "cooking"},
		Attributes: map[string]string{"persona": "a retired pilot", "difficulty": "hard", "language": "French"},
		Demos:      sampleDemos()[:1], N: 2}
	var b strings.Builder
	for _, tm := range []*Template{DefaultTemplate(), CompletionTemplate()} {
		s, err := tm.Render(d)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "=== %s ===\n%s", tm.Name(), s)
	}
	golden(t, "attributes.golden", b.String())
}

func TestAttributeValidate(t *testing.T) {
	cases := []struct {
		name string
		s    AttributeSpace
		want string // "" for valid
	}{
		{"ok", AttributeSpace{Attributes: []Attribute{{Name: "persona", Values: []string{"a"}}}}, ""},
		{"bad name", AttributeSpace{Attributes: []Attribute{{Name: "1x", Values: []string{"a"}}}}, "must be a letter"},
		{"twice", AttributeSpace{Attributes: []Attribute{{Name: "x", Values: []string{"a"}}, {Name: "x", Values: []string{"b"}}}}, "given twice"},
		{"no values", AttributeSpace{Attributes: []Attribute{{Name: "x"}}}, "has no values"},
		{"empty value", AttributeSpace{Attributes: []Attribute{{Name: "x", Values: []string{"a", " "}}}}, "empty value"},
		{"weights count", AttributeSpace{Attributes: []Attribute{{Name: "x", Values: []string{"a", "b"}, Weights: []float64{1}}}}, "2 values but 1 weights"},
		{"negative weight", AttributeSpace{Attributes: []Attribute{{Name: "x", Values: []string{"a"}, Weights: []float64{-1}}}}, "non-negative"},
		{"zero weights", AttributeSpace{Attributes: []Attribute{{Name: "x", Values: []string{"a"}, Weights: []float64{0}}}}, "all 0"},
		{"uniform with weights", AttributeSpace{Mode: SampleUniform, Attributes: []Attribute{{Name: "x", Values: []string{"a"}, Weights: []float64{1}}}}, "use weighted"},
		{"mode", AttributeSpace{Mode: "zipf", Attributes: []Attribute{{Name: "x", Values: []string{"a"}}}}, "must be uniform, weighted or cross"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	pl := toyPlan()
	pl.Attributes = AttributeSpace{Attributes: []Attribute{{Name: "topic", Values: []string{"x"}}}}
	if _, err := pl.Prompts(); err == nil || !strings.Contains(err.Error(), "also a condition factor") {
		t.Fatalf("topic as both condition and attribute: %v", err)
	}
}

func TestLoadAttributeFile(t *testing.T) {
	cases := []struct {
		name, file, text string
		values           []string
		weights          []float64
		empty            bool   // error wraps ErrEmptyValue, values kept
		err              string // other error
	}{
		{"lines", "p.txt", "# personas\nteacher\n\nnurse\r\npilot\n", []string{"teacher", "nurse", "pilot"}, nil, false, ""},
		{"weighted lines", "d.txt", "easy\t1\nhard\t3\n", []string{"easy", "hard"}, []float64{1, 3}, false, ""},
		{"empty line value", "d.txt", "easy\t1\n\t2\nhard\t3\n", []string{"easy", "hard"}, []float64{1, 3}, true, ""},
		{"mixed tabs", "d.txt", "easy\t1\nhard\n", nil, nil, false, "either every value"},
		{"bad weight", "d.txt", "easy\tmany\n", nil, nil, false, `weight "many"`},
		{"json list", "l.json", `["en", "fr"]`, []string{"en", "fr"}, nil, false, ""},
		{"json list empty", "l.json", `["en", "", "fr"]`, []string{"en", "fr"}, nil, true, ""},
		{"json weights", "w.json", `{"fr": 1, "en": 2}`, []string{"en", "fr"}, []float64{2, 1}, false, ""},
		{"json bad", "w.json", `{"fr": "x"}`, nil, nil, false, "neither a JSON list"},
		{"jsonl", "l.jsonl", "\"a\"\n\"b\"\n", []string{"a", "b"}, nil, false, ""},
		{"jsonl empty", "l.jsonl", "\"a\"\n\"  \"\n\"b\"\n", []string{"a", "b"}, nil, true, ""},
		{"jsonl bad", "l.jsonl", "\"a\"\nb\n", nil, nil, false, "line 2 is not a JSON string"},
		{"nothing", "n.txt", "# only a comment\n\n", nil, nil, false, "holds no value"},
		{"only empty", "n.json", `["", " "]`, nil, nil, false, "holds no value"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := LoadAttributeFile("x", path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrEmptyValue) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if tc.empty != errors.Is(err, ErrEmptyValue) || !tc.empty && err != nil {
				t.Fatalf("error %v (empty value expected: %v)", err, tc.empty)
			}
			if !reflect.DeepEqual(a.Values, tc.values) || !reflect.DeepEqual(a.Weights, tc.weights) {
				t.Fatalf("got %v %v, want %v %v", a.Values, a.Weights, tc.values, tc.weights)
			}
		})
	}
}

func TestParseAttributeFlag(t *testing.T) {
	cases := []struct {
		in      string
		values  []string
		weights []float64
		empty   bool
		err     string
	}{
		{"persona=teacher,nurse", []string{"teacher", "nurse"}, nil, false, ""},
		{"difficulty=easy:1, hard:3", []string{"easy", "hard"}, []float64{1, 3}, false, ""},
		{"time=10:30,noon", []string{"10:30", "noon"}, nil, false, "has no :WEIGHT"},
		{"persona=teacher,,nurse", []string{"teacher", "nurse"}, nil, true, ""},
		{"persona=", nil, nil, false, "has no value"},
		{"=a", nil, nil, false, "must be NAME="},
		{"persona", nil, nil, false, "must be NAME="},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAttributeFlag(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if tc.empty != errors.Is(err, ErrEmptyValue) || !tc.empty && err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(a.Values, tc.values) || !reflect.DeepEqual(a.Weights, tc.weights) {
				t.Fatalf("got %v %v, want %v %v", a.Values, a.Weights, tc.values, tc.weights)
			}
		})
	}
}

// Loading any file content either fails with an error or gives a valid
// attribute; it never panics.
func FuzzLoadAttributeFile(f *testing.F) {
	for _, s := range []string{"a\nb\n", "a\t1\n\t2\n", `["a",""]`, `{"a":1}`, "\"x\"\n", "", "\t\t\n"} {
		f.Add(s, ".txt")
		f.Add(s, ".json")
		f.Add(s, ".jsonl")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text, ext string) {
		if ext != ".txt" && ext != ".json" && ext != ".jsonl" {
			return
		}
		path := filepath.Join(dir, "f"+ext)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := LoadAttributeFile("x", path)
		if err != nil && !errors.Is(err, ErrEmptyValue) {
			return
		}
		if verr := (AttributeSpace{Attributes: []Attribute{a}}).Validate(); verr != nil && !strings.Contains(verr.Error(), "weight") {
			t.Fatalf("loaded %+v is invalid: %v", a, verr)
		}
	})
}

func FuzzParseAttributeFlag(f *testing.F) {
	for _, s := range []string{"a=b,c", "a=b:1,c:2", "a=,", "a=b:-1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "=@") {
			return // reads files
		}
		a, err := ParseAttributeFlag(s)
		if err != nil && !errors.Is(err, ErrEmptyValue) {
			return
		}
		if len(a.Values) == 0 || len(a.Weights) != 0 && len(a.Weights) != len(a.Values) {
			t.Fatalf("%q gave %+v", s, a)
		}
	})
}
