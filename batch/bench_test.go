package batch_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ggmi-dev/ggmi/batch"
	"github.com/ggmi-dev/ggmi/llm"
)

// nopBackend is the backend under the cache: batch answers never call it.
type nopBackend struct{ llm.Backend }

func (nopBackend) Identity() string { return "bench" }
func (nopBackend) Models() []string { return []string{"m"} }

// BenchmarkPrepareIngest100k encodes 100,000 requests, submits them to the
// local fake (two OpenAI batches, or one Anthropic batch), polls, downloads
// and decodes the results and commits them to a real cache file. The
// fake's own work (parsing the upload, answering) runs in the same process
// and is included.
func BenchmarkPrepareIngest100k(b *testing.B) {
	for _, prov := range providers {
		b.Run(prov, func(b *testing.B) {
			t := &testing.T{}
			_, p, items := setup(t, 100_000, prov)
			for b.Loop() {
				c, err := llm.Cached(nopBackend{}, filepath.Join(b.TempDir(), "cache.db"))
				if err != nil {
					b.Fatal(err)
				}
				rep, err := batch.Run(context.Background(), batch.Options{Provider: p, Ledger: filepath.Join(b.TempDir(), "ledger.jsonl"),
					Items: items, Store: c.Put, Sleep: noSleep})
				c.Close()
				if err != nil || len(rep.Answered) != len(items) {
					b.Fatalf("%v: %d answered", err, len(rep.Answered))
				}
			}
		})
	}
}
