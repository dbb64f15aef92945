package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ggmi-dev/ggmi/progress"
)

// newReporter returns a progress reporter for w: a bar on a terminal, plain
// lines (at most one every few seconds) otherwise, nothing when quiet.
func newReporter(w io.Writer, quiet bool) progress.Reporter {
	if quiet {
		return progress.Nop{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barReporter{w: w}
	}
	return &lineReporter{w: w, every: 5 * time.Second}
}

type barReporter struct {
	w   io.Writer
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func (r *barReporter) Start(stage string, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	max := int64(total)
	if total <= 0 {
		max = -1
	}
	r.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetDescription(stage),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rounds"),
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
}

func (r *lineReporter) Start(stage string, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stage, r.total, r.done = stage, total, 0
	r.start, r.last = time.Now(), time.Now()
	fmt.Fprintf(r.w, "%s: started (%d units)\n", stage, total)
}

func (r *lineReporter) Add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	if time.Since(r.last) >= r.every {
		r.last = time.Now()
		fmt.Fprintf(r.w, "%s: %d/%d (%.0f s)\n", r.stage, r.done, r.total, time.Since(r.start).Seconds())
	}
}

func (r *lineReporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%s: done %d/%d in %.1f s\n", r.stage, r.done, r.total, time.Since(r.start).Seconds())
}
