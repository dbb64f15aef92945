package experiment

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/broken")

// Each broken experiment file under testdata/broken gets every mistake at
// once, each at its line in the user's file, before any stage runs; a
// mistake shared by every configuration of a sweep is reported once; no
// message shows Go's type names or map syntax. The expected messages are
// the .golden files beside the experiments (go test -run
// TestBrokenExperiments -update rewrites them).
func TestBrokenExperiments(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no broken experiments: %v", err)
	}
	// Settings the golden files must hold, beyond matching them: the
	// lines that make each case's point.
	musts := map[string][]string{
		"many.yaml": {
			"many.yaml:3: anchors.path: ", "many.yaml:7: generation.target must be at least 1 (got 0)",
			"many.yaml:10: generators[0].model: ", "many.yaml:11: unknown key temperture",
			"many.yaml:13: curation.rouge", "many.yaml:15: students.base: ", "is not a model ggmi can load",
			"many.yaml:16: students.steps must not be negative (got -5)", "many.yaml:20: judge.questions",
		},
		"sweep.yaml": {
			"sweep.yaml:12: sweep.generation.demoz: generation has no setting demoz",
			"sweep.yaml:15: sweep.generation.target value -1: generation.target must be at least 1 (got -1)",
			"sweep.yaml:16: sweep.generation.demos value many: \"many\" is not a whole number",
			"sweep.yaml:17: sweep.generator: no generator has the id \"b\"",
			"sweep.yaml:18: sweep.generators.3.temperature: generators: no element 3 in a list of 1",
		},
		"common.yaml": {"common.yaml:10: generators[0].model: ", "common.yaml:12: generators[1].model: "},
		"syntax.yaml": {"syntax.yaml:3: "},
		"empty.yaml":  {"empty.yaml: the file is empty"},
		"types.yaml":  {"types.yaml:5: \"ten\" is not a whole number", "types.yaml:13: students.mixes: ", "types.yaml:14: \"one\" is not a list"},
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			_, err := Load(f)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load: %v, want a *ValidationError", err)
			}
			got := err.Error() + "\n"
			for _, bad := range []string{"experiment.", "map[", "( schema)", "%!", "yaml: line", "unmarshal errors", "{", "<nil>"} {
				if strings.Contains(got, bad) {
					t.Errorf("message shows Go internals (%q):\n%s", bad, got)
				}
			}
			for _, want := range musts[name] {
				if !strings.Contains(got, want) {
					t.Errorf("lacks %q:\n%s", want, got)
				}
			}
			if _, ok := musts[name]; !ok {
				t.Errorf("no expectations for %s: add them to the table", name)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// The missing model of common.yaml is in every one of its six
// configurations and is reported once per setting naming it, not once per
// configuration.
func TestCommonMistakeOnce(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "broken", "common.yaml"))
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "missing.gguf does not exist"); n != 2 {
		t.Errorf("the missing model is reported %d times, want 2 (one per generator):\n%v", n, err)
	}
}

// A model file whose header loads passes; the check reads the header only.
func TestModelHeaderChecked(t *testing.T) {
	model := sharedFile(t, "models", "stories260K", "stories260K.bin")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte(`{"instruction":"x","output":"y"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(model)
	if err != nil {
		t.Fatal(err)
	}
	y := "name: ok\nanchors: {path: a.jsonl}\ngeneration: {demos: 0, per_prompt: 1, target: 1}\ngenerators: [{id: g, model: builtin:" + abs + "}]\nstudents: {base: " + abs + "}\n"
	p := filepath.Join(dir, "e.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
}
