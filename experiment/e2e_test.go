package experiment

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/report"
)

// sharedFile returns a file of the shared folder beside the repository
// (../shared from the module root), skipping the test when it is absent.
func sharedFile(t *testing.T, parts ...string) string {
	return testshared.Path(t, parts...)
}

// finite reports whether an estimate is present with a finite value.
func finiteEstimate(e *report.Estimate) bool {
	return e != nil && !math.IsNaN(e.Value) && !math.IsInf(e.Value, 0)
}

// TestRunEndToEnd runs testdata/e2e.yaml through every stage with the
// built-in engine on the shared stories260K model and self-instruct seed
// tasks (two configurations, a few records, three training steps, three
// judge questions), checks every stage's outputs, then checks that a
// second run reuses everything and that Options.Stage (--stage) runs one
// stage only.
func TestRunEndToEnd(t *testing.T) {
	sharedFile(t, "models", "stories260K", "stories260K.bin")
	sharedFile(t, "data", "self-instruct", "seed_tasks.jsonl")
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	cfg, err := Load(filepath.Join("testdata", "e2e.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = t.TempDir()
	var log strings.Builder
	r, err := NewRunner(cfg, nil, Options{Version: "e2e-test", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	t.Logf("first run: %.1f s", time.Since(start).Seconds())
	confs := r.Configurations()
	if len(confs) != 2 {
		t.Fatalf("%d configurations, want 2", len(confs))
	}

	// Every stage's outputs exist.
	dir := r.Dir()
	files := []string{"manifest.json", "data/data.json", "data/train.jsonl", "data/test.jsonl", "data/anchors.jsonl",
		"results.json", "report.html", "report.md", "baseline/current.json", "baseline/judge.json",
		".stages/data.json", ".stages/report.json"}
	for _, c := range confs {
		cd := filepath.Join("configs", c.ID)
		files = append(files, filepath.Join(cd, genSynthetic), filepath.Join(cd, curationFile),
			filepath.Join(cd, "metrics.json"), filepath.Join(cd, studentsFile), filepath.Join(cd, judgeFile))
		for _, st := range Stages {
			if perConfig(st) {
				files = append(files, filepath.Join(cd, ".stages", st+".json"))
			}
		}
	}
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("stage output %s: missing or empty (%v)", f, err)
		}
	}
	var cur CurationSummary
	if err := readJSON(filepath.Join(r.ConfigDir(confs[0].ID), curationFile), &cur); err != nil || cur.Input == 0 {
		t.Errorf("curation summary %+v (%v): want some generated records", cur, err)
	}

	// results.json: one entry per configuration, finite metrics and losses.
	var res Results
	if err := readJSON(filepath.Join(dir, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Configurations) != len(confs) {
		t.Fatalf("results.json has %d configurations, want %d", len(res.Report.Configurations), len(confs))
	}
	for i, rc := range res.Report.Configurations {
		if rc.ID != confs[i].ID {
			t.Errorf("results.json configuration %d is %q, want %q", i, rc.ID, confs[i].ID)
		}
		if len(rc.Metrics) == 0 {
			t.Errorf("%s: no metric values", rc.ID)
		}
		for _, m := range rc.Metrics {
			if math.IsNaN(m.Estimate.Value) || math.IsInf(m.Estimate.Value, 0) {
				t.Errorf("%s: metric %s = %v", rc.ID, m.Name, m.Estimate.Value)
			}
		}
		if d := rc.Downstream; !finiteEstimate(d.TestLoss) || !finiteEstimate(d.Perplexity) || !finiteEstimate(d.GeneralizationGap) {
			t.Errorf("%s: downstream %+v, want finite test loss, perplexity and gap", rc.ID, d)
		}
		if !finiteEstimate(rc.Gain) {
			t.Errorf("%s: gain %+v, want a finite value", rc.ID, rc.Gain)
		}
	}
	// The baseline holds a student on S_anchor alone; each configuration's
	// gap to it is the per-seed difference of held-out losses.
	anchor := r.anchorStudent()
	if anchor == nil || anchor.Summary == nil || len(anchor.Summary.Runs) != 1 || anchor.Summary.Runs[0].TrainRecords == 0 {
		t.Fatalf("baseline S_anchor student %+v", anchor)
	}
	for i, rc := range res.Report.Configurations {
		var sf StudentsFile
		if err := readJSON(filepath.Join(r.ConfigDir(confs[i].ID), studentsFile), &sf); err != nil {
			t.Fatal(err)
		}
		want := anchor.Summary.Runs[0].Test.Mean - sf.Mixes[0].Summary.Runs[0].Test.Mean
		if g := rc.Downstream.AnchorGap; g == nil || g.Value != want {
			t.Errorf("%s: gap to the S_anchor student %+v, want %v", rc.ID, g, want)
		}
	}

	// The judge rated some answers of every configuration and of the
	// baseline within 1..10.
	judged := func(path string) JudgeFile {
		t.Helper()
		var jf JudgeFile
		if err := readJSON(path, &jf); err != nil {
			t.Fatal(err)
		}
		rated := 0
		for _, v := range jf.Verdicts {
			if v.Failure == "" {
				if v.Rating < 1 || v.Rating > 10 {
					t.Errorf("%s: verdict %s rated %v, outside 1..10", path, v.ID, v.Rating)
				}
				rated++
			}
		}
		if rated == 0 || rated != jf.Stats.Rated || jf.Stats.Items != len(jf.Verdicts) {
			t.Errorf("%s: %d of %d verdicts rated, stats %+v", path, rated, len(jf.Verdicts), jf.Stats)
		}
		return jf
	}
	for _, c := range confs {
		judged(filepath.Join(r.ConfigDir(c.ID), judgeFile))
	}
	var ptr struct{ Dir string }
	if err := readJSON(filepath.Join(dir, "baseline", "judge.json"), &ptr); err != nil {
		t.Fatal(err)
	}
	cols := map[string]bool{}
	for _, v := range judged(filepath.Join(ptr.Dir, judgeFile)).Verdicts {
		cols[v.Config] = true
	}
	if !cols[colBase] || !cols[colReal] || !cols[colAnchors] {
		t.Errorf("baseline judged %v, want base, real and anchors", cols)
	}
	if res.Ratings == nil || len(res.Ratings.Configs) < len(confs) {
		t.Errorf("results.json ratings %+v, want every configuration", res.Ratings)
	}

	// report.html names the configurations.
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range confs {
		if !strings.Contains(string(html), c.ID) {
			t.Errorf("report.html does not mention configuration %s", c.ID)
		}
	}

	// A second run reuses every stage: each is recorded as skipped and no
	// marker is rewritten.
	markers := map[string]time.Time{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == ".stages" {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			markers[p] = fi.ModTime()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 5*len(confs); len(markers) != want {
		t.Fatalf("%d stage markers, want %d", len(markers), want)
	}
	log.Reset()
	r2, err := NewRunner(cfg, nil, Options{Version: "e2e-test", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := r2.Manifest()
	if len(m.Stages) != len(markers) {
		t.Errorf("second run recorded %d stages, want %d", len(m.Stages), len(markers))
	}
	for _, s := range m.Stages {
		if !s.Skipped {
			t.Errorf("second run re-executed stage %s %s", s.Stage, s.Config)
		}
	}
	if strings.Contains(log.String(), "running") {
		t.Errorf("second run log:\n%s", log.String())
	}
	for p, mt := range markers {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(mt) {
			t.Errorf("marker %s rewritten by the second run", p)
		}
	}

	// --stage report --force runs the report alone.
	log.Reset()
	r3, err := NewRunner(cfg, nil, Options{Version: "e2e-test", Stage: StageReport, Force: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ran := strings.Count(log.String(), ": running")
	if ran != 1 || !strings.Contains(log.String(), "report: running") {
		t.Errorf("--stage report ran %d stages:\n%s", ran, log.String())
	}
	for p, mt := range markers {
		fi, err := os.Stat(p)
		rewritten := err != nil || !fi.ModTime().Equal(mt)
		if rewritten != strings.HasSuffix(p, filepath.Join(".stages", "report.json")) {
			t.Errorf("--stage report: marker %s rewritten %v", p, rewritten)
		}
	}
	// --stage judge without --force finds every configuration done.
	log.Reset()
	r4, err := NewRunner(cfg, nil, Options{Version: "e2e-test", Stage: StageJudge, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r4.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "judge stories") != len(confs) || strings.Contains(log.String(), "running") {
		t.Errorf("--stage judge:\n%s", log.String())
	}
}
