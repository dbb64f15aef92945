package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestSimulateBadArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "--K", "0", "--sweep", "none"}, "K must be at least 1"},
		{[]string{"simulate", "--J", "-1", "--sweep", "none"}, "J must be at least 0"},
		{[]string{"simulate", "--L", "-1", "--sweep", "none"}, "L must be at least 0"},
		{[]string{"simulate", "--dim", "0"}, "dim must be at least 1"},
		{[]string{"simulate", "--rounds", "0"}, "rounds must be at least 1"},
		{[]string{"simulate", "--estimator", "kde"}, `unknown estimator "kde"`},
		{[]string{"simulate", "--direction", "sideways"}, "unknown direction"},
		{[]string{"simulate", "--sweep", "Q"}, "unknown sweep"},
		{[]string{"simulate", "--anchor-components", "many"}, "--anchor-components must be"},
		{[]string{"simulate", "--rounds", "ten"}, "invalid argument"},
		{[]string{"simulate", "--frobnicate"}, "unknown flag"},
		{[]string{"simulate", "extra"}, "unknown command"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(append(c.args, "--out", "", "-q")...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("stderr %q, want one line with %q", errOut, c.want)
			}
		})
	}
}

func TestSimulateJSON(t *testing.T) {
	code, out, errOut := runCLI("simulate", "--sweep", "all", "--from", "2", "--to", "3", "--rounds", "4",
		"--mc-samples", "200", "--out", "", "--json", "-q", "--seed", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Sweeps map[string][]struct {
			Value int        `json:"value"`
			Mean  *float64   `json:"mean"`
			Std   *float64   `json:"std"`
			CI95  []*float64 `json:"ci95"`
			N     int        `json:"n"`
		} `json:"sweeps"`
		Estimator string   `json:"estimator"`
		Direction string   `json:"direction"`
		Seconds   *float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if v.Estimator != "mc" || v.Direction != "model-gt" || v.Seconds == nil {
		t.Fatalf("header %+v", v)
	}
	for _, k := range []string{"K", "J", "L"} {
		pts := v.Sweeps[k]
		if len(pts) != 2 || pts[0].Value != 2 || pts[1].Value != 3 {
			t.Fatalf("sweep %s: %+v", k, pts)
		}
		for _, p := range pts {
			if p.N != 4 || p.Mean == nil || p.Std == nil || len(p.CI95) != 2 || *p.CI95[0] > *p.Mean || *p.CI95[1] < *p.Mean {
				t.Fatalf("sweep %s point %+v", k, p)
			}
		}
	}
	// Same seed, other worker count: the same numbers.
	code, out2, _ := runCLI("simulate", "--sweep", "all", "--from", "2", "--to", "3", "--rounds", "4",
		"--mc-samples", "200", "--out", "", "--json", "-q", "--seed", "5", "--workers", "1")
	if code != 0 {
		t.Fatal("second run failed")
	}
	strip := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"seconds"`) && !strings.Contains(l, `"workers"`) {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	if strip(out) != strip(out2) {
		t.Fatal("--workers 1 changed the summary")
	}
}

func TestSimulateWritesRunDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	code, out, errOut := runCLI("simulate", "--sweep", "L", "--from", "2", "--to", "4", "--rounds", "3",
		"--estimator", "mc,hist-shared", "--hist-rounds", "2", "--mc-samples", "200", "--out", dir, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "KL Gap (gap_mc_model-gt)") || !strings.Contains(out, "gap_hist-shared_model-gt") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, f := range []string{"report.md", "summary.json", "summary.csv", "rounds.csv", "fig4.svg", "fig4.png", "world.svg", "world.png", "fig4_hist-shared_gt-model.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "| hist-shared | model-gt |") {
		t.Error("report lacks the hist-shared row")
	}
}
