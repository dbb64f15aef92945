package report

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/sim"
)

var update = flag.Bool("update", false, "rewrite golden files")

func smallRun(t *testing.T) (*sim.Result, *sim.World) {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Estimators = []sim.Estimator{sim.MC, sim.Hist}
	cfg.MCSamples, cfg.HistRounds, cfg.HistSamples = 400, 2, 300
	res, err := sim.Run(context.Background(), sim.Options{Config: cfg, Sweeps: []sim.Var{sim.VarK, sim.VarJ, sim.VarL}, From: 2, To: 5, Rounds: 6, Seed: 3, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	res.Seconds = 0 // keep the golden file stable
	w, _, err := sim.RunRound(cfg, 3, 3, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return res, w
}

// The Markdown report of a fixed run is compared with a golden file
// (go test ./report -update rewrites it).
func TestGMMMarkdownGolden(t *testing.T) {
	res, _ := smallRun(t)
	var b strings.Builder
	figs := GMMFigures{"fig4:gap_mc_model-gt": "fig4_mc_model-gt.svg", "world": "world.svg"}
	if err := GMMMarkdown(&b, res.Summarise(), figs); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "gmm_report.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("report differs from %s; rerun with -update if the change is intended\n--- got ---\n%s", golden, b.String())
	}
	for _, s := range []string{"| mc | model-gt |", "| hist | gt-model |", "K (paper: ↓)", "J (paper: ↑)", "![one world](world.svg)"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestGMMLabWritesEverything(t *testing.T) {
	res, w := smallRun(t)
	dir := t.TempDir()
	s, files, err := GMMLab(dir, res, w, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Primary != "gap_mc_model-gt" {
		t.Fatalf("primary %q", s.Primary)
	}
	want := []string{"rounds.csv", "summary.csv", "summary.json", "report.md", "fig4.svg", "fig4.png",
		"fig4_mc_model-gt.svg", "fig4_hist_gt-model.png", "world.svg", "world.png", "lemma31.svg", "lemma31.png"}
	for _, name := range want {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("missing %s", name)
			continue
		}
		if st.Size() < 200 {
			t.Errorf("%s is only %d bytes", name, st.Size())
		}
	}
	if len(files) < len(want) {
		t.Errorf("%d files reported", len(files))
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "fig4.svg"))
	for _, s := range []string{"<svg", "KL Gap (mc, model-gt) vs K", "vs J", "vs L"} {
		if !strings.Contains(string(svg), s) {
			t.Errorf("fig4.svg lacks %q", s)
		}
	}
	lsvg, _ := os.ReadFile(filepath.Join(dir, "lemma31.svg"))
	for _, s := range []string{"<svg", "Lemma 3.1 vs K", "vs J", "vs L", "Err (left side)", "bound (right side)"} {
		if !strings.Contains(string(lsvg), s) {
			t.Errorf("lemma31.svg lacks %q", s)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "![Lemma 3.1](lemma31.svg)") || !strings.Contains(string(md), "## Lemma 3.1 per value") {
		t.Error("report.md does not show the Lemma 3.1 figure and table")
	}
	png, _ := os.ReadFile(filepath.Join(dir, "world.png"))
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Error("world.png is not a PNG")
	}
	rounds, _ := os.ReadFile(filepath.Join(dir, "rounds.csv"))
	if n := strings.Count(string(rounds), "\n"); n != 1+3*4*6 {
		t.Errorf("rounds.csv has %d lines", n)
	}
}
