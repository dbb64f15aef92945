// Package report turns ggmi's results into figures (SVG and PNG, drawn with
// gonum/plot) and Markdown reports.
//
// For the GMM lab it draws the reverse-bottleneck paper's Fig. 4 (KL Gap
// against K, J and L, mean ± std over rounds, here with the 95% interval
// of the mean as well) and Fig. 2/5 (one world: anchor and synthetic
// points with the ellipses of G's and M's components), and writes a report
// that states, per estimator and direction, which of Fig. 4's trends hold.
package report
