package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/report"
)

type compareOptions struct {
	out string
}

func newCompareCmd(g *globals) *cobra.Command {
	o := &compareOptions{}
	c := &cobra.Command{
		Use:   "compare RUN…",
		Short: "Compare the metrics of several `ggmi measure` runs side by side",
		Long: `Read the metrics.json of several ` + "`ggmi measure`" + ` output directories (for example the
synthetic data of prompts with 3, 10 and 20 demonstrations) and print one Markdown table:
one row per metric, one column per run, each cell "value [95% CI]".`,
		Example: `  ggmi compare runs/m3 runs/m10 runs/m20
  ggmi compare runs/m3/metrics.json runs/m10 --out comparison.md`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCompare(g, o, args) },
	}
	c.Flags().StringVar(&o.out, "out", "", "also write the table to this file")
	return c
}

func runCompare(g *globals, o *compareOptions, dirs []string) error {
	runs := make([]report.MeasureRun, len(dirs))
	for i, d := range dirs {
		f, err := readMeasureFile(d)
		if err != nil {
			return usageError{err}
		}
		name := filepath.Base(filepath.Clean(d))
		if name == "metrics.json" {
			name = filepath.Base(filepath.Dir(filepath.Clean(d)))
		}
		runs[i] = report.MeasureRun{Name: name, Report: f.Report}
	}
	var b strings.Builder
	if err := report.CompareMarkdown(&b, runs); err != nil {
		return err
	}
	if o.out != "" {
		if err := writeFileAtomic(o.out, []byte(b.String())); err != nil {
			return fmt.Errorf("write %s: %w", o.out, err)
		}
	}
	_, err := fmt.Fprint(g.stdout, b.String())
	return err
}
