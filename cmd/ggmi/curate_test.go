package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

func sharedData(t *testing.T, parts ...string) string {
	t.Helper()
	p := testshared.Path(t, append([]string{"data"}, parts...)...)
	return p
}

// ggmi curate on the real self-instruct files: every record is either kept
// or removed, the files agree with the summary, and the ROUGE-L filter
// compares with the anchors.
func TestCurateRealData(t *testing.T) {
	in := sharedData(t, "self-instruct", "user_oriented_instructions.jsonl")
	anchors := sharedData(t, "self-instruct", "seed_tasks.jsonl")
	test := sharedData(t, "mt-bench", "question.jsonl")
	out := t.TempDir()
	code, stdout, stderr := runCLI("curate", in, "--schema", "self-instruct", "--against", anchors,
		"--against-schema", "self-instruct", "--decontaminate", test, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum curationSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("stdout is not the summary: %v\n%s", err, stdout)
	}
	if sum.Input.Records != 252 || sum.Kept+sum.Removed != 252 || sum.Removed == 0 {
		t.Fatalf("summary %+v", sum)
	}
	var removed, rouge int
	for _, r := range sum.Filters {
		removed += r.Removed
		if r.Filter == "rouge-l" {
			rouge = r.Removed
		}
	}
	if removed != sum.Removed || rouge == 0 {
		t.Fatalf("filters removed %d (rouge-l %d), summary says %d", removed, rouge, sum.Removed)
	}
	for name, want := range map[string]int{"curated.jsonl": sum.Kept, "removed.jsonl": sum.Removed} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(b), "\n"); got != want {
			t.Errorf("%s has %d lines, want %d", name, got, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "removed.jsonl"))
	if !strings.Contains(string(b), "curate_filter") {
		t.Error("removed records do not say which filter removed them")
	}
}

func TestCurateBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"instruction\":\"a b c d\",\"output\":\"x\"}\n{broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"curate", filepath.Join(dir, "missing.jsonl"), "--out", dir}, "no such file"},
		{[]string{"curate", bad, "--out", dir}, "line 2"},
		{[]string{"curate", bad}, "--out is required"},
		{[]string{"curate", bad, "--out", dir, "--rouge", "2"}, "--rouge and --near"},
	} {
		code, _, stderr := runCLI(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// --filters, --keywords-file and the length bounds take effect and are
// recorded in curation.json.
func TestCurateFilterSwitches(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"instruction":"Describe the video of the launch in detail","output":"x"}
{"instruction":"Explain how tides are caused by the moon","output":"y"}
`), 0o644)
	kw := filepath.Join(dir, "kw.txt")
	os.WriteFile(kw, []byte("tides\n"), 0o644)
	for _, c := range []struct {
		args []string
		kept int
	}{
		{nil, 1},
		{[]string{"--filters", "length,exact-dedup"}, 2},
		{[]string{"--keywords-file", kw}, 1},
		{[]string{"--filters", "none"}, 2},
		{[]string{"--max-words", "7"}, 0},
	} {
		out := t.TempDir()
		code, _, stderr := runCLI(append([]string{"curate", in, "--out", out}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		var sum curationSummary
		b, _ := os.ReadFile(filepath.Join(out, "curation.json"))
		if err := json.Unmarshal(b, &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Kept != c.kept {
			t.Errorf("%v: kept %d, want %d", c.args, sum.Kept, c.kept)
		}
		if len(c.args) > 1 && c.args[0] == "--filters" && strings.Join(sum.Config.Filters, ",") != strings.ReplaceAll(c.args[1], "none", "") {
			t.Errorf("%v: recorded filters %v", c.args, sum.Config.Filters)
		}
		if len(c.args) > 1 && c.args[0] == "--keywords-file" && (sum.Config.KeywordsFile != kw || len(sum.Config.Keywords) != 1) {
			t.Errorf("keyword file not recorded: %+v", sum.Config)
		}
	}
	code, _, stderr := runCLI("curate", in, "--out", t.TempDir(), "--filters", "nonsense")
	if code != 2 || !strings.Contains(stderr, "unknown filter") {
		t.Errorf("unknown filter: exit %d, %q", code, stderr)
	}
}
