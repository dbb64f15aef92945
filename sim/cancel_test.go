package sim

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A cancelled run returns promptly with the context's error, also from
// inside the long loops (EM with many starts, the histogram estimators).
func TestRunStopsOnCancel(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"em-n-init", func(c *Config) { c.EMNInit = 1000000 }},
		{"hist", func(c *Config) { c.Estimators = []Estimator{Hist}; c.HistRounds = 1000000 }},
		{"mc", func(c *Config) { c.MCSamples = 200000 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mod(&cfg)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			_, err := Run(ctx, Options{Config: cfg, Rounds: 1000, Seed: 1, Workers: 2})
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			// 1000 rounds take minutes; a stop within a few seconds (not
			// the 1 s of an idle machine: CI shares 2 cores) shows that the
			// context reaches the loops.
			if took > 200*time.Millisecond+4*time.Second {
				t.Errorf("returned %v after the cancel", took-200*time.Millisecond)
			}
		})
	}
}

func TestMemoryEstimateGrows(t *testing.T) {
	base := Options{Config: DefaultConfig(), Rounds: 100, Seed: 1, Workers: 2}
	total := func(o Options) float64 {
		var s float64
		for _, t := range o.MemoryEstimate() {
			s += t.Bytes
		}
		return s
	}
	b := total(base)
	for name, mod := range map[string]func(*Options){
		"rounds":     func(o *Options) { o.Rounds = 1e6 },
		"synthetic":  func(o *Options) { o.Config.Synthetic = 1e7 },
		"mc-samples": func(o *Options) { o.Config.MCSamples = 1e7 },
		"hist-bins":  func(o *Options) { o.Config.Estimators = []Estimator{Hist}; o.Config.HistBins = 10000 },
	} {
		o := base
		mod(&o)
		if got := total(o); !(got > 10*b) {
			t.Errorf("%s: estimate %g, base %g", name, got, b)
		}
	}
}
