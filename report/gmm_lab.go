package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/sim"
)

// GMMLab writes a GMM lab run into dir: rounds.csv, summary.csv,
// summary.json, the Fig. 4-style figure of every gap column (fig4.svg/png
// for the primary one, fig4_<estimator>_<direction>.svg/png for each), the
// Lemma 3.1 figure (lemma31.svg/png: Err against its bound per swept
// variable), the Fig. 2/5-style figure of world when it is not nil
// (world.svg/png), and report.md. It returns the summary and the files written.
func GMMLab(dir string, res *sim.Result, world *sim.World, figures bool) (*sim.Summary, []string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create output directory: %w", err)
	}
	s := res.Summarise()
	var files []string
	write := func(name string, f func(io.Writer) error) error {
		path := filepath.Join(dir, name)
		if err := writeFile(path, f); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	if err := write("rounds.csv", func(f io.Writer) error { return sim.WriteRoundsCSV(f, res) }); err != nil {
		return nil, nil, err
	}
	if err := write("summary.csv", func(f io.Writer) error { return sim.WriteSummaryCSV(f, s) }); err != nil {
		return nil, nil, err
	}
	if err := write("summary.json", func(f io.Writer) error { return sim.WriteSummaryJSON(f, s, true) }); err != nil {
		return nil, nil, err
	}
	figs := GMMFigures{}
	hasSweep := len(res.Options.Sweeps) > 0
	if figures && hasSweep {
		for _, e := range s.Config.Estimators {
			for _, d := range []sim.Direction{sim.ModelGT, sim.GTModel} {
				col := sim.GapColumn(e, d)
				title := fmt.Sprintf("KL Gap (%s, %s)", e, d)
				name := fmt.Sprintf("fig4_%s_%s", e, d)
				out, err := Fig4(s, col, title, filepath.Join(dir, name))
				if err != nil {
					return nil, nil, err
				}
				files = append(files, out...)
				figs["fig4:"+col] = name + ".svg"
				if col == s.Primary {
					out, err := Fig4(s, col, title, filepath.Join(dir, "fig4"))
					if err != nil {
						return nil, nil, err
					}
					files = append(files, out...)
				}
			}
		}
	}
	if figures && hasSweep {
		out, err := Lemma31Figure(s, filepath.Join(dir, "lemma31"))
		if err != nil {
			return nil, nil, err
		}
		files = append(files, out...)
		figs["lemma31"] = "lemma31.svg"
	}
	if figures && world != nil && world.Config.Dim >= 2 {
		out, err := World(world, filepath.Join(dir, "world"))
		if err != nil {
			return nil, nil, err
		}
		files = append(files, out...)
		figs["world"] = "world.svg"
	}
	if err := write("report.md", func(f io.Writer) error { return GMMMarkdown(f, s, figs) }); err != nil {
		return nil, nil, err
	}
	return s, files, nil
}
