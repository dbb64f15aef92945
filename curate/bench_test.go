package curate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// benchCorpus builds n synthetic records and the anchors from the real
// instructions in shared/data: every record is a real instruction (Self-
// Instruct seed and user-oriented tasks, GSM8K questions, MT-bench turns)
// with 0–8 word-level edits (drop, swap, replace, insert), and one in ten is
// a planted copy of an earlier record (re-cased, re-spaced). The anchors are
// the first nAnchors real instructions.
func benchCorpus(b testing.TB, n, nAnchors int) (anchors, recs []dataset.Record) {
	seed, user := loadInstructions(b)
	var base []string
	for _, r := range append(seed, user...) {
		base = append(base, r.Instruction)
	}
	for _, f := range [][]string{{"gsm8k", "test.jsonl"}, {"gsm8k", "train.jsonl"}, {"mt-bench", "question.jsonl"}} {
		rs, _, err := dataset.ReadFile(dataPath(b, f...), dataset.ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if len(r.Messages) > 0 {
				for _, m := range r.Messages {
					base = append(base, m.Content)
				}
				continue
			}
			base = append(base, r.Instruction)
		}
	}
	for i := range nAnchors {
		anchors = append(anchors, dataset.Record{ID: fmt.Sprint("anchor-", i), Instruction: base[i]})
	}
	var vocab []string
	for _, s := range base[:2000] {
		vocab = append(vocab, strings.Fields(s)...)
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	recs = make([]dataset.Record, n)
	for i := range recs {
		id := fmt.Sprint("gen-", i)
		if i > 0 && rng.IntN(10) == 0 {
			src := recs[rng.IntN(i)].Instruction
			if rng.IntN(2) == 0 {
				src = strings.ToUpper(src)
			}
			recs[i] = dataset.Record{ID: id, Instruction: "  " + strings.ReplaceAll(src, " ", "  ")}
			continue
		}
		w := strings.Fields(base[rng.IntN(len(base))])
		w = perturb(rng, w, vocab, rng.IntN(9))
		recs[i] = dataset.Record{ID: id, Instruction: strings.Join(w, " ")}
	}
	return anchors, recs
}

// BenchmarkCurate100k runs exact dedup, MinHash near-dedup and the ROUGE-L
// filter (against 1,000 anchors) over 100,000 synthetic records.
func BenchmarkCurate100k(b *testing.B) {
	anchors, recs := benchCorpus(b, 100_000, 1000)
	p := Pipeline{Filters: []Filter{&ExactDedup{}, &NearDedup{}, &RougeL{Anchors: anchors}}}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := p.Run(context.Background(), recs)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, r := range res.Reports {
			b.Logf("%v", r)
		}
		b.Logf("kept %d of %d in %.2f s", len(res.Kept), len(recs), time.Since(start).Seconds())
		b.StartTimer()
	}
}
