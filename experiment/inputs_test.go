package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A broken experiment file gets every problem at once, before any stage.
func TestLoadReportsEveryInputProblem(t *testing.T) {
	dir := t.TempDir()
	y := `name: broken
anchors:
  path: missing-anchors.jsonl
generation:
  demos: 1
  per_prompt: 1
  target: 2
generators:
  - id: a
    model: builtin:no-such-model.bin
students:
  base: builtin:no-such-base.bin
  steps: -5
  lr: -1
`
	p := filepath.Join(dir, "e.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"anchors.path: ", "missing-anchors.jsonl does not exist", "generators[0].model: ", "students.base: ",
		"students.steps must not be negative (got -5)", "students.lr must not be negative (got -1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %q", err, want)
		}
	}
}
