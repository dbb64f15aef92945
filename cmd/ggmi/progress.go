package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"
)

// newReporter returns a progress reporter for w: a bar on a terminal, plain
// lines (at most one every few seconds) otherwise, nothing when quiet.
func newReporter(w io.Writer, quiet bool) progress.Reporter {
	return newUnitReporter(w, quiet, "rounds")
}

// newUnitReporter is newReporter counting in the given unit ("requests").
// Both kinds of reporter also show a generation run's counters (records,
// tokens, cost): they implement generate.StatsReporter.
func newUnitReporter(w io.Writer, quiet bool, unit string) progress.Reporter {
	if quiet {
		return progress.Nop{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barReporter{w: w, unit: unit}
	}
	return &lineReporter{w: w, every: 5 * time.Second}
}

// statsText renders a generation run's counters for a progress display.
func statsText(s generate.Stats) string {
	t := fmt.Sprintf("%d records, %s tokens", s.Records, humanCount(s.Usage.TotalTokens()))
	if s.Cost > 0 {
		t += fmt.Sprintf(", cost %.4f", s.Cost)
	}
	if s.Failed > 0 {
		t += fmt.Sprintf(", %d failed", s.Failed)
	}
	if s.Concurrency > 0 {
		t += fmt.Sprintf(", concurrency %d", s.Concurrency)
	}
	if len(s.Endpoints) > 0 {
		t += ", endpoints " + endpointsText(s.Endpoints)
	}
	return t
}

// endpointsText renders per-endpoint answered counts, "120/118/40 down".
func endpointsText(eps []llm.EndpointStats) string {
	var b strings.Builder
	for i, e := range eps {
		if i > 0 {
			b.WriteByte('/')
		}
		fmt.Fprint(&b, e.Done)
		if e.Down {
			b.WriteString(" down")
		}
	}
	return b.String()
}

// humanCount writes n with a k or M suffix above a thousand.
func humanCount(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

type barReporter struct {
	w     io.Writer
	unit  string
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	stage string
}

// Stats shows a generation run's counters in the bar's description.
func (r *barReporter) Stats(s generate.Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		r.bar.Describe(r.stage + " (" + statsText(s) + ")")
	}
}

func (r *barReporter) Start(stage string, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	max := int64(total)
	if total <= 0 {
		max = -1
	}
	r.stage = stage
	r.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetDescription(stage),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetItsString(r.unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (r *barReporter) Add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		_ = r.bar.Add(n)
	}
}

func (r *barReporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		_ = r.bar.Finish()
		r.bar = nil
	}
}

type lineReporter struct {
	w           io.Writer
	every       time.Duration
	mu          sync.Mutex
	stage       string
	total, done int
	start, last time.Time
	stats       string
}

// Stats keeps a generation run's counters for the next line.
func (r *lineReporter) Stats(s generate.Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = statsText(s)
}

// rateETA renders the rate and the estimated time left.
func (r *lineReporter) rateETA() string {
	el := time.Since(r.start).Seconds()
	if el <= 0 || r.done == 0 {
		return ""
	}
	rate := float64(r.done) / el
	s := fmt.Sprintf(", %.1f/s", rate)
	if r.total > r.done {
		s += fmt.Sprintf(", ETA %s", time.Duration(float64(r.total-r.done)/rate*float64(time.Second)).Round(time.Second))
	}
	return s
}

func (r *lineReporter) suffix() string {
	if r.stats == "" {
		return ""
	}
	return " " + r.stats
}

func (r *lineReporter) Start(stage string, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stage, r.total, r.done, r.stats = stage, total, 0, ""
	r.start, r.last = time.Now(), time.Now()
	fmt.Fprintf(r.w, "%s: started (%d units)\n", stage, total)
}

func (r *lineReporter) Add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if time.Since(r.last) >= r.every {
		r.last = time.Now()
		fmt.Fprintf(r.w, "%s: %d/%d (%.0f s%s)%s\n", r.stage, r.done, r.total, time.Since(r.start).Seconds(), r.rateETA(), r.suffix())
	}
}

func (r *lineReporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%s: done %d/%d in %.1f s%s\n", r.stage, r.done, r.total, time.Since(r.start).Seconds(), r.suffix())
}
