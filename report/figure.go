package report

import (
	"image/color"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ggmi-dev/ggmi/internal/atomicfile"
)

// Palette used by every figure.
var (
	Blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	Orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	Red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	Grey   = color.RGBA{R: 127, G: 127, B: 127, A: 255}
	Green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
)

func withAlpha(c color.RGBA, a uint8) color.RGBA {
	// Premultiplied alpha, as image/color expects.
	return color.RGBA{R: uint8(int(c.R) * int(a) / 255), G: uint8(int(c.G) * int(a) / 255), B: uint8(int(c.B) * int(a) / 255), A: a}
}

// SaveGrid draws a grid of plots (rows of columns) into base+".svg" and
// base+".png" and returns the two paths. width and height are the size of
// the whole figure.
func SaveGrid(plots [][]*plot.Plot, width, height vg.Length, base string) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, err
	}
	rows := len(plots)
	cols := 0
	for _, r := range plots {
		cols = max(cols, len(r))
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	render := func(c vg.CanvasSizer) {
		dc := draw.New(c)
		canvases := plot.Align(plots, tiles, dc)
		for i, r := range plots {
			for j, p := range r {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}
	svgPath, pngPath := base+".svg", base+".png"
	sc := vgsvg.New(width, height)
	render(sc)
	if err := writeTo(svgPath, sc); err != nil {
		return nil, err
	}
	ic := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(150))
	// A white background: PNGs are otherwise transparent.
	ic.SetColor(color.White)
	ic.Fill(rectPath(width, height))
	render(ic)
	if err := writeTo(pngPath, vgimg.PngCanvas{Canvas: ic}); err != nil {
		return nil, err
	}
	return []string{svgPath, pngPath}, nil
}

func rectPath(w, h vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{})
	p.Line(vg.Point{X: w})
	p.Line(vg.Point{X: w, Y: h})
	p.Line(vg.Point{Y: h})
	p.Close()
	return p
}

// writeTo writes c to path atomically.
func writeTo(path string, c io.WriterTo) error {
	return writeFile(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

// writeFile writes path through a temporary file in the same directory and
// a rename, so that a reader never sees half a file.
func writeFile(path string, f func(io.Writer) error) error {
	return atomicfile.Write(path, false, f)
}
