package report_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/report"
)

// Build a small report of three configurations, test one metric as a
// predictor of the gain, and write the self-contained page.
func ExampleWriteHTML() {
	r := report.Report{
		Title: "Demonstrations per prompt",
		Manifest: report.Manifest{
			Name: "demo", Version: "v0.0.0", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Inputs: []report.InputFile{{Role: "anchors", Path: "anchors.jsonl", SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
			Seeds:  map[string]uint64{"generation": 1},
			Stages: []report.StageTiming{{Name: "generate", Seconds: 12.5}, {Name: "measure", Seconds: 3.1}},
		},
		Metrics: []report.MetricInfo{{Name: "hsic", Expected: -1}},
		Gain:    report.GainInfo{Label: "judge gain", Doc: "judge rating minus the base model's"},
	}
	for i, k := range []string{"3", "10", "20"} {
		r.Configurations = append(r.Configurations, report.Configuration{
			ID: k + "-ins", Params: map[string]string{"demos": k},
			Metrics:    []report.Metric{{Name: "hsic", Estimate: report.Estimate{Value: 7.9e-3 - float64(i)*1e-4, CI95: [2]float64{7.7e-3 - float64(i)*1e-4, 8.1e-3 - float64(i)*1e-4}}}},
			Downstream: report.Downstream{JudgeRating: report.Est(6.1+0.2*float64(i), 5.9+0.2*float64(i), 6.3+0.2*float64(i))},
			Gain:       report.Est(0.045+0.008*float64(i), 0.03+0.008*float64(i), 0.06+0.008*float64(i)),
		})
	}
	preds, err := report.Predict(r, nil, 1000, 1)
	if err != nil {
		log.Fatal(err)
	}
	r.Predictors = preds
	var page strings.Builder
	if err := report.WriteHTML(&page, r); err != nil {
		log.Fatal(err)
	}
	p := preds[0]
	fmt.Printf("%s: ρ = %+.3f over %d configurations, %s\n", p.Metric, p.Rho.Value, p.Rho.N, p.Verdict)
	fmt.Println("inline figures:", strings.Count(page.String(), "<svg"))
	fmt.Println("scripts:", strings.Count(page.String(), "<script"))
	// Output:
	// hsic: ρ = -1.000 over 3 configurations, agrees
	// inline figures: 3
	// scripts: 0
}
