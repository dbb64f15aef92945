package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
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
	return root
}

// run executes the command line and returns the process exit code: 0 on
// success, 2 for a user's mistake, 1 for any other failure, 130 when
// interrupted, or a command's own code (exitError).
func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	var xe exitError
	switch {
	case errors.As(err, &xe):
		fmt.Fprintf(stderr, "ggmi: %v\n", err)
		return xe.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ggmi: %v\n", err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "ggmi: interrupted")
		return 130
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
