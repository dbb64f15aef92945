// Command coverage runs the coverage harness of the measure package: every
// estimator that reports a 95% interval, on distributions with a known
// truth, R replicates each, and prints a Markdown table of the coverage
// (or, for permutation tests, the size at α = 0.05) with its Wilson
// interval.
//
//	go run ./bench/coverage [-r 200] [-seed 20261205] [-only text,text,…] [-case text]
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/measure"
)

func main() {
	r := flag.Int("r", 200, "replicates per case (cheap cases run a multiple of it; the table gives each row's R)")
	seed := flag.Uint64("seed", 20261205, "seed")
	only := flag.String("only", "", "run only the cases whose estimator contains one of these comma-separated texts")
	only2 := flag.String("case", "", "and only the cases whose description contains this text")
	flag.Parse()
	if *r < 1 {
		fmt.Fprintln(os.Stderr, "coverage: -r must be positive")
		os.Exit(2)
	}
	t0 := time.Now()
	var rows []measure.CoverageRow
	for _, c := range measure.CoverageCases(false) {
		if *only != "" && !slices.ContainsFunc(strings.Split(*only, ","), func(s string) bool { return strings.Contains(c.Estimator, s) }) {
			continue
		}
		if !strings.Contains(c.Case, *only2) {
			continue
		}
		row := measure.RunCoverage(c, c.Replicates(*r), *seed)
		fmt.Fprintf(os.Stderr, "%s, %s: %.3f (%.0f s)\n", row.Estimator, row.Case, row.Rate, row.Seconds)
		rows = append(rows, row)
	}
	fmt.Print(measure.CoverageMarkdown(rows))
	fmt.Printf("\n%d replicates per case (cheap cases more, see R), seed %d, %s, %.0f s in all.\n", *r, *seed, time.Now().UTC().Format("2006-01-02"), time.Since(t0).Seconds())
}
