package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ggmi-dev/ggmi/sim"
)

func num(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	a := math.Abs(v)
	switch {
	case a != 0 && (a < 1e-3 || a >= 1e5):
		return fmt.Sprintf("%.3g", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v >= 0 {
		return "+" + num(v)
	}
	return num(v)
}

func arrow(sign int) string {
	switch {
	case sign > 0:
		return "↑"
	case sign < 0:
		return "↓"
	}
	return "·"
}

// GMMFigures names the figure files a GMM report links to (paths relative
// to the report), by role: "fig4:<column>" and "world".
type GMMFigures map[string]string

// GMMMarkdown writes the lab's Markdown report: the run's settings, whether
// each of Fig. 4's trends holds under each estimator and direction (slope
// with its 95% bootstrap interval and Spearman's ρ), the primary KL Gap per
// value, the theory's terms at the base world, and what each estimator
// measures.
func GMMMarkdown(w io.Writer, s *sim.Summary, figs GMMFigures) error {
	var b strings.Builder
	c := s.Config
	fmt.Fprintf(&b, "# GMM lab: the reverse-bottleneck world\n\n")
	fmt.Fprintf(&b, "The Gaussian-mixture world of the reverse-bottleneck paper (§3.1, §4.4, App. B): a ground truth G with K+J components, anchors from its first K, a generative model M with K+J+L components, synthetic data from M, and GMMs π_anchor and π_gen fitted to each. ")
	fmt.Fprintf(&b, "KL Gap = KL(π_anchor‖G) − KL(π_gen‖G) in the paper's direction (model-gt); the paper reads a larger gap as a larger GGMI.\n\n")
	fmt.Fprintf(&b, "## Run\n\n")
	var sweeps []string
	for _, k := range s.Order {
		pts := s.Sweeps[k]
		if k == "none" || len(pts) == 0 {
			continue
		}
		sweeps = append(sweeps, fmt.Sprintf("%s over %d..%d", k, pts[0].Value, pts[len(pts)-1].Value))
	}
	if len(sweeps) == 0 {
		sweeps = []string{"none (a single configuration)"}
	}
	anchorComp := "K (as the reference code)"
	switch {
	case c.AnchorComponents == sim.AnchorKJL:
		anchorComp = "K+J+L (as the paper's text)"
	case c.AnchorComponents > 0:
		anchorComp = fmt.Sprint(c.AnchorComponents)
	}
	fmt.Fprintf(&b, "| setting | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| sweeps | %s; the other variables at K=%d, J=%d, L=%d |\n", strings.Join(sweeps, ", "), c.K, c.J, c.L)
	fmt.Fprintf(&b, "| rounds per value | %d |\n| seed | %d |\n| wall time | %.2f s on %d workers |\n", s.Rounds, s.Seed, s.Seconds, s.Workers)
	fmt.Fprintf(&b, "| world | d=%d, N_k=%d anchors per component, %d synthetic points, means uniform in [%g, %g)^d |\n", c.Dim, c.AnchorPerComp, c.Synthetic, c.MeanLow, c.MeanHigh)
	cov := "A·Aᵀ + %g·I (symmetric positive definite)"
	if c.Covariance == sim.CovReference {
		cov = "the reference code's A·Bᵀ as NumPy samples it (V·diag(s)·Vᵀ from its SVD) + %g·I"
	}
	fmt.Fprintf(&b, "| random covariances | "+cov+" |\n", c.CovRidge)
	fmt.Fprintf(&b, "| π_anchor components | %s |\n| π_gen components | K+J+L |\n", anchorComp)
	if c.CurateQuantile > 0 {
		fmt.Fprintf(&b, "| curation ε | synthetic points below the %g quantile of their density under G rejected |\n", c.CurateQuantile)
	} else {
		fmt.Fprintf(&b, "| curation ε | none |\n")
	}
	var est []string
	for _, e := range c.Estimators {
		est = append(est, string(e))
	}
	fmt.Fprintf(&b, "| estimators | %s (primary: %s, %s); %d Monte-Carlo draws", strings.Join(est, ", "), s.Estimator, s.Direction, c.MCSamples)
	if len(c.Estimators) > 1 || c.Estimators[0] != sim.MC {
		fmt.Fprintf(&b, "; histograms: %d bins per axis, %d draws, %d inner rounds", c.HistBins, c.HistSamples, c.HistRounds)
	}
	fmt.Fprintf(&b, " |\n| EM | tol %g, max_iter %d, n_init %d, reg_covar %g, k-means init |\n\n", c.EMTol, c.EMMaxIter, c.EMNInit, c.EMRegCovar)

	// Verdicts.
	trend := map[string]sim.Trend{}
	for _, t := range s.Trends {
		trend[t.Sweep+"/"+t.Column] = t
	}
	var swept []string
	for _, k := range s.Order {
		if k != "none" {
			swept = append(swept, k)
		}
	}
	if len(swept) > 0 {
		fmt.Fprintf(&b, "## Do the paper's Fig. 4 trends hold?\n\n")
		fmt.Fprintf(&b, "The paper reports that the KL Gap falls as K grows, rises with J and falls with L. Each cell gives the verdict of the least-squares slope of the per-round KL Gap against the swept variable, its 95%% bootstrap interval, and Spearman's ρ with its 95%% interval. *holds*: the interval excludes zero on the paper's side; *reversed*: on the other side; *inconclusive*: it contains zero.\n\n")
		fmt.Fprintf(&b, "| estimator | direction |")
		for _, k := range swept {
			fmt.Fprintf(&b, " %s (paper: %s) |", k, arrow(paperSignOf(k)))
		}
		fmt.Fprintf(&b, "\n| --- | --- |%s\n", strings.Repeat(" --- |", len(swept)))
		for _, e := range c.Estimators {
			for _, d := range []sim.Direction{sim.ModelGT, sim.GTModel} {
				fmt.Fprintf(&b, "| %s | %s |", e, d)
				for _, k := range swept {
					t, ok := trend[k+"/"+sim.GapColumn(e, d)]
					if !ok {
						fmt.Fprintf(&b, " – |")
						continue
					}
					fmt.Fprintf(&b, " **%s**: slope %s [%s, %s], ρ = %s [%s, %s] |", t.Verdict, signed(t.Slope), signed(t.SlopeCI[0]), signed(t.SlopeCI[1]), signed(t.Spearman), signed(t.SpearmanCI[0]), signed(t.SpearmanCI[1]))
				}
				fmt.Fprintf(&b, "\n")
			}
		}
		fmt.Fprintf(&b, "\n")

		fmt.Fprintf(&b, "### The theory's terms against each swept variable\n\n")
		fmt.Fprintf(&b, "| term |")
		for _, k := range swept {
			fmt.Fprintf(&b, " %s: slope [95%% CI], ρ |", k)
		}
		fmt.Fprintf(&b, "\n| --- |%s\n", strings.Repeat(" --- |", len(swept)))
		for _, col := range []string{"delta_h", "h_gen", "tv_g_m"} {
			fmt.Fprintf(&b, "| %s |", s.Columns[col])
			for _, k := range swept {
				t := trend[k+"/"+col]
				fmt.Fprintf(&b, " %s [%s, %s], ρ = %s |", signed(t.Slope), signed(t.SlopeCI[0]), signed(t.SlopeCI[1]), signed(t.Spearman))
			}
			fmt.Fprintf(&b, "\n")
		}
		fmt.Fprintf(&b, "\nThe paper's reading (§4.4): larger J raises ΔI; larger K raises H(S_anchor|W); larger L raises H(S_gen|W) and lowers ΔH. ")
		fmt.Fprintf(&b, "TV(G, M) is Lemma 3.1's task divergence; the generation divergence TV(M, D_gen) is the mass curation removes (0 without curation).\n\n")
	}

	// Primary gap per value.
	fmt.Fprintf(&b, "## KL Gap per value (%s)\n\n", s.Primary)
	fmt.Fprintf(&b, "Mean ± standard deviation over rounds, and the 95%% confidence interval of the mean.\n\n")
	fmt.Fprintf(&b, "| value |")
	keys := s.Order
	for _, k := range keys {
		fmt.Fprintf(&b, " %s |", k)
	}
	fmt.Fprintf(&b, "\n| --- |%s\n", strings.Repeat(" --- |", len(keys)))
	values := map[int]bool{}
	var order []int
	for _, k := range keys {
		for _, p := range s.Sweeps[k] {
			if !values[p.Value] {
				values[p.Value] = true
				order = append(order, p.Value)
			}
		}
	}
	for _, v := range order {
		fmt.Fprintf(&b, "| %d |", v)
		for _, k := range keys {
			cell := "–"
			for _, p := range s.Sweeps[k] {
				if p.Value == v {
					cell = fmt.Sprintf("%s ± %s [%s, %s]", num(p.Mean), num(p.Std), num(p.CI95[0]), num(p.CI95[1]))
				}
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		fmt.Fprintf(&b, "\n")
	}
	fmt.Fprintf(&b, "\n")

	// Lemma 3.1 per value.
	if lemmaRows(&b, s) {
		fmt.Fprintf(&b, "\n")
	}

	// Terms at the base world.
	if base, ok := basePoint(s); ok {
		fmt.Fprintf(&b, "## Every term at the base world (K=%d, J=%d, L=%d)\n\n", c.K, c.J, c.L)
		fmt.Fprintf(&b, "| term | meaning | mean | std | 95%% CI of mean |\n| --- | --- | --- | --- | --- |\n")
		for _, col := range sim.Columns(c) {
			st := base.Terms[col.Name]
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | [%s, %s] |\n", col.Name, col.Doc, num(st.Mean), num(st.Std), num(st.CI95[0]), num(st.CI95[1]))
		}
		fmt.Fprintf(&b, "\n")
	}

	fmt.Fprintf(&b, "## What the estimators measure\n\n")
	fmt.Fprintf(&b, "- `mc` (default): KL(P‖Q) = E_P[log p − log q] over draws from P with the exact densities of the fitted and true mixtures; unbiased, with a standard error per round.\n")
	fmt.Fprintf(&b, "- `hist`: the public reference code's estimator, kept for comparison: a %d-bin-per-axis histogram of each sample on its own range, empty cells clipped at 1e-10, cells compared by index. The two histograms do not share cells, so it is biased: a sample and its shifted copy get KL ≈ 0.\n", c.HistBins)
	fmt.Fprintf(&b, "- `hist-shared`: the same histogram with one grid spanning both samples, so that cells correspond; still biased by the clipping and the binning.\n")
	fmt.Fprintf(&b, "- Directions: `model-gt` is the paper's KL(π‖G); `gt-model` is KL(G‖π), the excess cross-entropy of the fitted model on data from the task.\n\n")

	if len(figs) > 0 {
		fmt.Fprintf(&b, "## Figures\n\n")
		for _, e := range c.Estimators {
			for _, d := range []sim.Direction{sim.ModelGT, sim.GTModel} {
				if f, ok := figs["fig4:"+sim.GapColumn(e, d)]; ok {
					fmt.Fprintf(&b, "KL Gap, %s, %s:\n\n![KL Gap (%s, %s)](%s)\n\n", e, d, e, d, f)
				}
			}
		}
		if f, ok := figs["lemma31"]; ok {
			fmt.Fprintf(&b, "Lemma 3.1, Err against its bound:\n\n![Lemma 3.1](%s)\n\n", f)
		}
		if f, ok := figs["world"]; ok {
			fmt.Fprintf(&b, "One world (Fig. 2/5 style):\n\n![one world](%s)\n\n", f)
		}
	}
	fmt.Fprintf(&b, "## Files\n\n- `rounds.csv`: one row per outer round, every column above plus Monte-Carlo standard errors (`*_se`) and EM diagnostics.\n- `summary.csv`: per swept variable, value and column: mean, std, 95%% CI, n.\n- `summary.json`: the same with trends and the full configuration.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func paperSignOf(v string) int {
	switch v {
	case "K", "L":
		return -1
	case "J":
		return 1
	}
	return 0
}

// basePoint finds the summary point of the base configuration.
func basePoint(s *sim.Summary) (sim.Point, bool) {
	c := s.Config
	for _, k := range s.Order {
		want := map[string]int{"K": c.K, "J": c.J, "L": c.L}[k]
		for _, p := range s.Sweeps[k] {
			if k == "none" || p.Value == want {
				return p, true
			}
		}
	}
	return sim.Point{}, false
}

// lemmaRows writes the Lemma 3.1 table: per swept variable and value, the
// mean left side Err, the mean bound, the mean slack with its 95% CI, the
// tightness Err/bound and the share of rounds with a violation beyond
// Monte-Carlo error. It reports whether it wrote anything.
func lemmaRows(b *strings.Builder, s *sim.Summary) bool {
	wrote := false
	for _, k := range s.Order {
		for _, p := range s.Sweeps[k] {
			e, ok := p.Terms["lemma31_err"]
			if !ok {
				continue
			}
			if !wrote {
				c := s.Config.LossCap
				if c == 0 {
					c = sim.DefaultLossCap
				}
				fmt.Fprintf(b, "## Lemma 3.1 per value (loss −log π_gen clipped to [0, %g])\n\n", c)
				fmt.Fprintf(b, "Means over rounds; a violation is a round whose slack is below −1.96 of its Monte-Carlo standard error.\n\n")
				fmt.Fprintf(b, "| variable | value | Err | bound | slack [95%% CI] | Err / bound | violations |\n| --- | --- | --- | --- | --- | --- | --- |\n")
				wrote = true
			}
			bd, sl, ra, vi := p.Terms["lemma31_bound"], p.Terms["lemma31_slack"], p.Terms["lemma31_ratio"], p.Terms["lemma31_violation"]
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s [%s, %s] | %s | %s |\n", k, p.Value, num(e.Mean), num(bd.Mean), num(sl.Mean), num(sl.CI95[0]), num(sl.CI95[1]), num(ra.Mean), num(vi.Mean))
		}
	}
	return wrote
}
