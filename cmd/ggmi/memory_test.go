package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// Flag values that would exhaust the memory of generate, curate and textlab
// are refused before anything is allocated, with one sentence naming the
// estimate and the flag to change; ordinary values pass the same check.
func TestMemoryBoundsGenerateCurateTextlab(t *testing.T) {
	shared := testshared.Path(t)
	model := "builtin:" + testshared.StoriesPath(t)
	dir := t.TempDir()
	anchors := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(anchors, []byte(`{"instruction":"say a b c d","output":"ok"}`+"\n"+`{"instruction":"say e f g h","output":"ok"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := []string{"generate", "--anchors", anchors, "--demos", "1", "--model", model, "--dry-run", "-q"}
	big := filepath.Join(dir, "big.jsonl")
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		b.WriteString(`{"instruction":"write a short poem about the number ` + strconv.Itoa(i) + `","output":"ok"}` + "\n")
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string // "" for a run that passes the check
	}{
		{"generate target", append(gen, "--target", "2000000000", "--per-prompt", "1"), "lower --target"},
		{"generate max-tokens", append(gen, "--max-tokens", "2000000000"), "lower --max-tokens or --n"},
		{"generate workers", append(gen, "--workers", "100000000"), "lower --workers"},
		{"generate limit", append(gen, "--max-memory", "1M"), "raise --max-memory"},
		{"generate ordinary", append(gen, "--target", "100", "--max-memory", "1G"), ""},
		{"curate big input", []string{"curate", big, "--out", filepath.Join(dir, "c"), "--max-memory", "32M", "-q"}, "use smaller inputs or raise --max-memory"},
		{"curate ordinary", []string{"curate", big, "--out", filepath.Join(dir, "c"), "--max-memory", "1G", "-q", "--filters", "none"}, ""},
		{"textlab seeds", []string{"textlab", "--shared", shared, "--out", "", "--gmm-lab", "", "--seeds", "2000000000"}, "lower --seeds"},
		{"textlab limit", []string{"textlab", "--shared", shared, "--out", "", "--gmm-lab", "", "--quick", "--max-memory", "16M"}, "raise --max-memory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(c.args...)
			if c.want == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				return
			}
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			oneSentence(t, errOut)
			if !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "would need about") {
				t.Errorf("stderr %q, want %q and the estimate", errOut, c.want)
			}
		})
	}
}
