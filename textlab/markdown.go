package textlab

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ggmi-dev/ggmi/sim"
)

// paperArrow is Fig. 4's direction of the KL Gap for a swept variable.
func paperArrow(v string) string {
	switch v {
	case "K", "L":
		return "↓"
	case "J":
		return "↑"
	}
	return "–"
}

func num(f Float) string {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.3f", v)
}

func plain(f Float) string {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f", v)
}

func interval(ci [2]Float) string { return "[" + num(ci[0]) + ", " + num(ci[1]) + "]" }

// WriteMarkdown writes the report section of a result: settings, the
// trend verdicts next to the paper's Fig. 4 (and, when lab is not nil, next
// to a GMM lab run's), the gap per sweep value, and
// how to read it.
func WriteMarkdown(w io.Writer, res *Result, lab *sim.Summary) error {
	var b strings.Builder
	o := res.Options
	fmt.Fprintf(&b, "## Text lab: the K / J / L experiment with text sources\n\n")
	fmt.Fprintf(&b, "The Gaussian-mixture experiment of the reverse-bottleneck paper (§3.1, §4.4, App. B, Fig. 4) with text "+
		"sources as components and stories260K fine-tuned with the built-in engine as generator M and as students. "+
		"G is the K+J task sources; S_anchor holds %d texts from each of the first K; M is stories260K fine-tuned on "+
		"%d texts of each of the K+J task sources and of L unrelated sources (prompt mode `%s`); S_gen is %d texts "+
		"sampled from M at temperature %g. Both students start from stories260K and train on the same token budget "+
		"(%d steps × %d × %d = %d tokens, packed); the ground-truth loss is the mean token loss on %d held-out texts of "+
		"each of G's sources (first %d tokens), averaged over the sources.\n\n",
		o.AnchorsPerSource, o.GeneratorPerSource, o.Prompt, o.Synthetic, o.Temperature,
		o.StudentSteps, o.Batch, o.SeqLen, res.TokenBudget, o.HeldOutPerSource, o.SeqLen)
	fmt.Fprintf(&b, "Sign: %s.\n\n", SignConvention)
	names := func(s []SourceInfo) string {
		var p []string
		for _, x := range s {
			p = append(p, fmt.Sprintf("%s (%d/%d)", x.Name, x.Train, x.HeldOut))
		}
		return strings.Join(p, ", ")
	}
	fmt.Fprintf(&b, "Task sources (train/held-out texts): %s. Unrelated sources: %s. ", names(res.Tasks), names(res.Unrelated))
	shuffle := "in catalogue order"
	if o.Shuffle {
		shuffle = "in a permutation drawn per seed (the same for every value of that seed)"
	}
	fmt.Fprintf(&b, "Sources are taken %s. Base world K = %d, J = %d, L = %d; %d seeds per value (seed %d…); "+
		"%d distinct worlds, %.0f s on %d workers.\n\n", shuffle, o.K, o.J, o.L, o.Seeds, o.Seed, res.Worlds, res.Seconds, res.Workers)

	fmt.Fprintf(&b, "### Trends (paper: K ↓, J ↑, L ↓)\n\n")
	fmt.Fprintf(&b, "| quantity | sweep | paper | verdict | slope [95%% bootstrap CI] | Spearman ρ [95%% CI] | n |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, t := range res.Trends {
		v := t.Verdict
		if t.Column == "gap" {
			v = "**" + v + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %s | %s %s | %d |\n", t.Column, t.Sweep, paperArrow(t.Sweep), v,
			num(t.Slope), interval(t.SlopeCI), num(t.Spearman), interval(t.SpearmanCI), t.N)
	}
	fmt.Fprintf(&b, "\n`gap` is over all of G's sources; `gap_K` and `gap_J` over the anchored and the unsampled sources alone. "+
		"Verdicts follow the GMM lab: the slope's bootstrap interval above or below zero.\n\n")

	fmt.Fprintf(&b, "### Gap per value (mean over seeds, 95%% Student-t interval)\n\n")
	fmt.Fprintf(&b, "| sweep | value | K | J | L | gap | 95%% CI | loss S_anchor | loss S_gen | loss base | gap_K | gap_J |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range res.Points {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", p.Sweep, p.Value, p.K, p.J, p.L,
			num(p.Gap.Mean), interval(p.Gap.CI95), plain(p.LossAnchor.Mean), plain(p.LossGen.Mean), plain(p.LossBase.Mean),
			num(p.GapK.Mean), num(p.GapJ.Mean))
	}
	fmt.Fprintf(&b, "\nLosses are in nats per token; `loss base` is stories260K before fine-tuning.\n")
	if lab != nil {
		writeLabComparison(&b, res, lab)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// labColumns are the GMM lab's KL Gap columns shown next to the text gap:
// the exact estimator in the direction the text gap estimates, then in the
// paper's, then the paper's own histogram estimator.
var labColumns = []struct{ column, label string }{
	{"gap_mc_gt-model", "GMM lab, exact KL, gt-model (the text gap's direction)"},
	{"gap_mc_model-gt", "GMM lab, exact KL, model-gt (the paper's)"},
	{"gap_hist_model-gt", "GMM lab, reference histogram, model-gt"},
}

// writeLabComparison puts the text gap's trends next to a GMM lab run's.
func writeLabComparison(b *strings.Builder, res *Result, lab *sim.Summary) {
	find := func(sweep, column string) (sim.Trend, bool) {
		for _, t := range lab.Trends {
			if t.Sweep == sweep && t.Column == column {
				return t, true
			}
		}
		return sim.Trend{}, false
	}
	fmt.Fprintf(b, "\n### Next to the GMM lab\n\n")
	fmt.Fprintf(b, "Trend verdicts with the slope's 95%% bootstrap interval; the GMM lab run has %d rounds per value, dimension %d, seed %d.\n\n",
		lab.Rounds, lab.Config.Dim, lab.Seed)
	fmt.Fprintf(b, "| sweep | paper | text gap |")
	var cols []string
	for _, c := range labColumns {
		for _, sw := range []string{"K", "J", "L"} {
			if _, ok := find(sw, c.column); ok {
				cols = append(cols, c.column)
				fmt.Fprintf(b, " %s |", c.label)
				break
			}
		}
	}
	fmt.Fprintf(b, "\n|%s\n", strings.Repeat(" --- |", 3+len(cols)))
	cell := func(verdict string, slope float64, ci [2]float64) string {
		return fmt.Sprintf("%s %s [%s, %s]", verdict, num(Float(slope)), num(Float(ci[0])), num(Float(ci[1])))
	}
	for _, t := range res.Trends {
		if t.Column != "gap" {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s |", t.Sweep, paperArrow(t.Sweep), cell(t.Verdict, float64(t.Slope), [2]float64{float64(t.SlopeCI[0]), float64(t.SlopeCI[1])}))
		for _, c := range cols {
			if lt, ok := find(t.Sweep, c); ok {
				fmt.Fprintf(b, " %s |", cell(lt.Verdict, lt.Slope, lt.SlopeCI))
			} else {
				fmt.Fprintf(b, " – |")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\nThe slopes are in different units (nats per token against nats), so compare verdicts and signs, not sizes.\n")
}
