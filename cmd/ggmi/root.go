package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/budget"
	"github.com/ggmi-dev/ggmi/internal/crash"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks a mistake of the user's (bad flag, bad value, missing
// file): it is printed as one sentence and exits with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func userErr(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError is a failure with its own exit code (see each command's help).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// globals are the options every command shares.
type globals struct {
	stdout, stderr io.Writer
	quiet          bool
	maxMemory      string
}

// memLimit is the memory a command may plan to use: --max-memory, else the
// memory available now (MemAvailable), else no limit.
func (g *globals) memLimit() (budget.Limit, error) {
	if g.maxMemory != "" {
		b, err := budget.ParseSize(g.maxMemory)
		if err != nil {
			return budget.Limit{}, userErr("--max-memory: %v", err)
		}
		return budget.Limit{Bytes: b, From: "--max-memory"}, nil
	}
	return budget.Limit{Bytes: budget.Available(), From: "the memory available now"}, nil
}

// checkMemory refuses a command whose estimate exceeds the limit.
func (g *globals) checkMemory(what string, terms ...budget.Term) error {
	lim, err := g.memLimit()
	if err != nil {
		return err
	}
	total, hint := budget.Sum(terms...)
	if err := lim.Check(what, total, hint); err != nil {
		return usageError{err}
	}
	return nil
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ggmi",
		Short: "Make synthetic data for LLM post-training measurable",
		Long: "ggmi generates synthetic instruction data and measures it with the quantities of the\n" +
			"reverse-bottleneck theory (divergences, information gain, entropies, GGMI), and\n" +
			"reproduces the theory's Gaussian-mixture world (`ggmi simulate`).",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress output")
	root.PersistentFlags().StringVar(&g.maxMemory, "max-memory", "", "refuse work whose estimated memory exceeds this (e.g. 4G; default: the memory available now)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newSimulateCmd(g))
	root.AddCommand(newCurateCmd(g))
	root.AddCommand(newServeCmd(g))
	root.AddCommand(newMeasureCmd(g))
	root.AddCommand(newCompareCmd(g))
	root.AddCommand(newTextlabCmd(g))
	root.AddCommand(newGenerateCmd(g))
	root.AddCommand(newRunCmd(g))
	root.AddCommand(newTokenizeCmd(g))
	for _, f := range extraCommands {
		root.AddCommand(f(g))
	}
	return root
}

// extraCommands are added to the root by tests (e.g. a command that panics).
var extraCommands []func(*globals) *cobra.Command

// Exit codes beyond a command's own.
const (
	exitInternal    = 70  // a bug: a panic recovered at the command boundary
	exitInterrupted = 130 // SIGINT or SIGTERM
)

// hardExit, set by main, lets an interrupt end the process when the command
// has not returned within interruptGrace (tests calling run leave it off).
var (
	hardExit       func(int)
	interruptGrace = 900 * time.Millisecond
)

// run executes the command line and returns the process exit code: 0 on
// success, 2 for a user's mistake, 1 for any other failure, 70 for an
// internal error (a bug), 130 when interrupted, or a command's own code
// (exitError).
func run(args []string, stdout, stderr io.Writer) (code int) {
	g := &globals{stdout: stdout, stderr: stderr}
	defer func() {
		if p := crash.Capture(recover()); p != nil {
			code = reportPanic(stderr, p, args)
		}
	}()
	root := newRootCmd(g)
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-sigs:
		case <-finished:
			return
		}
		cancel()
		if hardExit == nil {
			return
		}
		// Every output is written atomically, so ending here leaves each
		// one complete or absent; a second signal ends at once.
		select {
		case <-finished:
		case <-sigs:
			fmt.Fprintln(stderr, "ggmi: interrupted")
			hardExit(exitInterrupted)
		case <-time.After(interruptGrace):
			fmt.Fprintln(stderr, "ggmi: interrupted")
			hardExit(exitInterrupted)
		}
	}()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	var xe exitError
	var pe *crash.Panic
	switch {
	case errors.As(err, &pe):
		return reportPanic(stderr, pe, args)
	case errors.As(err, &xe):
		fmt.Fprintf(stderr, "ggmi: %v\n", err)
		return xe.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ggmi: %v\n", err)
		return 2
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		fmt.Fprintln(stderr, "ggmi: interrupted")
		return exitInterrupted
	}
	// Cobra's own argument errors (unknown command, wrong arity) are the
	// user's too.
	if isCobraUsage(err) {
		fmt.Fprintf(stderr, "ggmi: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "ggmi: %v\n", err)
	return 1
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// reportPanic writes the panic's stack to a log file and says so.
func reportPanic(stderr io.Writer, p *crash.Panic, args []string) int {
	path, err := crash.WriteLog(p, args, version)
	if err != nil {
		fmt.Fprintf(stderr, "ggmi: internal error, please report: %v\n%s", p.Value, p.Stack)
		return exitInternal
	}
	fmt.Fprintf(stderr, "ggmi: internal error, please report it with the log %s (%v)\n", path, p.Value)
	return exitInternal
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so that an interrupted command leaves the old file or the new, never part.
func writeFileAtomic(path string, b []byte) error {
	return dataset.WriteAtomic(path, false, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// counts prints reason counts as "too short 1, keyword draw 2" (sorted by
// reason), or "–" when there are none.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "–"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
