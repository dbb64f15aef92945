// Package report turns ggmi's results into figures (SVG and PNG, drawn with
// gonum/plot) and Markdown reports.
//
// For the GMM lab it draws the reverse-bottleneck paper's Fig. 4 (KL Gap
// against K, J and L, mean ± std over rounds, here with the 95% interval
// of the mean as well) and Fig. 2/5 (one world: anchor and synthetic
// points with the ellipses of G's and M's components), and writes a report
// that states, per estimator and direction, which of Fig. 4's trends hold.
//
// For an experiment it writes the self-contained report.html (WriteHTML)
// of a [Report]: the run's manifest (inputs with their SHA-256 hashes,
// seeds, configuration, stage timings), the configurations compared, the
// metrics of their synthetic data and the downstream results of the
// students trained on them, each with its 95% interval, and how well each
// metric predicts the measured gain: Spearman's ρ across configurations
// with a percentile bootstrap interval over configurations ([Predict],
// [Spearman], [SpearmanCI]), drawn as predicted-against-measured scatter
// plots. The GMM lab's verdicts and figures can be added ([GMMSectionOf]).
// The page loads nothing: its style is inline and its figures are inline
// SVG.
package report
