package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/experiment"
)

type runOptions struct {
	stage string
	shard string
	force bool
	merge []string
	out   string
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Run an experiment end to end: data, generation, curation, measures, students, judge, report",
		Long: `Run every stage of an experiment file (see examples/): the real data and its split,
generation with each generator and sweep point, curation ε, the measurement suite, students
trained on real, synthetic and mixed data and evaluated on the held-out split, the LLM
judge, and report.html, which puts each measured quantity next to the downstream gain it
was meant to predict.

Finished stages are skipped when their inputs are unchanged; an interrupted run resumes
where it stopped, and generation never repeats a request whose answer is cached.
--shard i/N does configuration i, i+N, … only (auto/N reads JOB_COMPLETION_INDEX, as set
by a Kubernetes indexed job, or SLURM_ARRAY_TASK_ID of a Slurm job array) and, at its end,
writes the completion marker shards/I-of-N.json with its stats into the run directory;
--merge DIR… checks that every shard's marker is there and complete (otherwise it lists
what is missing, merges nothing and exits with 2), joins the shards' run directories into
this one and writes the report. examples/jobs/k8s-indexed-job.yaml and examples/jobs/slurm-array.sh
run examples/offline.yaml as three shards.

Exit codes: 0 done; 1 a stage failed (the other configurations still ran); 2 a mistake
in the command line or the experiment file; 130 interrupted.`,
		Example: `  ggmi run examples/offline.yaml
  ggmi run examples/app-g-dolly.yaml --stage generate --shard auto/8
  ggmi run examples/app-g-dolly.yaml --merge /mnt/shard0 /mnt/shard1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, g, o, args[0]) },
	}
	f := c.Flags()
	f.StringVar(&o.stage, "stage", "", "run only this stage, or these stages joined by commas: "+strings.Join(experiment.Stages, ", "))
	f.StringVar(&o.shard, "shard", "", "do this machine's share i/N of the configurations (auto/N: from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID)")
	f.BoolVar(&o.force, "force", false, "rerun stages even when their inputs are unchanged")
	f.StringSliceVar(&o.merge, "merge", nil, "shard run directories to join into this run before the report (refused unless every shard finished)")
	f.StringVar(&o.out, "out", "", "run directory (default: the file's out, else runs/<name> beside it)")
	return c
}

func runRun(cmd *cobra.Command, g *globals, o *runOptions, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return userErr("read experiment: %v", err)
	}
	// Every mistake of the file at once, each at its line, before any
	// stage runs: settings, sweep keys and values, files, model headers.
	cfg, err := experiment.Check(path, raw, filepath.Dir(path), true)
	if err != nil {
		return usageError{err}
	}
	if o.out != "" {
		if cfg.Out, err = filepath.Abs(o.out); err != nil {
			return userErr("--out: %v", err)
		}
	}
	shard, err := experiment.ParseShard(o.shard)
	if err != nil {
		return userErr("%v", err)
	}
	if len(o.merge) > 0 && shard.Active() {
		return userErr("--merge joins shards; do not combine it with --shard")
	}
	r, err := experiment.NewRunner(cfg, raw, experiment.Options{
		Stage: o.stage, Shard: shard, Force: o.force, Version: version,
		Progress: newUnitReporter(g.stderr, g.quiet, "steps"), Log: logWriter(g),
	})
	if err != nil {
		return userErr("experiment %s: %v", path, err)
	}
	if len(o.merge) > 0 {
		merged, err := r.MergeShards(o.merge...)
		if errors.Is(err, experiment.ErrShardsIncomplete) {
			return userErr("--merge: %v", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(logWriter(g), "merged %d configuration(s): %s\n", len(merged), strings.Join(merged, ", "))
	}
	err = r.Run(cmd.Context())
	if err != nil && !errors.Is(err, cmd.Context().Err()) {
		return fmt.Errorf("run %s (directory %s): %w", cfg.Name, r.Dir(), err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "run directory: %s\n", r.Dir())
	if _, e := os.Stat(filepath.Join(r.Dir(), "report.html")); e == nil {
		fmt.Fprintf(g.stdout, "report: %s\n", filepath.Join(r.Dir(), "report.html"))
	}
	return nil
}

// logWriter is where a command's one-line status messages go.
func logWriter(g *globals) io.Writer {
	if g.quiet {
		return io.Discard
	}
	return g.stderr
}
