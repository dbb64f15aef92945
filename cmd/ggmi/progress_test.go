package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/progress"
)

// Off a terminal, progress is plain lines: a start, throttled updates and
// an end with the counts; -q silences it.
func TestLineReporter(t *testing.T) {
	var b bytes.Buffer
	r := newReporter(&b, false)
	lr, ok := r.(*lineReporter)
	if !ok {
		t.Fatalf("a buffer got %T, want plain lines", r)
	}
	lr.every = time.Nanosecond
	r.Start("simulate", 3)
	for range 3 {
		r.Add(1)
	}
	r.Done()
	out := b.String()
	for _, want := range []string{"simulate: started (3 units)", "simulate: 1/3", "simulate: done 3/3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, ok := newReporter(&b, true).(progress.Nop); !ok {
		t.Error("quiet mode is not silent")
	}
}
