package embed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// A cancelled context stops LSA (TF-IDF and the randomized SVD) within a
// second with the context's error and no vectors.
func TestLSAStopsOnCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	texts := make([]string, 20000)
	for i := range texts {
		var b strings.Builder
		for range 60 {
			fmt.Fprintf(&b, "w%d ", rng.IntN(20000))
		}
		texts[i] = b.String()
	}
	for _, after := range []time.Duration{0, 30 * time.Millisecond, 300 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(after, cancel)
		start := time.Now()
		v, err := LSA{Dim: 200, Seed: 1}.Embed(ctx, texts)
		took := time.Since(start) - after
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %v: err %v, want context.Canceled (took %v)", after, err, time.Since(start))
		}
		if v != nil {
			t.Errorf("cancel after %v: vectors returned", after)
		}
		if took > time.Second+4*time.Second { // 1 s, plus slack for a loaded CI machine
			t.Errorf("cancel after %v: stopped %v later", after, took)
		}
	}
}
