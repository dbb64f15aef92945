package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/sim"
)

// GMMSection is the GMM lab's part of a report: whether the paper's Fig. 4
// trends hold, per quantity and swept variable, and the lab's figures.
type GMMSection struct {
	Title   string     `json:"title"`
	Summary string     `json:"summary,omitempty"` // a paragraph of plain text
	Trends  []GMMTrend `json:"trends,omitempty"`
	Figures []Figure   `json:"figures,omitempty"`
}

// GMMTrend is the fitted dependence of one quantity on one swept variable
// (see sim.Trend): the least-squares slope with its bootstrap interval,
// Spearman's ρ with its interval, the sign the paper reports and the
// verdict.
type GMMTrend struct {
	Sweep    string   `json:"sweep"`
	Column   string   `json:"column"`
	Label    string   `json:"label,omitempty"` // what the column measures
	Slope    Estimate `json:"slope"`
	Spearman Estimate `json:"spearman"`
	Paper    int      `json:"paper,omitempty"` // +1, −1, or 0 when the paper states none
	Verdict  string   `json:"verdict"`
}

// Figure is a figure given as an SVG document, inlined into the report.
type Figure struct {
	Title   string `json:"title"`
	Caption string `json:"caption,omitempty"`
	SVG     string `json:"svg"`
}

// GMMSectionOf builds the GMM section of a lab summary. When dir is not
// empty it embeds the figures GMMLab wrote there (fig4_<estimator>_<direction>.svg
// for every estimator and direction, and world.svg), skipping the ones
// that are absent.
func GMMSectionOf(s *sim.Summary, dir string) (*GMMSection, error) {
	if s == nil {
		return nil, errors.New("report: GMM section of a nil summary")
	}
	g := &GMMSection{
		Title: "GMM lab: the reverse-bottleneck world",
		Summary: fmt.Sprintf("The Gaussian-mixture world of the reverse-bottleneck paper (App. B), %d rounds per value, seed %d. "+
			"KL Gap = KL(π_anchor‖G) − KL(π_gen‖G); the paper reports that it falls with K and L and rises with J (Fig. 4). "+
			"holds: the slope's 95%% interval excludes zero on the paper's side; reversed: on the other side; inconclusive: it contains zero.",
			s.Rounds, s.Seed),
	}
	for _, t := range s.Trends {
		g.Trends = append(g.Trends, GMMTrend{
			Sweep: t.Sweep, Column: t.Column, Label: s.Columns[t.Column],
			Slope:    Estimate{Value: t.Slope, CI95: t.SlopeCI, N: t.N},
			Spearman: Estimate{Value: t.Spearman, CI95: t.SpearmanCI, N: t.N},
			Paper:    t.Paper, Verdict: t.Verdict,
		})
	}
	if dir == "" {
		return g, nil
	}
	add := func(name, title, caption string) error {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("report: GMM figure: %w", err)
		}
		g.Figures = append(g.Figures, Figure{Title: title, Caption: caption, SVG: string(b)})
		return nil
	}
	for _, e := range s.Config.Estimators {
		for _, d := range []sim.Direction{sim.ModelGT, sim.GTModel} {
			title := fmt.Sprintf("KL Gap (%s, %s) against K, J and L", e, d)
			caption := fmt.Sprintf("KL Gap with the %s estimator in the %s direction: mean over rounds (line), ± 1 standard deviation (light band) and the 95%% interval of the mean (dark band).", e, d)
			if err := add(fmt.Sprintf("fig4_%s_%s.svg", e, d), title, caption); err != nil {
				return nil, err
			}
		}
	}
	if err := add("world.svg", "One world: anchors, synthetic data and the components of G and M",
		"One world (Fig. 2/5 style): anchor points (blue), synthetic points (orange), and the 2-σ ellipses of G's and M's components."); err != nil {
		return nil, err
	}
	return g, nil
}
