package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/report"
	"github.com/ggmi-dev/ggmi/sim"
)

type simulateOptions struct {
	sweep            string
	from, to, rounds int
	k, j, l, dim     int
	anchorPerComp    int
	synthetic        int
	anchorComponents string
	estimator        string
	direction        string
	mcSamples        int
	lossCap          float64
	histSamples      int
	histRounds       int
	histBins         int
	covariance       string
	covRidge         float64
	curateQuantile   float64
	emTol            float64
	emMaxIter        int
	emNInit          int
	regCovar         float64
	seed             uint64
	workers          int
	out              string
	json             bool
	noFigures        bool
}

func newSimulateCmd(g *globals) *cobra.Command {
	o := &simulateOptions{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Run the reverse-bottleneck paper's Gaussian-mixture world (App. B, Fig. 2, 4)",
		Long: `Run the Gaussian-mixture world of the reverse-bottleneck paper (§3.1, §4.4, App. B):
ground truth G (K+J components), anchors from its first K, generative model M (K fitted
from the anchors, J copied from G, L random), synthetic data from M, and GMMs fitted to
both. Reports the KL Gap KL(π_anchor‖G) − KL(π_gen‖G) and the theory's other terms per
round, summaries with 95% intervals, Fig. 4- and Fig. 2-style figures, and a report
saying which of the paper's trends hold under each estimator.

Writes into --out: rounds.csv, summary.csv, summary.json, fig4*.svg/png, world.svg/png
and report.md.`,
		Example: `  ggmi simulate --out runs/gmm                      # the full Fig. 4 protocol
  ggmi simulate --estimator mc,hist,hist-shared --out runs/gmm-all
  ggmi simulate --sweep J --rounds 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd, g, o) },
	}
	d := sim.DefaultConfig()
	f := c.Flags()
	f.StringVar(&o.sweep, "sweep", "all", "variable to sweep: K, J, L, all, or none (one configuration)")
	f.IntVar(&o.from, "from", 2, "first value of the swept variable")
	f.IntVar(&o.to, "to", 15, "last value of the swept variable")
	f.IntVar(&o.rounds, "rounds", 100, "outer rounds (independent worlds) per value")
	f.IntVar(&o.k, "K", d.K, "anchor components of G")
	f.IntVar(&o.j, "J", d.J, "unsampled components of G")
	f.IntVar(&o.l, "L", d.L, "task-irrelevant components of M")
	f.IntVar(&o.dim, "dim", d.Dim, "dimension of the space")
	f.IntVar(&o.anchorPerComp, "anchor-per-comp", d.AnchorPerComp, "anchor points per anchor component (N_k)")
	f.IntVar(&o.synthetic, "synthetic", d.Synthetic, "synthetic points drawn from M")
	f.StringVar(&o.anchorComponents, "anchor-components", "K", "components of π_anchor: K (reference code), K+J+L (paper's text) or a number")
	f.StringVar(&o.estimator, "estimator", "mc", "KL estimator(s), comma-separated, first is primary: mc, hist, hist-shared, all")
	f.StringVar(&o.direction, "direction", string(d.Direction), "KL direction of the primary gap: model-gt (paper) or gt-model")
	f.IntVar(&o.mcSamples, "mc-samples", d.MCSamples, "draws per Monte-Carlo estimate")
	f.Float64Var(&o.lossCap, "loss-cap", sim.DefaultLossCap, "C of the Lemma 3.1 check: the loss −log π_gen(x) is clipped to [0, C]")
	f.IntVar(&o.histSamples, "hist-samples", d.HistSamples, "draws per histogram (hist estimators)")
	f.IntVar(&o.histRounds, "hist-rounds", d.HistRounds, "inner resampling rounds of the hist estimators")
	f.IntVar(&o.histBins, "hist-bins", d.HistBins, "histogram bins per axis")
	f.StringVar(&o.covariance, "covariance", string(d.Covariance), "random covariance recipe: spd (A·Aᵀ + ridge) or reference (the public code's A·Bᵀ as NumPy samples it)")
	f.Float64Var(&o.covRidge, "cov-ridge", d.CovRidge, "ridge added to random covariances")
	f.Float64Var(&o.curateQuantile, "curate-quantile", 0, "curation ε: reject synthetic points below this quantile of density under G (0: none)")
	f.Float64Var(&o.emTol, "em-tol", d.EMTol, "EM convergence tolerance on the mean log-likelihood")
	f.IntVar(&o.emMaxIter, "em-max-iter", d.EMMaxIter, "EM iterations at most")
	f.IntVar(&o.emNInit, "em-n-init", d.EMNInit, "EM starts per fit (best kept)")
	f.Float64Var(&o.regCovar, "reg-covar", d.EMRegCovar, "ridge EM adds to fitted covariances")
	f.Uint64Var(&o.seed, "seed", 1, "seed of every random choice")
	f.IntVar(&o.workers, "workers", 0, "parallel workers (0: every core); results do not depend on it")
	f.StringVar(&o.out, "out", "runs/gmm-lab", "output directory ('' to write nothing)")
	f.BoolVar(&o.json, "json", false, "print the summary as JSON on stdout")
	f.BoolVar(&o.noFigures, "no-figures", false, "skip the figures")
	return c
}

// options turns the flags into the library's options; every error is the
// user's.
func (o *simulateOptions) options() (sim.Options, error) {
	cfg := sim.DefaultConfig()
	cfg.K, cfg.J, cfg.L, cfg.Dim = o.k, o.j, o.l, o.dim
	cfg.AnchorPerComp, cfg.Synthetic = o.anchorPerComp, o.synthetic
	switch s := strings.ToUpper(strings.ReplaceAll(o.anchorComponents, " ", "")); s {
	case "K":
		cfg.AnchorComponents = 0
	case "K+J+L":
		cfg.AnchorComponents = sim.AnchorKJL
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return sim.Options{}, fmt.Errorf("--anchor-components must be K, K+J+L or a positive number (got %q)", o.anchorComponents)
		}
		cfg.AnchorComponents = n
	}
	ests, err := sim.ParseEstimators(o.estimator)
	if err != nil {
		return sim.Options{}, err
	}
	cfg.Estimators = ests
	if cfg.Direction, err = sim.ParseDirection(o.direction); err != nil {
		return sim.Options{}, err
	}
	cfg.MCSamples, cfg.HistSamples, cfg.HistRounds, cfg.HistBins = o.mcSamples, o.histSamples, o.histRounds, o.histBins
	cfg.LossCap = o.lossCap
	cfg.Covariance, cfg.CovRidge = sim.CovRecipe(o.covariance), o.covRidge
	cfg.CurateQuantile = o.curateQuantile
	cfg.EMTol, cfg.EMMaxIter, cfg.EMNInit, cfg.EMRegCovar = o.emTol, o.emMaxIter, o.emNInit, o.regCovar
	opt := sim.Options{Config: cfg, From: o.from, To: o.to, Rounds: o.rounds, Seed: o.seed, Workers: o.workers}
	if o.sweep != "none" {
		if opt.Sweeps, err = sim.ParseSweep(o.sweep); err != nil {
			return sim.Options{}, err
		}
	}
	if err := opt.Validate(); err != nil {
		return sim.Options{}, err
	}
	return opt, nil
}

func runSimulate(cmd *cobra.Command, g *globals, o *simulateOptions) error {
	opt, err := o.options()
	if err != nil {
		return usageError{err}
	}
	if err := g.checkMemory("simulate with these flags", opt.MemoryEstimate()...); err != nil {
		return err
	}
	opt.Progress = newReporter(g.stderr, g.quiet)
	res, err := sim.Run(cmd.Context(), opt)
	if err != nil {
		return err
	}
	var s *sim.Summary
	if o.out != "" {
		// The example world of the Fig. 2-style figure: the base
		// configuration, drawn from the run's seed.
		var world *sim.World
		if !o.noFigures && opt.Config.Dim >= 2 {
			if world, _, err = sim.RunRound(opt.Config, opt.Seed, 3, 0, 0); err != nil {
				return fmt.Errorf("example world: %w", err)
			}
		}
		var files []string
		if s, files, err = report.GMMLab(o.out, res, world, !o.noFigures); err != nil {
			return err
		}
		if !o.json && !g.quiet {
			fmt.Fprintf(g.stderr, "wrote %d files to %s (report: %s/report.md)\n", len(files), o.out, o.out)
		}
	} else {
		s = res.Summarise()
	}
	if o.json {
		return sim.WriteSummaryJSON(g.stdout, s, false)
	}
	printSimulateSummary(g, s)
	return nil
}

func printSimulateSummary(g *globals, s *sim.Summary) {
	w := g.stdout
	fmt.Fprintf(w, "KL Gap (%s) over %d rounds per value, %.1f s on %d workers\n", s.Primary, s.Rounds, s.Seconds, s.Workers)
	for _, k := range s.Order {
		fmt.Fprintf(w, "\n%-6s %10s %10s %23s\n", k, "mean", "std", "95% CI of mean")
		for _, p := range s.Sweeps[k] {
			fmt.Fprintf(w, "%-6d %10.4f %10.4f   [%9.4f, %9.4f]\n", p.Value, p.Mean, p.Std, p.CI95[0], p.CI95[1])
		}
	}
	if len(s.Trends) > 0 {
		fmt.Fprintf(w, "\nFig. 4 trends (paper: K ↓, J ↑, L ↓):\n")
		for _, t := range s.Trends {
			if t.Paper == 0 {
				continue
			}
			fmt.Fprintf(w, "  %-26s vs %s: %-12s slope %+.4f [%+.4f, %+.4f]  ρ %+.3f\n", t.Column, t.Sweep, t.Verdict, t.Slope, t.SlopeCI[0], t.SlopeCI[1], t.Spearman)
		}
	}
}
