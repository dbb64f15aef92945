package gmm

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A cancelled context stops the k-means initialisation (seeding and Lloyd
// iterations) within a second: many points, many components, one start.
func TestKMeansInitStopsOnCancel(t *testing.T) {
	const n, d, k = 200000, 16, 64
	rng := rngFor(5)
	x := make([]float64, n*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for _, init := range []InitMethod{InitKMeans, InitKMeansPP} {
		for _, after := range []time.Duration{0, 100 * time.Millisecond} {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(after, cancel)
			start := time.Now()
			_, err := FitEM(x, d, FitOptions{Components: k, Init: init, MaxIter: 1000, Seed: 1, Context: ctx})
			took := time.Since(start) - after
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("init %d, cancel after %v: err %v, want context.Canceled", init, after, err)
			}
			if took > time.Second+4*time.Second { // 1 s, plus slack for a loaded CI machine
				t.Errorf("init %d, cancel after %v: stopped %v later", init, after, took)
			}
		}
	}
}
