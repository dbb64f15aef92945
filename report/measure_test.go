package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/measure"
)

func msReport(scale float64) measure.Report {
	nan := math.NaN()
	return measure.Report{
		N: 120, Anchors: 40, Train: 60, Embedder: "lsa-v1-k100-f20000-q4-s1", Field: "all", Seed: 1,
		Metrics: []measure.Result{
			{Name: "hsic", Value: 7.8703e-3 * scale, CI95: [2]float64{7.1e-3 * scale, 8.6e-3 * scale}, N: 120, Settings: map[string]any{
				"pairing": "provenance", "kernel": "gaussian", "sigma2_x": 0.41, "ci": "bootstrap percentile",
				"bootstrap": map[string]any{"resamples": 200, "m": []int{120}}}},
			{Name: "se", Value: 1.0739 * scale, CI95: [2]float64{0.98, 1.2}, N: 120, Settings: map[string]any{
				"threshold": 0.9, "approximation": "cosine | not entailment"}},
			{Name: "vendi", Value: 123.456 * scale, CI95: [2]float64{nan, nan}, N: 120, Settings: map[string]any{"kernel": "cosine"}},
			{Name: "knn-kl", Value: 0.21 * scale, CI95: [2]float64{0.1, 0.35}, N: 120, Settings: map[string]any{
				"method": "ensemble", measure.CIApproximate: "a lower bound in Q's thin tails"}},
		},
		Errors: map[string]string{"mmd": "mmd needs a reference sample (--train or --anchors)"},
	}
}

func msGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

// The measurement table and the side-by-side comparison are compared with
// golden files (go test ./report -update rewrites them).
func TestMeasureMarkdownGolden(t *testing.T) {
	var b strings.Builder
	if err := MeasureMarkdown(&b, "Metrics of synthetic.jsonl", msReport(1)); err != nil {
		t.Fatal(err)
	}
	msGolden(t, "measure.golden.md", b.String())
	for _, want := range []string{"| hsic | 0.00787 | [0.0071, 0.0086] | 120 |", `cosine \| not entailment`, "| vendi | 123.5 | – |", "- mmd: mmd needs",
		"| knn-kl | 0.21 | [0.1, 0.35] approximate | 120 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	b.Reset()
	short := msReport(0.9)
	short.Metrics = short.Metrics[:2]
	runs := []MeasureRun{{"3-ins", msReport(1)}, {"10-ins", msReport(1.1)}, {"20-ins", short}}
	if err := CompareMarkdown(&b, runs); err != nil {
		t.Fatal(err)
	}
	msGolden(t, "compare.golden.md", b.String())
	if !strings.Contains(b.String(), "| knn-kl | 0.21 [0.1, 0.35] approximate | 0.231 [0.1, 0.35] approximate | – |") {
		t.Errorf("approximate interval not marked:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "| vendi | 123.5 | 135.8 | – |") {
		t.Errorf("missing metric not shown as –:\n%s", b.String())
	}
	if err := CompareMarkdown(&b, nil); err == nil {
		t.Error("no runs: no error")
	}
}

// A Result survives JSON with NaN as null.
func TestResultJSONRoundTrip(t *testing.T) {
	rep := msReport(1)
	rep.Metrics[0].Settings["p_value"] = math.NaN()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back measure.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Metrics) != len(rep.Metrics) || back.Metrics[0].Value != rep.Metrics[0].Value || back.Metrics[0].CI95 != rep.Metrics[0].CI95 ||
		!math.IsNaN(back.Metrics[2].CI95[0]) || back.Metrics[0].Settings["p_value"] != nil || back.Errors["mmd"] == "" {
		t.Fatalf("round trip: %s", b)
	}
}
