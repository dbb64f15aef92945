package measure

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// The resampling loops stop once their context is done: the statistic is
// called at most once per worker after the cancellation, and the error is
// the context's.
func TestBootstrapCancel(t *testing.T) {
	cases := []struct {
		name    string
		workers int
	}{{"one worker", 1}, {"four workers", 4}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls atomic.Int64
			stat := func(idx [][]int) (float64, error) {
				if calls.Add(1) == 3 {
					cancel()
				}
				return float64(len(idx[0])), nil
			}
			_, err := Bootstrap([]int{50}, 25, stat, BootstrapOptions{Resamples: 10000, Seed: 1, Workers: c.workers, Context: ctx})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if n := calls.Load(); n > 3+int64(c.workers) {
				t.Errorf("%d statistics computed after cancelling at the 3rd (workers %d)", n, c.workers)
			}
		})
	}
}

// A k-NN estimator with a cancelled context returns the context's error
// instead of an interval.
func TestKNNIntervalCancel(t *testing.T) {
	x := gauss(rand.New(rand.NewPCG(3, 3)), 200, 2, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, biasAware := range []bool{false, true} {
		_, err := KLEntropyCI(x, 3, KNNInterval{Resamples: 50, Seed: 1, BiasAware: biasAware, Context: ctx})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("bias-aware %v: err = %v, want context.Canceled", biasAware, err)
		}
	}
}

// Run stops inside a metric's resampling, not only between metrics: a
// deadline far shorter than the uncancelled run (seconds of half-samples)
// ends it with the context's error well within a second of the deadline.
func TestRunCancelsInsideMetrics(t *testing.T) {
	data, anchors, train := suiteData(1)
	s := Suite{Data: data, Anchors: anchors, Train: train, Embedder: hashEmbedder{16}, Metrics: "vendi",
		Seed: 7, Bootstrap: 100000, BootstrapMaxN: -1, Workers: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := Run(ctx, s)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Run returned %v after a 50 ms deadline", d)
	}
}
