package curate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// bigRecords returns n records whose instruction has words random words
// drawn from a vocabulary of vocab (fixed seed).
func bigRecords(n, words, vocab int) []dataset.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]dataset.Record, n)
	for i := range out {
		var b strings.Builder
		for range words {
			fmt.Fprintf(&b, "w%d ", rng.IntN(vocab))
		}
		out[i] = dataset.Record{ID: fmt.Sprint(i), Instruction: b.String()}
	}
	return out
}

// A cancelled context stops each filter's long loop well within a second,
// with the context's error and no verdicts (a large anchor document for
// ROUGE-L, many long records for MinHash).
func TestFiltersStopOnCancel(t *testing.T) {
	cases := []struct {
		name   string
		filter Filter
		recs   []dataset.Record
	}{
		{"rouge-l big anchor", &RougeL{Anchors: bigRecords(1, 3_000_000, 5000)}, bigRecords(50, 20, 100)},
		{"near-dedup", &NearDedup{Chars: true}, bigRecords(400, 20_000, 5000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, after := range []time.Duration{0, 50 * time.Millisecond} {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(after, cancel)
				start := time.Now()
				vs, err := c.filter.Apply(ctx, c.recs)
				took := time.Since(start) - after
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("cancel after %v: err %v, want context.Canceled", after, err)
				}
				if vs != nil {
					t.Errorf("cancel after %v: %d verdicts, want none", after, len(vs))
				}
				if took > time.Second {
					t.Errorf("cancel after %v: stopped %v later", after, took)
				}
			}
		})
	}
}
