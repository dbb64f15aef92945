package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/synth"
)

// promptsOf reads a run's prompts.jsonl.
func promptsOf(t *testing.T, dir string) []synth.Prompt {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "prompts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []synth.Prompt
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var p synth.Prompt
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestGenerateAttributesBuiltin generates with the built-in engine and two
// attributes over their cross product: the four prompts cover the four
// combinations exactly once, every record's provenance carries its
// prompt's attributes, and a second run gives every prompt the same
// attributes and every record the same provenance.
func TestGenerateAttributesBuiltin(t *testing.T) {
	model := testshared.StoriesPath(t)
	dir := t.TempDir()
	levels := filepath.Join(dir, "difficulty.txt")
	if err := os.WriteFile(levels, []byte("# levels\neasy\t1\nhard\t3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs [2][]synth.Prompt
	var recs [2]map[string]map[string]string
	for k := range 2 {
		out := filepath.Join(dir, "run"+string(rune('a'+k)))
		code, _, stderr := runCLI(genArgs("builtin:"+model, out, "--target", "40", "--per-prompt", "2", "--temperature", "1",
			"--max-tokens", "160", "--workers", "2", "--no-curate", "-q",
			"--attribute", "persona=teacher,nurse", "--attribute", "difficulty=@"+levels, "--attribute-sampling", "cross")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		runs[k] = promptsOf(t, out)
		byPrompt := map[string]map[string]string{}
		for _, p := range runs[k] {
			byPrompt[p.ID] = p.Attributes
		}
		recs[k] = map[string]map[string]string{}
		for _, r := range recordsOf(t, filepath.Join(out, "synthetic.jsonl")) {
			want, ok := byPrompt[r.Provenance.PromptID]
			if !ok || !reflect.DeepEqual(r.Provenance.Attributes, want) {
				t.Fatalf("record %s: provenance attributes %v, its prompt's %v", r.ID, r.Provenance.Attributes, want)
			}
			recs[k][r.ID] = r.Provenance.Attributes
		}
	}
	if len(runs[0]) != 20 {
		t.Fatalf("%d prompts, want 20", len(runs[0]))
	}
	seen := map[string]int{}
	for _, p := range runs[0] {
		seen[p.Attributes["persona"]+"/"+p.Attributes["difficulty"]]++
	}
	if want := map[string]int{"teacher/easy": 5, "teacher/hard": 5, "nurse/easy": 5, "nurse/hard": 5}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("cross product gave %v, want each of the 4 combinations 5 times", seen)
	}
	for i := range runs[0] {
		if runs[0][i].ID != runs[1][i].ID || !reflect.DeepEqual(runs[0][i].Attributes, runs[1][i].Attributes) {
			t.Fatalf("prompt %d differs between runs: %+v / %+v", i, runs[0][i].Attributes, runs[1][i].Attributes)
		}
	}
	if len(recs[0]) == 0 || !reflect.DeepEqual(recs[0], recs[1]) {
		t.Fatalf("records' attributes differ between runs (%d and %d records)", len(recs[0]), len(recs[1]))
	}
}

// An attribute file with an empty value: one warning line, the other
// values used; every other mistake is exit 2 with one line.
func TestGenerateAttributeInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "personas.txt")
	if err := os.WriteFile(file, []byte("teacher\t1\n\t4\nnurse\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := "http://127.0.0.1:1/v1#m" // never contacted
	code, stdout, stderr := runCLI(genArgs(model, "", "--dry-run", "--json", "--target", "40", "--per-prompt", "2", "--show", "20",
		"--attribute", "persona=@"+file)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "empty value at line 2, left out (2 values kept)") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q, want one warning about line 2", stderr)
	}
	var est synth.DryRunSummary
	if err := json.Unmarshal([]byte(stdout), &est); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range est.First {
		got[p.Attributes["persona"]] = true
	}
	if !reflect.DeepEqual(got, map[string]bool{"teacher": true, "nurse": true}) {
		t.Fatalf("personas drawn %v, want teacher and nurse", got)
	}

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--attribute", "persona"}, "must be NAME=VALUE"},
		{[]string{"--attribute", "persona=@" + filepath.Join(dir, "none.txt")}, "no such file"},
		{[]string{"--attribute", "persona=a", "--attribute", "persona=b"}, "given twice"},
		{[]string{"--attribute", "persona=a", "--attribute-sampling", "zipf"}, "must be uniform, weighted or cross"},
		{[]string{"--attribute", "persona=a:1,b:2", "--attribute-sampling", "uniform"}, "use weighted"},
		{[]string{"--attribute-sampling", "cross"}, "needs at least one --attribute"},
		{[]string{"--attribute", "topic=a", "--topics", "b"}, "repeats --topics"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(genArgs(model, dir, c.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", code, out, errOut, c.want)
			}
		})
	}
}
