package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/sim"
	"github.com/ggmi-dev/ggmi/textlab"
)

type textlabOptions struct {
	shared  string
	out     string
	gmmLab  string
	quick   bool
	seeds   int
	steps   int
	seed    uint64
	workers int
	json    bool
}

func newTextlabCmd(g *globals) *cobra.Command {
	o := &textlabOptions{}
	c := &cobra.Command{
		Use:   "textlab",
		Short: "Run the K / J / L experiment (App. B, Fig. 4) with text sources and the built-in model",
		Long: `Run the text analogue of the reverse-bottleneck paper's Gaussian-mixture experiment
(§3.1, §4.4, App. B, Fig. 4), offline: task sources from the shared data (GSM8K,
self-instruct, MT-bench) are G's components, unrelated sources (stories sampled from
stories260K, shuffled words, arithmetic, random letters) are M's extra knowledge, M is
stories260K fine-tuned on K+J+L sources, and two students (stories260K fine-tuned on
S_anchor and on S_gen with the same token budget) are scored on held-out task texts.
The gap is loss(S_anchor student) − loss(S_gen student), the GMM lab's KL Gap in its
gt-model direction. K, J and L are swept one at a time; the report says which of
Fig. 4's trends hold.

Writes result.json and textlab.md into --out.`,
		Example: `  ggmi textlab --shared ../shared --out runs/textlab
  ggmi textlab --quick --out runs/textlab-quick --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTextlab(cmd, g, o) },
	}
	d := textlab.Default()
	f := c.Flags()
	f.StringVar(&o.shared, "shared", "../shared", "shared folder holding data/ and models/stories260K/")
	f.StringVar(&o.out, "out", "runs/textlab", "output directory ('' to write nothing)")
	f.StringVar(&o.gmmLab, "gmm-lab", "runs/gmm-lab", "GMM lab run (ggmi simulate --out) whose trends textlab.md shows next to the text gap's ('' or absent: none)")
	f.BoolVar(&o.quick, "quick", false, "the small test configuration (seconds instead of minutes)")
	f.IntVar(&o.seeds, "seeds", 0, fmt.Sprintf("worlds per sweep value (0: the preset's, %d by default)", d.Seeds))
	f.IntVar(&o.steps, "steps", 0, fmt.Sprintf("training steps of each student (0: the preset's, %d by default)", d.StudentSteps))
	f.Uint64Var(&o.seed, "seed", d.Seed, "first seed")
	f.IntVar(&o.workers, "workers", 0, "worlds run in parallel (0: every core); results do not depend on it")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return c
}

// options turns the flags into the library's options; every error is the
// user's.
func (o *textlabOptions) options() (textlab.Options, error) {
	opt := textlab.Default()
	if o.quick {
		opt = textlab.Quick()
	}
	if o.seeds < 0 || o.steps < 0 {
		return opt, fmt.Errorf("--seeds and --steps must be at least 1 (got %d and %d)", o.seeds, o.steps)
	}
	if o.seeds > 0 {
		opt.Seeds = o.seeds
	}
	if o.steps > 0 {
		opt.StudentSteps = o.steps
	}
	opt.Seed, opt.Workers, opt.SharedDir = o.seed, o.workers, o.shared
	if err := opt.Validate(); err != nil {
		return opt, err
	}
	for _, p := range []string{filepath.Join(o.shared, "data"), filepath.Join(o.shared, "models", "stories260K")} {
		if _, err := os.Stat(p); err != nil {
			return opt, fmt.Errorf("--shared %s: %s is missing", o.shared, p)
		}
	}
	return opt, nil
}

func runTextlab(cmd *cobra.Command, g *globals, o *textlabOptions) error {
	lab, err := readLab(o.gmmLab)
	if err != nil {
		return usageError{err}
	}
	opt, err := o.options()
	if err != nil {
		return usageError{err}
	}
	model := filepath.Join(o.shared, "models", "stories260K", "stories260K.bin")
	if err := g.checkMemory("textlab with these flags", textlabMemory(opt, model)...); err != nil {
		return err
	}
	res, err := textlab.Run(cmd.Context(), opt, newReporter(g.stderr, g.quiet))
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("textlab: encode result: %w", err)
	}
	js = append(js, '\n')
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("textlab: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(o.out, "result.json"), js); err != nil {
			return fmt.Errorf("textlab: %w", err)
		}
		var md bytes.Buffer
		if err := textlab.WriteMarkdown(&md, res, lab); err != nil {
			return fmt.Errorf("textlab: report: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(o.out, "textlab.md"), md.Bytes()); err != nil {
			return fmt.Errorf("textlab: %w", err)
		}
		fmt.Fprintf(g.stderr, "wrote result.json and textlab.md to %s\n", o.out)
	}
	if o.json {
		_, err := g.stdout.Write(js)
		return err
	}
	fmt.Fprintf(g.stdout, "text KL Gap: %d worlds, %.1f s on %d workers\n", res.Worlds, res.Seconds, res.Workers)
	fmt.Fprintf(g.stdout, "%-6s %-6s %6s %10s   %s\n", "sweep", "value", "seeds", "gap mean", "95% CI of mean")
	for _, p := range res.Points {
		fmt.Fprintf(g.stdout, "%-6s %-6d %6d %10s   [%s, %s]\n", p.Sweep, p.Value, p.Gap.N,
			signed(p.Gap.Mean), signed(p.Gap.CI95[0]), signed(p.Gap.CI95[1]))
	}
	fmt.Fprintln(g.stdout, "Fig. 4 trends (paper: K ↓, J ↑, L ↓):")
	for _, t := range res.Trends {
		if t.Column != "gap" {
			continue
		}
		fmt.Fprintf(g.stdout, "  gap vs %s: %-12s slope %s [%s, %s]  ρ %s\n", t.Sweep, t.Verdict,
			signed(t.Slope), signed(t.SlopeCI[0]), signed(t.SlopeCI[1]), signed(t.Spearman))
	}
	return nil
}

// signed formats a number with its sign, or "n/a" when it is undefined
// (an interval from a single seed).
func signed(f textlab.Float) string {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.4f", v)
}

// readLab reads the summary of a GMM lab run; an empty or absent
// directory gives none.
func readLab(dir string) (*sim.Summary, error) {
	if dir == "" {
		return nil, nil
	}
	f, err := os.Open(filepath.Join(dir, "summary.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--gmm-lab: %w", err)
	}
	defer f.Close()
	s, err := sim.ReadSummaryJSON(f)
	if err != nil {
		return nil, fmt.Errorf("--gmm-lab %s: %w", dir, err)
	}
	return s, nil
}
