package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

// words builds distinct instructions that share few words, so that only
// the duplicates the tests plant are curated away.
func words(i int) string {
	x := uint64(i)*0x9E3779B97F4A7C15 + 1
	var b strings.Builder
	b.WriteString("Explain")
	for range 9 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, " w%c%c%c", 'a'+x%26, 'a'+(x/26)%26, 'a'+(x/676)%26)
	}
	return b.String()
}

// writeAnchors writes n records to a JSONL file and returns its path.
func writeAnchors(t *testing.T, dir string, n int) string {
	t.Helper()
	recs := make([]dataset.Record, n)
	for i := range recs {
		recs[i] = dataset.Record{ID: fmt.Sprintf("a%03d", i), Instruction: words(i), Output: fmt.Sprintf("answer %d", i), Category: []string{"qa", "brainstorm"}[i%2]}
	}
	path := filepath.Join(dir, "anchors.jsonl")
	if err := dataset.WriteFile(path, recs, dataset.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// counting replaces the stages after curation with counters, and
// generation with a deterministic writer, so the framework can be tested
// without a model.
type counting struct {
	mu    sync.Mutex
	calls map[string]int
	fail  string // configuration whose measure stage fails
}

func (cn *counting) install(r *Runner) {
	cn.calls = map[string]int{}
	count := func(st string) stageFunc {
		return func(ctx context.Context, c *Configuration, dir string) error {
			cn.mu.Lock()
			id := ""
			if c != nil {
				id = c.ID
			}
			cn.calls[st+"/"+id]++
			cn.mu.Unlock()
			if st == StageMeasure && c != nil && c.ID == cn.fail {
				return errors.New("injected failure")
			}
			return os.MkdirAll(dir, 0o755)
		}
	}
	for _, st := range []string{StageMeasure, StageTrain, StageJudge, StageReport} {
		r.stage[st] = count(st)
	}
	gen := count(StageGenerate)
	r.stage[StageGenerate] = func(ctx context.Context, c *Configuration, dir string) error {
		if err := gen(ctx, c, dir); err != nil {
			return err
		}
		n := c.Config.Generation.Target
		recs := make([]dataset.Record, n)
		for i := range recs {
			recs[i] = dataset.Record{ID: fmt.Sprintf("g%d", i), Instruction: words(1000 + i*c.Config.Generation.Demos), Output: "x"}
		}
		// One exact duplicate for curation to remove.
		recs = append(recs, recs[0])
		recs[n].ID = "dup"
		return dataset.WriteFile(filepath.Join(dir, genSynthetic), recs, dataset.WriteOptions{})
	}
}

func (cn *counting) total(st string) int {
	n := 0
	for k, v := range cn.calls {
		if strings.HasPrefix(k, st+"/") {
			n += v
		}
	}
	return n
}

func testConfig(t *testing.T, dir string, extra string) *Config {
	t.Helper()
	anchors := writeAnchors(t, dir, 50)
	y := fmt.Sprintf(`name: t
seed: 3
out: %s
anchors: {path: %s, schema: record}
split: {test: 0.2, anchors: 20, stratify: category}
generation: {demos: 2, per_prompt: 5, target: 10}
generators: [{id: g, model: builtin:none}]
sweep: {generation.demos: [2, 3, 4]}
%s`, filepath.Join(dir, "run"), anchors, extra)
	c, err := Parse(strings.NewReader(y), dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestRunner(t *testing.T, c *Config, opt Options) (*Runner, *counting) {
	t.Helper()
	r, err := NewRunner(c, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	cn := &counting{}
	cn.install(r)
	return r, cn
}

func TestRunnerStagesAndResume(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	r, cn := newTestRunner(t, c, Options{Version: "test"})
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for st, want := range map[string]int{StageGenerate: 3, StageMeasure: 3, StageTrain: 3, StageJudge: 3, StageReport: 1} {
		if got := cn.total(st); got != want {
			t.Errorf("%s ran %d times, want %d", st, got, want)
		}
	}
	var sum DataSummary
	if err := readJSON(filepath.Join(r.Dir(), "data", "data.json"), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Train != 40 || sum.Test != 10 || sum.Anchors != 20 {
		t.Errorf("data split %+v, want 40 train, 10 test, 20 anchors", sum)
	}
	var cur CurationSummary
	if err := readJSON(filepath.Join(r.ConfigDir(r.Configurations()[0].ID), curationFile), &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Input != 11 || cur.Kept != 10 || cur.Removed != 1 {
		t.Errorf("curation %+v, want the duplicate removed", cur)
	}
	m := r.Manifest()
	if len(m.Stages) != 1+5*3+1 || m.Inputs[0].SHA256 == "" || len(m.Configurations) != 3 {
		t.Errorf("manifest: %d stages, inputs %+v", len(m.Stages), m.Inputs)
	}

	// A second run does nothing.
	r2, cn2 := newTestRunner(t, c, Options{Version: "test"})
	if err := r2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cn2.calls) != 0 {
		t.Errorf("rerun repeated work: %v", cn2.calls)
	}

	// Changing the curation reruns curation and what reads it, not generation.
	c3 := testConfig(t, dir, "curation: {rouge: 0.9}\n")
	r3, cn3 := newTestRunner(t, c3, Options{Version: "test"})
	if err := r3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cn3.total(StageGenerate) != 0 || cn3.total(StageMeasure) != 3 || cn3.total(StageJudge) != 3 || cn3.total(StageReport) != 1 {
		t.Errorf("after a curation change: %v", cn3.calls)
	}

	// --stage runs one stage; --force reruns it.
	r4, cn4 := newTestRunner(t, c3, Options{Stage: StageMeasure, Force: true})
	if err := r4.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cn4.calls) != 3 || cn4.total(StageMeasure) != 3 {
		t.Errorf("--stage measure: %v", cn4.calls)
	}
}

func TestRunnerStageNeedsUpstream(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	r, _ := newTestRunner(t, c, Options{Stage: StageCurate})
	err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "has not completed") {
		t.Errorf("got %v, want a missing-upstream error", err)
	}
	if _, err := NewRunner(c, nil, Options{Stage: "nope"}); err == nil {
		t.Error("unknown stage accepted")
	}
}

func TestRunnerFailureIsolated(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	r, cn := newTestRunner(t, c, Options{})
	cn.fail = r.Configurations()[1].ID
	err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), cn.fail) {
		t.Fatalf("got %v, want the failing configuration named", err)
	}
	if cn.total(StageTrain) != 2 || cn.calls[StageTrain+"/"+cn.fail] != 0 {
		t.Errorf("train calls %v: the failed configuration must stop, the others go on", cn.calls)
	}
}

func TestShardsAndMerge(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "")
	var shardDirs []string
	owned := map[string]int{}
	for i := range 2 {
		cs := *c
		cs.Out = filepath.Join(dir, fmt.Sprintf("shard%d", i))
		r, cn := newTestRunner(t, &cs, Options{Shard: Shard{Index: i, Count: 2}})
		if err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if cn.total(StageReport) != 0 {
			t.Error("a shard ran the report")
		}
		for k := range cn.calls {
			if id, ok := strings.CutPrefix(k, StageGenerate+"/"); ok {
				owned[id]++
			}
		}
		if _, err := os.Stat(filepath.Join(cs.Out, "manifest."+fmt.Sprintf("%d-of-2", i)+".json")); err != nil {
			t.Error(err)
		}
		shardDirs = append(shardDirs, cs.Out)
	}
	if len(owned) != 3 {
		t.Fatalf("shards generated %v, want each of 3 configurations once", owned)
	}
	for id, n := range owned {
		if n != 1 {
			t.Errorf("%s generated %d times", id, n)
		}
	}
	merged, err := Merge(c.RunDir(), shardDirs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != 3 {
		t.Errorf("merged %v", merged)
	}
	// After the merge (and the deterministic data stage) only the report
	// is left to do.
	r, cn := newTestRunner(t, c, Options{})
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cn.total(StageGenerate) != 0 || cn.total(StageMeasure) != 0 || cn.total(StageReport) != 1 {
		t.Errorf("after merge: %v", cn.calls)
	}
}

// Merge brings the shared baseline along when the destination lacks it,
// pointing its pointers at the copies, and keeps the destination's own.
func TestMergeBaseline(t *testing.T) {
	root := t.TempDir()
	shard := filepath.Join(root, "mnt", "shard0") // mounted elsewhere than where it ran
	ran := filepath.Join("/somewhere", "runs", "x")
	for _, f := range []struct{ path, body string }{
		{"configs/c1/.stages/generate.json", `{"fingerprint":"f"}`},
		{"baseline/abc/students/students.json", `{"base_test_loss":5}`},
		{"baseline/abc/judge-j1/judge.json", `{"verdicts":[]}`},
		{"baseline/current.json", `{"dir":"` + filepath.Join(ran, "baseline", "abc") + `"}`},
		{"baseline/judge.json", `{"dir":"` + filepath.Join(ran, "baseline", "abc", "judge-j1") + `"}`},
	} {
		p := filepath.Join(shard, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(root, "merged")
	if _, err := Merge(dst, shard); err != nil {
		t.Fatal(err)
	}
	var sf StudentsFile
	if err := readJSON(filepath.Join(dst, "baseline", "abc", studentsFile), &sf); err != nil || sf.BaseTestLoss != 5 {
		t.Fatalf("baseline not copied: %v %+v", err, sf)
	}
	for name, want := range map[string]string{"current.json": filepath.Join(dst, "baseline", "abc"), "judge.json": filepath.Join(dst, "baseline", "abc", "judge-j1")} {
		var ptr struct{ Dir string }
		if err := readJSON(filepath.Join(dst, "baseline", name), &ptr); err != nil || ptr.Dir != want {
			t.Errorf("%s points at %q (%v), want %q", name, ptr.Dir, err, want)
		}
	}
	// A destination with its own baseline keeps it.
	own := filepath.Join(root, "own")
	if err := writeJSON(filepath.Join(own, "baseline", "current.json"), map[string]string{"dir": "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(own, shard); err != nil {
		t.Fatal(err)
	}
	var ptr struct{ Dir string }
	if err := readJSON(filepath.Join(own, "baseline", "current.json"), &ptr); err != nil || ptr.Dir != "mine" {
		t.Errorf("destination's pointer replaced: %q %v", ptr.Dir, err)
	}
}

// Editing the keyword file (same path) reruns curation and what reads it;
// curation.json records the list that was applied.
func TestKeywordsFileContentsInFingerprint(t *testing.T) {
	dir := t.TempDir()
	kw := filepath.Join(dir, "kw.txt")
	if err := os.WriteFile(kw, []byte("zzznever\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, dir, "curation: {keywords_file: kw.txt}\n")
	r, _ := newTestRunner(t, c, Options{Version: "test"})
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r2, cn2 := newTestRunner(t, c, Options{Version: "test"})
	if err := r2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cn2.calls) != 0 {
		t.Errorf("unchanged keyword file reran: %v", cn2.calls)
	}
	if err := os.WriteFile(kw, []byte("# edited\nexplain\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r3, cn3 := newTestRunner(t, c, Options{Version: "test"})
	err := r3.Run(context.Background())
	// Every instruction starts with "Explain": the edited list removes all
	// of them, so curation must have rerun (and fails on an empty S_gen).
	if err == nil || !strings.Contains(err.Error(), "kept none") {
		t.Errorf("edited keyword file: err %v, calls %v", err, cn3.calls)
	}
	if cn3.total(StageGenerate) != 0 {
		t.Errorf("edited keyword file reran generation: %v", cn3.calls)
	}
	var cur CurationSummary
	if err := readJSON(filepath.Join(r.ConfigDir(r.Configurations()[0].ID), curationFile), &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Config == nil || strings.Join(cur.Config.Keywords, ",") != "zzznever" || cur.Config.KeywordsFile != "kw.txt" {
		t.Errorf("curation.json config %+v, want the file's keywords", cur.Config)
	}
}
