package curate

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Verdict is a filter's decision on one record.
type Verdict struct {
	// Remove drops the record.
	Remove bool
	// Reason is a short, countable cause ("exact duplicate").
	Reason string
	// Detail goes into the removed record's Meta, each key prefixed with
	// "curate_" (for example "match" → "curate_match").
	Detail map[string]any
}

// Filter decides, for a list of records, which to remove. Filters that
// compare records with each other keep the earlier one.
type Filter interface {
	Name() string
	Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error)
}

// Report says how many records a filter removed and why.
type Report struct {
	Filter  string         `json:"filter"`
	Seen    int            `json:"seen"`
	Removed int            `json:"removed"`
	Reasons map[string]int `json:"reasons,omitempty"`
}

// String summarises the report in one line.
func (r Report) String() string {
	keys := make([]string, 0, len(r.Reasons))
	for k := range r.Reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, r.Reasons[k])
	}
	return fmt.Sprintf("%s: removed %d of %d (%s)", r.Filter, r.Removed, r.Seen, strings.Join(parts, ", "))
}

// Result is what a pipeline kept and removed.
type Result struct {
	Kept    []dataset.Record
	Removed []dataset.Record
	Reports []Report
}

// Pipeline applies filters in order; each sees only what the previous kept.
type Pipeline struct {
	Filters []Filter
}

// Run applies the pipeline. Removed records carry "curate_filter",
// "curate_reason" and the filter's details in a copy of their Meta.
func (p Pipeline) Run(ctx context.Context, recs []dataset.Record) (Result, error) {
	var res Result
	cur := recs
	for _, f := range p.Filters {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("curate: %w", err)
		}
		vs, err := f.Apply(ctx, cur)
		if err != nil {
			return res, fmt.Errorf("curate %s: %w", f.Name(), err)
		}
		if len(vs) != len(cur) {
			return res, fmt.Errorf("curate %s: %d verdicts for %d records", f.Name(), len(vs), len(cur))
		}
		rep := Report{Filter: f.Name(), Seen: len(cur), Reasons: map[string]int{}}
		next := make([]dataset.Record, 0, len(cur))
		for i, v := range vs {
			if !v.Remove {
				next = append(next, cur[i])
				continue
			}
			rep.Removed++
			rep.Reasons[v.Reason]++
			r := cur[i]
			m := make(map[string]any, len(r.Meta)+2+len(v.Detail))
			maps.Copy(m, r.Meta)
			m["curate_filter"] = f.Name()
			m["curate_reason"] = v.Reason
			for k, d := range v.Detail {
				m["curate_"+k] = d
			}
			r.Meta = m
			res.Removed = append(res.Removed, r)
		}
		res.Reports = append(res.Reports, rep)
		cur = next
	}
	res.Kept = cur
	return res, nil
}

// Default returns the Self-Instruct / Alpaca pipeline: StartChar, Length,
// Keywords, ExactDedup, NearDedup (threshold 0.8), RougeL against the
// anchors (threshold 0.7) and, when eval is not empty, Decontaminate
// against eval (13-grams).
func Default(anchors, eval []dataset.Record) Pipeline {
	p := Pipeline{Filters: []Filter{
		&StartChar{}, &Length{}, &Keywords{}, &ExactDedup{}, &NearDedup{}, &RougeL{Anchors: anchors},
	}}
	if len(eval) > 0 {
		p.Filters = append(p.Filters, &Decontaminate{Eval: eval})
	}
	return p
}

func workers(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return max(n, 1)
}

// parallel runs fn(i) for i in [0, n) on w goroutines.
func parallel(n, w int, fn func(worker, i int)) {
	_ = parallelCtx(context.Background(), n, w, fn)
}

// parallelCtx is parallel that stops taking new items once ctx is done and
// then returns ctx's error.
func parallelCtx(ctx context.Context, n, w int, fn func(worker, i int)) error {
	w = min(workers(w), max(n, 1))
	if w == 1 {
		for i := range n {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fn(0, i)
		}
		return ctx.Err()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(k, i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// canceled reports ctx's error every 4096th call of i (for tight loops).
func canceled(ctx context.Context, i int) error {
	if i&4095 != 0 {
		return nil
	}
	return ctx.Err()
}
