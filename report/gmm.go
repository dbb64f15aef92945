package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ggmi-dev/ggmi/gmm"
	"github.com/ggmi-dev/ggmi/sim"
)

// Fig4 draws the Fig. 4-style figure of one summary column: one panel per
// swept variable, the mean over rounds as a line, a light band of ± one
// standard deviation (the paper's shading) and a darker band of the 95%
// confidence interval of the mean. It writes base.svg and base.png.
func Fig4(s *sim.Summary, column, title string, base string) ([]string, error) {
	var row []*plot.Plot
	for _, key := range s.Order {
		pts := s.Sweeps[key]
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s vs %s", title, key)
		p.X.Label.Text = key
		p.Y.Label.Text = title
		mean := make(plotter.XYs, 0, len(pts))
		var stdLo, stdHi, ciLo, ciHi plotter.XYs
		for _, pt := range pts {
			st := pt.Terms[column]
			if math.IsNaN(st.Mean) {
				continue
			}
			x := float64(pt.Value)
			mean = append(mean, plotter.XY{X: x, Y: st.Mean})
			sd := st.Std
			if math.IsNaN(sd) {
				sd = 0
			}
			stdLo = append(stdLo, plotter.XY{X: x, Y: st.Mean - sd})
			stdHi = append(stdHi, plotter.XY{X: x, Y: st.Mean + sd})
			lo, hi := st.CI95[0], st.CI95[1]
			if math.IsNaN(lo) {
				lo, hi = st.Mean, st.Mean
			}
			ciLo = append(ciLo, plotter.XY{X: x, Y: lo})
			ciHi = append(ciHi, plotter.XY{X: x, Y: hi})
		}
		if len(mean) == 0 {
			continue
		}
		if err := addBand(p, stdLo, stdHi, withAlpha(Blue, 45), "± 1 std"); err != nil {
			return nil, err
		}
		if err := addBand(p, ciLo, ciHi, withAlpha(Blue, 110), "95% CI of mean"); err != nil {
			return nil, err
		}
		l, pp, err := plotter.NewLinePoints(mean)
		if err != nil {
			return nil, err
		}
		l.Color, pp.Color = Blue, Blue
		l.Width = vg.Points(1.5)
		pp.Shape = draw.CircleGlyph{}
		pp.Radius = vg.Points(2)
		p.Add(l, pp)
		p.Legend.Add("mean", l, pp)
		zero, _ := plotter.NewLine(plotter.XYs{{X: mean[0].X, Y: 0}, {X: mean[len(mean)-1].X, Y: 0}})
		zero.Color = Grey
		zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(zero)
		p.Legend.Top = true
		row = append(row, p)
	}
	if len(row) == 0 {
		return nil, fmt.Errorf("figure %s: nothing to draw", base)
	}
	return SaveGrid([][]*plot.Plot{row}, vg.Length(len(row))*vg.Centimeter*11, vg.Centimeter*9, base)
}

func addBand(p *plot.Plot, lo, hi plotter.XYs, c color.Color, label string) error {
	poly := make(plotter.XYs, 0, 2*len(lo))
	poly = append(poly, lo...)
	for i := len(hi) - 1; i >= 0; i-- {
		poly = append(poly, hi[i])
	}
	pg, err := plotter.NewPolygon(poly)
	if err != nil {
		return err
	}
	pg.Color = c
	pg.LineStyle.Width = 0
	p.Add(pg)
	p.Legend.Add(label, pg)
	return nil
}

// ellipse returns the points of the Mahalanobis-radius-r ellipse of a 2-D
// Gaussian (the first two coordinates of a component).
func ellipse(mean, cov []float64, d int, r float64) plotter.XYs {
	a, b, c := cov[0], cov[1], cov[d+1] // [[a b] [b c]] of the first two axes
	l0 := math.Sqrt(a)
	l1 := b / l0
	l2 := math.Sqrt(math.Max(c-l1*l1, 0))
	const n = 72
	pts := make(plotter.XYs, n+1)
	for i := 0; i <= n; i++ {
		t := 2 * math.Pi * float64(i) / n
		u, v := r*math.Cos(t), r*math.Sin(t)
		pts[i] = plotter.XY{X: mean[0] + l0*u, Y: mean[1] + l1*u + l2*v}
	}
	return pts
}

func points(x []float64, d int) plotter.XYs {
	n := len(x) / d
	pts := make(plotter.XYs, n)
	for i := range n {
		pts[i] = plotter.XY{X: x[i*d], Y: x[i*d+1]}
	}
	return pts
}

// World draws the Fig. 2/5-style picture of one world: anchor points
// (blue) and synthetic points (orange; rejected ones grey), with the
// 2-σ ellipses of G's components (blue: anchor part solid, unsampled part
// dashed) and of M's components (orange: fitted from anchors solid, task-
// irrelevant part red dashed; M's copies of G's unsampled part coincide with
// G's and are not drawn twice). Worlds with d > 2 are drawn in their first
// two coordinates. It writes base.svg and base.png.
func World(w *sim.World, base string) ([]string, error) {
	cfg := w.Config
	d := cfg.Dim
	if d < 2 {
		return nil, fmt.Errorf("world figure needs dim ≥ 2 (got %d)", d)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("One world: K=%d J=%d L=%d (anchors %d, synthetic %d)", cfg.K, cfg.J, cfg.L, len(w.AnchorLabels), len(w.SynthLabels))
	p.X.Label.Text = "x₁"
	p.Y.Label.Text = "x₂"
	if d > 2 {
		p.Title.Text += fmt.Sprintf(", first 2 of %d dims", d)
	}
	addEllipses := func(m *gmm.Mixture, from, to int, c color.Color, dashed bool, label string) error {
		for k := from; k < to; k++ {
			l, err := plotter.NewLine(ellipse(m.Mean(k), m.Cov(k), d, 2))
			if err != nil {
				return err
			}
			l.Color = c
			l.Width = vg.Points(1.2)
			if dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
			if k == from {
				p.Legend.Add(label, l)
			}
		}
		return nil
	}
	scatter := func(x []float64, c color.Color, shape draw.GlyphDrawer, label string) error {
		if len(x) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(points(x, d))
		if err != nil {
			return err
		}
		s.Color = c
		s.Shape = shape
		s.Radius = vg.Points(1.8)
		p.Add(s)
		p.Legend.Add(label, s)
		return nil
	}
	if err := scatter(w.Synthetic, Orange, draw.CircleGlyph{}, "S_gen (synthetic)"); err != nil {
		return nil, err
	}
	if err := scatter(w.Rejected, Grey, draw.CrossGlyph{}, "rejected by curation ε"); err != nil {
		return nil, err
	}
	if err := scatter(w.Anchors, Blue, draw.CircleGlyph{}, "S_anchor"); err != nil {
		return nil, err
	}
	steps := []struct {
		m        *gmm.Mixture
		from, to int
		c        color.Color
		dashed   bool
		label    string
	}{
		{w.G, 0, cfg.K, Blue, false, "G: anchor part (K)"},
		{w.G, cfg.K, cfg.K + cfg.J, Blue, true, "G: unsampled part (J) = M's J part"},
		{w.M, 0, cfg.K, Orange, false, "M: fitted from anchors (K)"},
		{w.M, cfg.K + cfg.J, cfg.K + cfg.J + cfg.L, Red, true, "M: task-irrelevant part (L)"},
	}
	for _, s := range steps {
		if err := addEllipses(s.m, s.from, s.to, s.c, s.dashed, s.label); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	return SaveGrid([][]*plot.Plot{{p}}, vg.Centimeter*16, vg.Centimeter*15, base)
}
