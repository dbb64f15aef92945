package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/ggmi-dev/ggmi/measure"
)

// msValue formats a metric value with four significant digits
// (HSIC values are of order 10⁻³, Vendi scores of order 10²).
func msValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e-3 && a < 1e5 {
		s := fmt.Sprintf("%.4g", v)
		if strings.ContainsAny(s, "e") {
			return fmt.Sprintf("%.4e", v)
		}
		return s
	}
	return fmt.Sprintf("%.3e", v)
}

func msCI(ci [2]float64) string {
	if math.IsNaN(ci[0]) || math.IsNaN(ci[1]) {
		return "–"
	}
	return "[" + msValue(ci[0]) + ", " + msValue(ci[1]) + "]"
}

// msResultCI is r's interval, followed by "approximate" when the estimator
// marks it so (measure.CIApproximate; the reason is in the settings).
func msResultCI(r measure.Result) string {
	s := msCI(r.CI95)
	if s != "–" && r.ApproximateCI() != "" {
		s += " approximate"
	}
	return s
}

// msSettings renders settings as "k=v" pairs sorted by key, compactly:
// nested values as JSON, long lists shortened, bootstrap details reduced to
// their resample count.
func msSettings(set map[string]any) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := set[k]
		var s string
		switch x := v.(type) {
		case float64:
			s = msValue(x)
		case float32:
			s = msValue(float64(x))
		case string:
			s = x
		case map[string]any:
			if k == "bootstrap" {
				s = fmt.Sprintf("B=%v", x["resamples"])
				if m, ok := x["m"]; ok {
					s += fmt.Sprintf(" m=%v", msJSON(m))
				}
				break
			}
			s = msJSON(x)
		default:
			s = msJSON(x)
		}
		if len(s) > 60 {
			s = s[:57] + "…"
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, ", ")
}

func msJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func msCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// MeasureMarkdown writes the metrics of a measurement run as a Markdown
// table (metric, value, 95% CI, n, settings), preceded by a line on the
// data and followed by the metrics that failed.
func MeasureMarkdown(w io.Writer, title string, rep measure.Report) error {
	var b strings.Builder
	if title != "" {
		fmt.Fprintf(&b, "# %s\n\n", title)
	}
	ref := ""
	if rep.Ref > 0 {
		ref = fmt.Sprintf(", %d reference records", rep.Ref)
	}
	fmt.Fprintf(&b, "%d synthetic records, %d anchors, %d train records%s; field %s; embedder %s; seed %d.\n\n",
		rep.N, rep.Anchors, rep.Train, ref, rep.Field, msOrDash(rep.Embedder), rep.Seed)
	b.WriteString("| metric | value | 95% CI | n | settings |\n| --- | ---: | --- | ---: | --- |\n")
	for _, r := range rep.Metrics {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", msCell(r.Name), msValue(r.Value), msResultCI(r), r.N, msCell(msSettings(r.Settings)))
	}
	if len(rep.Errors) > 0 {
		b.WriteString("\nNot computed:\n\n")
		keys := make([]string, 0, len(rep.Errors))
		for k := range rep.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, rep.Errors[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func msOrDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// MeasureRun is one measurement run for CompareMarkdown.
type MeasureRun struct {
	Name   string // column heading, e.g. the run directory
	Report measure.Report
}

// CompareMarkdown writes the metrics of several runs side by side: one row
// per metric (in the order they first appear), one column per run with
// "value [lo, hi]"; a run that lacks a metric shows "–". A second table
// lists each run's data sizes and embedder.
func CompareMarkdown(w io.Writer, runs []MeasureRun) error {
	if len(runs) == 0 {
		return fmt.Errorf("report: no runs to compare")
	}
	var names []string
	seen := map[string]bool{}
	vals := make([]map[string]measure.Result, len(runs))
	for i, r := range runs {
		vals[i] = map[string]measure.Result{}
		for _, m := range r.Report.Metrics {
			vals[i][m.Name] = m
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| metric |")
	for _, r := range runs {
		fmt.Fprintf(&b, " %s |", msCell(r.Name))
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(runs)) + "\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s |", msCell(n))
		for i := range runs {
			m, ok := vals[i][n]
			switch {
			case !ok:
				b.WriteString(" – |")
			case math.IsNaN(m.CI95[0]):
				fmt.Fprintf(&b, " %s |", msValue(m.Value))
			default:
				fmt.Fprintf(&b, " %s %s |", msValue(m.Value), msResultCI(m))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| run | records | anchors | train | embedder | seed |\n| --- | ---: | ---: | ---: | --- | ---: |\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %d |\n", msCell(r.Name), r.Report.N, r.Report.Anchors, r.Report.Train, msCell(msOrDash(r.Report.Embedder)), r.Report.Seed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
