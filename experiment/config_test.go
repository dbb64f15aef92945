package experiment

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseErrors(t *testing.T) {
	base := "name: x\nanchors: {path: a.jsonl}\ngeneration: {demos: 1, per_prompt: 2, target: 3}\ngenerators: [{id: g, model: builtin:m}]\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"unknown key", base + "tempreature: 1\n", "tempreature"},
		{"bad name", strings.Replace(base, "name: x", "name: a/b", 1), "name"},
		{"no anchors", strings.Replace(base, "anchors: {path: a.jsonl}", "anchors: {}", 1), "anchors.path"},
		{"no generators", strings.Replace(base, "generators: [{id: g, model: builtin:m}]", "generators: []", 1), "generator"},
		{"duplicate id", strings.Replace(base, "[{id: g, model: builtin:m}]", "[{id: g, model: a}, {id: g, model: b}]", 1), "twice"},
		{"bad mode", strings.Replace(base, "model: builtin:m}", "model: builtin:m, mode: fast}", 1), "mode"},
		{"bad target", strings.Replace(base, "target: 3", "target: 0", 1), "target"},
		{"bad mix", base + "students: {base: m, mixes: ['1-1']}\n", "mix"},
		{"judge model", base + "judge: {questions: 3}\n", "judge.model"},
		{"judge misspelt truncate", base + "judge: {model: m, truncat: false}\n", "truncat"},
		{"judge truncate type", base + "judge: {model: m, truncate: sometimes}\n", "sometimes"},
		{"judge negative questions", base + "judge: {model: m, questions: -1}\n", "judge.questions"},
		{"wrong type", strings.Replace(base, "demos: 1", "demos: many", 1), "many"},
		{"empty sweep", base + "sweep: {generation.demos: []}\n", "no values"},
		{"concurrency word", strings.Replace(base, "model: builtin:m}", "model: builtin:m, concurrency: many}", 1), "concurrency must be a whole number of at least 1 or auto"},
		{"concurrency zero", strings.Replace(base, "model: builtin:m}", "model: builtin:m, concurrency: 0}", 1), "concurrency must be"},
		{"concurrency list", strings.Replace(base, "model: builtin:m}", "model: builtin:m, concurrency: [auto]}", 1), "concurrency must be"},
		{"base_urls builtin", strings.Replace(base, "model: builtin:m}", "model: builtin:m, base_urls: [http://h:1/v1]}", 1), "base_urls needs an http(s)"},
		{"base_urls not http", strings.Replace(base, "model: builtin:m}", "model: 'http://a:1/v1#m', base_urls: [ftp://h/v1]}", 1), "not an http(s) URL"},
		{"base_urls batch", strings.Replace(base, "model: builtin:m}", "model: 'http://a:1/v1#m', batch: openai, base_urls: [http://h:1/v1]}", 1), "batch"},
		{"concurrency auto", strings.Replace(base, "model: builtin:m}", "model: builtin:m, concurrency: auto}", 1), ""},
		{"base_urls", strings.Replace(base, "model: builtin:m}", "model: 'http://a:1/v1#m', base_urls: ['http://b:1/v1', 'http://c:1/v1']}", 1), ""},
		{"ok", base, ""},
	}
	for _, tc := range cases {
		_, err := Parse(strings.NewReader(tc.yaml), ".")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
}

// judge.truncate defaults to true, can be turned off, and changes the
// judge's fingerprint (so verdicts are not reused across the setting).
func TestJudgeTruncateSetting(t *testing.T) {
	base := "name: x\nanchors: {path: a.jsonl}\ngeneration: {demos: 1, per_prompt: 2, target: 3}\ngenerators: [{id: g, model: builtin:m}]\n"
	cases := []struct {
		judge string
		want  bool
	}{
		{"judge: {model: m}\n", true},
		{"judge: {model: m, truncate: true}\n", true},
		{"judge: {model: m, truncate: false}\n", false},
	}
	fps := map[bool]string{}
	for _, tc := range cases {
		c, err := Parse(strings.NewReader(base+tc.judge), ".")
		if err != nil {
			t.Fatalf("%q: %v", tc.judge, err)
		}
		if got := c.Judge.Truncates(); got != tc.want {
			t.Errorf("%q: Truncates() = %v, want %v", tc.judge, got, tc.want)
		}
		fp := judgeFingerprint(c.Judge)
		if prev, ok := fps[tc.want]; ok && prev != fp {
			t.Errorf("%q: fingerprint %s differs from the equivalent setting's %s", tc.judge, fp, prev)
		}
		fps[tc.want] = fp
	}
	if fps[true] == fps[false] {
		t.Error("truncate on and off share a judge fingerprint")
	}
}

func TestConfigurations(t *testing.T) {
	// Load checks that the files the experiment names exist.
	sharedFile(t, "models", "stories260K", "stories260K.bin")
	sharedFile(t, "data", "self-instruct", "seed_tasks.jsonl")
	c, err := Load("testdata/sweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	confs, err := c.Configurations()
	if err != nil {
		t.Fatal(err)
	}
	// 2 generators × 2 topic lists × 2 demos: generator slowest, then the
	// sorted keys (generation.conditions.topics < generation.demos).
	want := []string{
		"small_topics-a-b_demos-3", "small_topics-a-b_demos-10", "small_topics-c_demos-3", "small_topics-c_demos-10",
		"api_topics-a-b_demos-3", "api_topics-a-b_demos-10", "api_topics-c_demos-3", "api_topics-c_demos-10",
	}
	if len(confs) != len(want) {
		t.Fatalf("%d configurations, want %d", len(confs), len(want))
	}
	for i, cf := range confs {
		if cf.ID != want[i] {
			t.Errorf("configuration %d: id %q, want %q", i, cf.ID, want[i])
		}
	}
	c3 := confs[1].Config
	if c3.Generation.Demos != 10 || strings.Join(c3.Generation.Conditions.Topics, ",") != "a,b" {
		t.Errorf("sweep values not applied: %+v", c3.Generation)
	}
	if c3.Generation.PerPrompt != 4 || c3.Seed != 7 || c3.Sweep != nil || c3.Dir() != "testdata" {
		t.Errorf("other settings changed: %+v", c3)
	}
	if confs[5].Generator.ID != "api" || confs[0].Generator.Temperature != 0.8 {
		t.Errorf("generators: %+v %+v", confs[5].Generator, confs[0].Generator)
	}
	if got := c.Resolve(confs[0].Generator.Model); got != "builtin:../../shared/models/stories260K/stories260K.bin" {
		t.Errorf("resolve: %s", got)
	}
	// A list element can be swept.
	c.Sweep = map[string][]any{"generators.1.temperature": {0.5, 1.5}}
	confs, err = c.Configurations()
	if err != nil {
		t.Fatal(err)
	}
	if len(confs) != 4 || confs[3].Generator.ID != "api" || confs[3].Generator.Temperature != 1.5 || confs[1].Generator.Temperature != 0.8 {
		t.Errorf("list sweep: %+v", confs)
	}
	// The original is untouched.
	if c.Generation.Demos != 3 {
		t.Errorf("base config changed: %d", c.Generation.Demos)
	}
}

func TestSweepErrors(t *testing.T) {
	base := "name: x\nanchors: {path: a.jsonl}\ngeneration: {demos: 1, per_prompt: 2, target: 3}\ngenerators: [{id: g, model: m}]\n"
	for _, tc := range []struct{ sweep, want string }{
		{"sweep: {generator: [nope]}", "no generator"},
		{"sweep: {generation.demos: [x]}", "sweep"},
		{"sweep: {generation.demos.deeper: [1]}", "not a section"},
		{"sweep: {generation.target: [0]}", "target"},
		{"sweep: {generators.3.temperature: [1]}", "no element"},
	} {
		c, err := Parse(strings.NewReader(base+tc.sweep+"\n"), ".")
		if err == nil {
			_, err = c.Configurations()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.sweep, err, tc.want)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		r, s float64
		ok   bool
	}{
		{"1:0", 1, 0, true}, {"4:1", 4, 1, true}, {" 1 : 1 ", 1, 1, true}, {"0:1", 0, 1, true},
		{"0:0", 0, 0, false}, {"-1:2", 0, 0, false}, {"1", 0, 0, false}, {"a:b", 0, 0, false},
	} {
		r, s, err := ParseMix(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (r != tc.r || s != tc.s)) {
			t.Errorf("%q: %v %v %v", tc.in, r, s, err)
		}
	}
}

func TestParseShard(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"", Shard{}, true}, {"0/1", Shard{0, 1}, true}, {"1/3", Shard{1, 3}, true}, {"auto/4", Shard{2, 4}, true},
		{"3/3", Shard{}, false}, {"-1/2", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false}, {"0/0", Shard{}, false},
	} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	for _, tc := range []struct {
		id, min string
		want    Shard
		ok      bool
	}{
		{"1", "", Shard{1, 3}, true}, {"3", "1", Shard{2, 3}, true}, {"4", "1", Shard{}, false}, {"", "", Shard{}, false},
	} {
		t.Setenv("SLURM_ARRAY_TASK_ID", tc.id)
		t.Setenv("SLURM_ARRAY_TASK_MIN", tc.min)
		got, err := ParseShard("auto/3")
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("SLURM_ARRAY_TASK_ID=%q MIN=%q: %+v %v", tc.id, tc.min, got, err)
		}
	}
	s := Shard{1, 3}
	var owned []int
	for i := range 8 {
		if s.Owns(i) {
			owned = append(owned, i)
		}
	}
	if len(owned) != 3 || owned[0] != 1 || owned[1] != 4 || owned[2] != 7 {
		t.Errorf("shard 1/3 owns %v", owned)
	}
}

// Every example experiment parses strictly and expands its sweep.
func TestExamplesLoad(t *testing.T) {
	// Load checks that the files the examples name in ../shared exist.
	sharedFile(t, "models", "stories260K", "stories260K.bin")
	sharedFile(t, "data", "self-instruct", "seed_tasks.jsonl")
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	want := map[string]int{"app-g-dolly.yaml": 3, "offline.yaml": 6}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		confs, err := c.Configurations()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if n, ok := want[filepath.Base(f)]; ok && len(confs) != n {
			t.Errorf("%s: %d configurations, want %d", f, len(confs), n)
		}
	}
}

// The curation keys of `ggmi curate` parse, and a different filter list
// changes the curate stage's fingerprint.
func TestCurationSwitchesParse(t *testing.T) {
	base := "name: x\nanchors: {path: a.jsonl}\ngeneration: {demos: 1, per_prompt: 2, target: 3}\ngenerators: [{id: g, model: builtin:m}]\n"
	c, err := Parse(strings.NewReader(base+"curation: {filters: [length, exact-dedup], keywords_file: kw.txt, min_words: 2, max_words: 80, rouge: 0.6}\n"), "/data")
	if err != nil {
		t.Fatal(err)
	}
	cs := c.Curation
	if strings.Join(cs.Filters, ",") != "length,exact-dedup" || cs.KeywordsFile != "kw.txt" || cs.MinWords != 2 || cs.MaxWords != 80 || cs.Rouge != 0.6 {
		t.Fatalf("curation %+v", cs)
	}
	if got := c.Resolve(cs.KeywordsFile); got != "/data/kw.txt" {
		t.Errorf("keywords file resolves to %s", got)
	}
	other := cs
	other.Filters = []string{"length"}
	if fingerprint(cs) == fingerprint(other) {
		t.Error("filter lists share a fingerprint")
	}
	if _, err := Parse(strings.NewReader(base+"curation: {filtres: [length]}\n"), "."); err == nil {
		t.Error("a misspelt curation key is accepted")
	}
}

// TestGeneratorConcurrency: generators[].concurrency takes a number or
// auto, in YAML and JSON, and writes back what it read.
func TestGeneratorConcurrency(t *testing.T) {
	base := "name: x\nanchors: {path: a.jsonl}\ngeneration: {demos: 1, per_prompt: 2, target: 3}\ngenerators: [{id: g, model: builtin:m, concurrency: %s}]\n"
	for _, tc := range []struct {
		in   string
		want Concurrency
		json string
	}{{"auto", ConcurrencyAuto, `"auto"`}, {"16", 16, "16"}, {"1", 1, "1"}} {
		c, err := Parse(strings.NewReader(fmt.Sprintf(base, tc.in)), ".")
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		g := c.Generators[0]
		if g.Concurrency != tc.want {
			t.Fatalf("%s: read %d, want %d", tc.in, g.Concurrency, tc.want)
		}
		b, err := json.Marshal(g)
		if err != nil || !strings.Contains(string(b), `"concurrency":`+tc.json) {
			t.Fatalf("%s: JSON %s (%v)", tc.in, b, err)
		}
		var back GeneratorSpec
		if err := json.Unmarshal(b, &back); err != nil || back.Concurrency != tc.want {
			t.Fatalf("%s: JSON round trip %d (%v)", tc.in, back.Concurrency, err)
		}
		y, err := yaml.Marshal(g)
		if err != nil || !strings.Contains(string(y), "concurrency: "+tc.in) {
			t.Fatalf("%s: YAML %s (%v)", tc.in, y, err)
		}
	}
	var c Concurrency
	if err := json.Unmarshal([]byte(`"fast"`), &c); err == nil {
		t.Error(`JSON "fast" accepted as a concurrency`)
	}
}
