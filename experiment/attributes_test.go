package experiment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/batchfake"
)

// The three forms of an attribute, and an attribute as a sweep axis: each
// configuration fixes the swept attribute to one value.
func TestAttributeSpecForms(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	y := fmt.Sprintf(`name: t
seed: 3
anchors: {path: %s}
generation:
  demos: 1
  per_prompt: 2
  target: 4
  attribute_sampling: cross
  attributes:
    persona: [teacher, nurse]
    tone: formal
    difficulty: {values: [easy, hard], weights: [1, 3]}
    language: {file: langs.txt}
generators: [{id: g, model: builtin:none}]
sweep:
  generation.attributes.persona: [teacher, nurse]
`, c.Anchors.Path)
	cfg, err := Parse(strings.NewReader(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]AttributeSpec{
		"persona":    {Values: []string{"teacher", "nurse"}},
		"tone":       {Values: []string{"formal"}},
		"difficulty": {Values: []string{"easy", "hard"}, Weights: []float64{1, 3}},
		"language":   {File: "langs.txt"},
	}
	if !reflect.DeepEqual(cfg.Generation.Attributes, want) {
		t.Fatalf("attributes %+v, want %+v", cfg.Generation.Attributes, want)
	}
	confs, err := cfg.Configurations()
	if err != nil {
		t.Fatal(err)
	}
	if len(confs) != 2 || confs[0].ID != "g_persona-teacher" || confs[1].ID != "g_persona-nurse" {
		t.Fatalf("configurations %v", confs)
	}
	for i, v := range []string{"teacher", "nurse"} {
		got := confs[i].Config.Generation.Attributes
		if !reflect.DeepEqual(got["persona"].Values, []string{v}) || !reflect.DeepEqual(got["difficulty"], want["difficulty"]) {
			t.Fatalf("configuration %d attributes %+v", i, got)
		}
	}

	bad := []struct{ gen, want string }{
		{"attributes: {persona: []}", "attribute persona has no values"},
		{"attributes: {persona: {values: [a, b], weights: [1]}}", "2 values but 1 weights"},
		{"attributes: {persona: [a, '']}", "empty value"},
		{"attributes: {9x: [a]}", "must be a letter"},
		{"attributes: {persona: [a]}, attribute_sampling: zipf", "must be uniform, weighted or cross"},
		{"attributes: {persona: {colour: red}}", "unknown key colour"},
	}
	for _, b := range bad {
		y := fmt.Sprintf("name: t\nanchors: {path: a.jsonl}\ngeneration: {demos: 0, per_prompt: 1, target: 1, %s}\ngenerators: [{id: g, model: builtin:none}]\n", b.gen)
		_, err := Parse(strings.NewReader(y), dir)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: got %v, want %q", b.gen, err, b.want)
		}
	}
	if _, err := Parse(strings.NewReader("name: t\nanchors: {path: a.jsonl}\ngeneration: {demos: 0, per_prompt: 1, target: 1}\ngenerators: [{id: g, model: builtin:none, batch: google}]\n"), dir); err == nil || !strings.Contains(err.Error(), "batch \"google\" must be openai or anthropic") {
		t.Errorf("batch google: %v", err)
	}
}

// fakeAnswer answers every request body with two distinct tasks.
func fakeAnswer(body []byte) []byte {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	text, _ := json.Marshal(fmt.Sprintf(`[{"instruction":"Describe thing %.8s for a curious reader.","context":"","response":"Thing %.8s."},`+
		`{"instruction":"Explain where thing %.8s comes from and why.","context":"","response":"From %.8s."}]`, h, h, h[8:], h[8:]))
	return fmt.Appendf(nil, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":20,"total_tokens":50}}`, text)
}

// The generate stage in batch mode (generators[].batch: openai) against
// the batch API fake: every request goes through a batch, none online;
// the records carry the swept and the sampled attributes; an empty value
// in the attribute file is one warning and the other values are used. A
// second run finds the stage done and pays nothing more.
func TestStageGenerateBatchAttributes(t *testing.T) {
	f := batchfake.New(fakeAnswer)
	t.Cleanup(f.Close)
	f.AutoStep = true
	t.Setenv("OPENAI_API_KEY", "test-key")
	dir := t.TempDir()
	anchors := writeAnchors(t, dir, 30)
	if err := os.WriteFile(filepath.Join(dir, "levels.jsonl"), []byte("\"easy\"\n\"\"\n\"hard\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`name: b
seed: 2
out: run
anchors: {path: %s, schema: record}
generation:
  demos: 1
  per_prompt: 2
  target: 16
  attribute_sampling: cross
  attributes:
    persona: x
    difficulty: {file: levels.jsonl}
generators: [{id: g, model: "%s/v1#m", batch: openai, batch_poll: 3ms}]
sweep:
  generation.attributes.persona: [teacher, nurse]
`, anchors, f.URL)
	cfg, err := Parse(strings.NewReader(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.checkInputs(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	for _, st := range []string{StageData, StageGenerate} {
		r, err := NewRunner(cfg, []byte(y), Options{Stage: st, Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Run(context.Background()); err != nil {
			t.Fatalf("stage %s: %v\n%s", st, err, log.String())
		}
	}
	if n := strings.Count(log.String(), "warning: generation.attributes: attribute difficulty"); n != 2 || !strings.Contains(log.String(), "empty value at line 2, left out (2 values kept)") {
		t.Fatalf("want one warning per configuration about line 2:\n%s", log.String())
	}
	if f.Online() != 0 || len(f.Paid()) != 16 {
		t.Fatalf("online requests %d, paid in batches %d; want 0 and 16", f.Online(), len(f.Paid()))
	}
	for _, persona := range []string{"teacher", "nurse"} {
		recs, _, err := dataset.ReadFile(filepath.Join(dir, "run", "configs", "g_persona-"+persona, genSynthetic), dataset.ReadOptions{Schema: "record"})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, r := range recs {
			a := r.Provenance.Attributes
			if a["persona"] != persona {
				t.Fatalf("record %s has persona %q in configuration %s", r.ID, a["persona"], persona)
			}
			count[a["difficulty"]]++
		}
		// 8 prompts over the 2 combinations of the cross product, 2 records each.
		if !reflect.DeepEqual(count, map[string]int{"easy": 8, "hard": 8}) {
			t.Fatalf("configuration %s: difficulties %v, want 8 easy and 8 hard", persona, count)
		}
	}
	r, err := NewRunner(cfg, []byte(y), Options{Stage: StageGenerate, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.Paid()) != 16 || f.Online() != 0 {
		t.Fatalf("the second run sent requests: paid %d, online %d", len(f.Paid()), f.Online())
	}
}

// The measure and report stages group by attribute: a sweep over persona
// gives one sweep group per persona, and the difficulty sampled inside
// each configuration gives sampled groups with the records generated and
// kept and the metrics measured on them alone (real curation, measure and
// report stages; generation writes fixed records).
func TestReportByAttribute(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	y := fmt.Sprintf(`name: t
seed: 3
out: %s
anchors: {path: %s, schema: record}
split: {test: 0.2, anchors: 20}
generation:
  demos: 2
  per_prompt: 5
  target: 40
  attributes: {persona: x, difficulty: [easy, hard]}
generators: [{id: g, model: builtin:none}]
measure: {metrics: [ngram, compression]}
sweep: {generation.attributes.persona: [teacher, nurse]}
`, filepath.Join(dir, "run"), c.Anchors.Path)
	cfg, err := Parse(strings.NewReader(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(cfg, []byte(y), Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.stage[StageTrain] = func(ctx context.Context, c *Configuration, dir string) error { return os.MkdirAll(dir, 0o755) }
	r.stage[StageJudge] = r.stage[StageTrain]
	r.stage[StageGenerate] = func(ctx context.Context, c *Configuration, dir string) error {
		persona := c.Config.Generation.Attributes["persona"].Values[0]
		var recs []dataset.Record
		for i := range 40 {
			d := []string{"easy", "hard"}[i%2]
			recs = append(recs, dataset.Record{ID: fmt.Sprintf("g%d", i), Instruction: words(2000 + i), Output: "x " + d,
				Provenance: dataset.Provenance{PromptID: fmt.Sprint(i / 5), Attributes: map[string]string{"persona": persona, "difficulty": d}}})
		}
		// Three exact duplicates of easy records for curation to remove.
		for i := range 3 {
			dup := recs[2*i]
			dup.ID = fmt.Sprintf("dup%d", i)
			recs = append(recs, dup)
		}
		if err := os.MkdirAll(filepath.Join(dir, "gen"), 0o755); err != nil {
			return err
		}
		return dataset.WriteFile(filepath.Join(dir, genSynthetic), recs, dataset.WriteOptions{})
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var res Results
	if err := readJSON(filepath.Join(dir, "run", "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range res.Report.Attributes {
		var ms []string
		for _, m := range g.Metrics {
			ms = append(ms, m.Name)
		}
		kept := ""
		if g.Kept != nil {
			kept = fmt.Sprintf(" kept %.4f", g.Kept.Value)
		}
		got[g.Attribute+"="+g.Value+"/"+g.Source] = fmt.Sprintf("%d configs, %d records%s, metrics %s", len(g.Configurations), g.Records, kept, strings.Join(ms, ","))
	}
	want := map[string]string{
		"persona=teacher/sweep":   "1 configs, 0 records, metrics ngram,compression",
		"persona=nurse/sweep":     "1 configs, 0 records, metrics ngram,compression",
		"difficulty=easy/sampled": fmt.Sprintf("2 configs, 46 records kept %.4f, metrics ngram,compression", 40.0/46),
		"difficulty=hard/sampled": "2 configs, 40 records kept 1.0000, metrics ngram,compression",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups:\n%v\nwant\n%v", got, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, "run", "report.md"))
	if err != nil || !strings.Contains(string(md), "### By difficulty") || !strings.Contains(string(md), "### By persona") {
		t.Fatalf("report.md lacks the attribute tables (%v)", err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "run", "report.html"))
	if err != nil || !strings.Contains(string(html), `<section id="attributes"`) {
		t.Fatalf("report.html lacks the attribute section (%v)", err)
	}
}
