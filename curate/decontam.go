package curate

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Decontaminate drops records that share an N-gram of words (13 by
// default; tokens as Tokenize makes them) with any record of an evaluation
// split. Each field is tokenised on its own, so n-grams never span fields;
// texts shorter than N words cannot match. Details: "eval_id" (the first
// evaluation record holding the n-gram) and "ngram".
type Decontaminate struct {
	Eval []dataset.Record
	// Fields are compared (instruction, input and output by default).
	Fields []string
	// EvalFields are indexed (Fields by default).
	EvalFields []string
	N          int
	// Workers scan records in parallel (GOMAXPROCS when 0).
	Workers int
}

// Name implements Filter.
func (f *Decontaminate) Name() string { return "decontaminate" }

// ngramHashes returns one hash per n-gram of the tokens.
func ngramHashes(toks []string, n int) []uint64 {
	if len(toks) < n {
		return nil
	}
	out := make([]uint64, 0, len(toks)-n+1)
	th := make([]uint64, len(toks))
	for i, t := range toks {
		h := fnv.New64a()
		h.Write([]byte(t))
		th[i] = h.Sum64()
	}
	for i := 0; i+n <= len(toks); i++ {
		h := uint64(n)
		for _, x := range th[i : i+n] {
			h = splitmix64(h ^ x)
		}
		out = append(out, h)
	}
	return out
}

// Apply implements Filter.
func (f *Decontaminate) Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error) {
	n := f.N
	if n == 0 {
		n = 13
	}
	if n < 1 {
		return nil, fmt.Errorf("n-gram size %d < 1", n)
	}
	fields := orFields(f.Fields, "instruction", "input", "output")
	efields := orFields(f.EvalFields, fields...)
	index := map[uint64]int{}
	for i, r := range f.Eval {
		for _, fl := range efields {
			for _, h := range ngramHashes(Tokenize(r.Field(fl)), n) {
				if _, ok := index[h]; !ok {
					index[h] = i
				}
			}
		}
	}
	out := make([]Verdict, len(recs))
	reason := fmt.Sprintf("%d-gram overlap", n)
	parallel(len(recs), f.Workers, func(_, i int) {
		for _, fl := range fields {
			toks := Tokenize(recs[i].Field(fl))
			for k, h := range ngramHashes(toks, n) {
				if e, ok := index[h]; ok {
					out[i] = Verdict{Remove: true, Reason: reason, Detail: map[string]any{
						"eval_id": f.Eval[e].ID, "ngram": joinWords(toks[k : k+n]),
					}}
					return
				}
			}
		}
	})
	return out, ctx.Err()
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// Scorer rates a record, for example with an LLM judge; higher is better.
type Scorer interface {
	Score(ctx context.Context, r dataset.Record) (float64, error)
}

// Judge drops records that Scorer rates below Min. Scores are computed in
// parallel by Workers goroutines (4 when 0); the first error (in record
// order) stops the filter. Details: "score".
type Judge struct {
	Scorer  Scorer
	Min     float64
	Workers int
}

// Name implements Filter.
func (f *Judge) Name() string { return "judge" }

// Apply implements Filter.
func (f *Judge) Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error) {
	if f.Scorer == nil {
		return nil, fmt.Errorf("no scorer")
	}
	w := f.Workers
	if w == 0 {
		w = 4
	}
	scores := make([]float64, len(recs))
	errs := make([]error, len(recs))
	parallel(len(recs), w, func(_, i int) {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			return
		}
		scores[i], errs[i] = f.Scorer.Score(ctx, recs[i])
	})
	out := make([]Verdict, len(recs))
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("score record %s: %w", recs[i].ID, err)
		}
		if math.IsNaN(scores[i]) {
			return nil, fmt.Errorf("score record %s: scorer returned NaN", recs[i].ID)
		}
		if scores[i] < f.Min {
			out[i] = Verdict{Remove: true, Reason: "score below minimum", Detail: map[string]any{"score": scores[i]}}
		}
	}
	return out, nil
}
