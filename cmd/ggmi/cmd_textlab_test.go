package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/textlab"
)

func TestTextlabBadArguments(t *testing.T) {
	badLab := t.TempDir()
	if err := os.WriteFile(filepath.Join(badLab, "summary.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"textlab", "--seeds", "-1", "--shared", t.TempDir()}, "--seeds and --steps must be at least 1"},
		{[]string{"textlab", "--steps", "-3", "--shared", t.TempDir()}, "--seeds and --steps must be at least 1"},
		{[]string{"textlab", "--shared", filepath.Join(t.TempDir(), "absent"), "--quick"}, "is missing"},
		{[]string{"textlab", "--workers", "-1", "--quick"}, "workers must be at least 0"},
		{[]string{"textlab", "extra"}, "unknown command"},
		{[]string{"textlab", "--gmm-lab", badLab, "--quick"}, "--gmm-lab " + badLab},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// ggmi textlab --quick on the shared data writes result.json and
// textlab.md and prints the result as JSON.
func TestTextlabQuickCLI(t *testing.T) {
	shared := filepath.Dir(sharedData(t))
	if _, err := os.Stat(filepath.Join(shared, "models", "stories260K", "stories260K.bin")); err != nil {
		t.Skipf("shared model absent (%v); CI has it beside the repository", err)
	}
	lab := t.TempDir()
	if code, _, stderr := runCLI("simulate", "--sweep", "K", "--from", "2", "--to", "4", "--rounds", "4", "--mc-samples", "200", "--out", lab, "-q"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	out := t.TempDir()
	code, stdout, stderr := runCLI("textlab", "--shared", shared, "--out", out, "--quick", "--gmm-lab", lab, "--json", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res textlab.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not the result: %v", err)
	}
	if len(res.Points) == 0 || len(res.Trends) == 0 || res.Options.Seeds != 1 {
		t.Fatalf("result %+v", res)
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil || string(b) != stdout {
		t.Fatalf("result.json differs from stdout (%v)", err)
	}
	md, err := os.ReadFile(filepath.Join(out, "textlab.md"))
	if err != nil || !strings.Contains(string(md), "## Text lab") || !strings.Contains(string(md), "### Next to the GMM lab") {
		t.Fatalf("textlab.md: %v\n%s", err, md)
	}
}
