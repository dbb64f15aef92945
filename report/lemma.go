package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ggmi-dev/ggmi/sim"
)

// Lemma31Figure draws the check of the paper's Lemma 3.1 from the
// simulation's rounds: one panel per swept variable (K, J, L), the left
// side Err(π_gen) = |R_D − R̂_S_gen| and the right side C·(TV(D, D_M) +
// TV(D_M, D_gen)) + |R_D_gen − R̂_S_gen|, each as the mean over rounds with
// the 95% confidence band of the mean. The gap between the lines is the
// slack; where the Err line rises above the bound the lemma is violated
// beyond Monte-Carlo error. It writes base.svg and base.png.
func Lemma31Figure(s *sim.Summary, base string) ([]string, error) {
	c := s.Config.LossCap
	if c == 0 {
		c = sim.DefaultLossCap
	}
	var row []*plot.Plot
	for _, key := range s.Order {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Lemma 3.1 vs %s (C = %g)", key, c)
		p.X.Label.Text = key
		p.Y.Label.Text = "risk difference (nats)"
		drawn := 0
		for _, line := range []struct {
			col   string
			label string
			c     color.RGBA
		}{
			{"lemma31_bound", "bound (right side)", Orange},
			{"lemma31_err", "Err (left side)", Blue},
		} {
			var mean, lo, hi plotter.XYs
			for _, pt := range s.Sweeps[key] {
				st, ok := pt.Terms[line.col]
				if !ok || math.IsNaN(st.Mean) {
					continue
				}
				x := float64(pt.Value)
				mean = append(mean, plotter.XY{X: x, Y: st.Mean})
				l, h := st.CI95[0], st.CI95[1]
				if math.IsNaN(l) {
					l, h = st.Mean, st.Mean
				}
				lo = append(lo, plotter.XY{X: x, Y: l})
				hi = append(hi, plotter.XY{X: x, Y: h})
			}
			if len(mean) == 0 {
				continue
			}
			poly := append(plotter.XYs{}, lo...)
			for i := len(hi) - 1; i >= 0; i-- {
				poly = append(poly, hi[i])
			}
			band, err := plotter.NewPolygon(poly)
			if err != nil {
				return nil, err
			}
			band.Color = withAlpha(line.c, 70)
			band.LineStyle.Width = 0
			p.Add(band)
			l, pp, err := plotter.NewLinePoints(mean)
			if err != nil {
				return nil, err
			}
			l.Color, pp.Color = line.c, line.c
			l.Width = vg.Points(1.5)
			pp.Shape = draw.CircleGlyph{}
			pp.Radius = vg.Points(2)
			p.Add(l, pp)
			p.Legend.Add(line.label+" ± 95% CI of mean", band, l, pp)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		// Room above the lines for the legend.
		p.Y.Min = math.Min(p.Y.Min, 0)
		p.Y.Max += 0.3 * (p.Y.Max - p.Y.Min)
		p.Legend.Top = true
		row = append(row, p)
	}
	if len(row) == 0 {
		return nil, fmt.Errorf("figure %s: no Lemma 3.1 columns to draw", base)
	}
	return SaveGrid([][]*plot.Plot{row}, vg.Length(len(row))*vg.Centimeter*11, vg.Centimeter*9, base)
}
