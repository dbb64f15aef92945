package batch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"
)

// Options configure Run.
type Options struct {
	// Provider is the batch API.
	Provider Provider
	// Ledger is the path of the run's ledger (created when missing).
	Ledger string
	// Items are the requests that still lack an answer.
	Items []Item
	// Store commits answers to the cache (called with up to a few
	// thousand answers at a time).
	Store func([]llm.Keyed) error
	// Resubmit sends again the requests that failed or expired in an
	// earlier batch; without it they are reported in Report.Failed.
	Resubmit bool
	// Poll is the time between two polls of a batch (30 s when ≤ 0).
	Poll time.Duration
	// Limits split the requests further than the provider's limits
	// (zero fields: the provider's).
	Limits Limits
	// Progress receives one unit per request whose batch ended.
	Progress progress.Reporter
	// Now and Sleep are the clock (time.Now and a context-aware sleep
	// when nil).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// Report is what Run did.
type Report struct {
	// Created counts the batches this run created, Submitted their
	// requests, Resubmitted those of them sent again after a failure.
	Created, Submitted, Resubmitted int
	// Resumed counts batches of earlier runs this run polled or adopted.
	Resumed int
	// Answered holds the custom ids whose answers this run stored.
	Answered map[string]bool
	// Failed gives, for each request still without an answer, the reason.
	Failed map[string]string
	// Notes are the problems met while reading results (malformed lines,
	// custom ids not ours), one sentence each; BadLines counts them all.
	Notes    []string
	BadLines int
}

// storeChunk is the number of answers committed in one transaction.
const storeChunk = 2000

// Run answers opt.Items through the provider's batch API (see the package
// documentation for how the ledger makes it resumable). The answers are
// committed with opt.Store before the ledger marks their batch ingested.
// A request with no answer at the end is in Report.Failed.
func Run(ctx context.Context, opt Options) (Report, error) {
	rep := Report{Answered: map[string]bool{}, Failed: map[string]string{}}
	p := opt.Provider
	if p == nil || opt.Store == nil || opt.Ledger == "" {
		return rep, errors.New("batch: Provider, Store and Ledger are required")
	}
	if opt.Poll <= 0 {
		opt.Poll = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleepCtx
	}
	lim := p.Limits()
	if opt.Limits.MaxRequests > 0 && opt.Limits.MaxRequests < lim.MaxRequests {
		lim.MaxRequests = opt.Limits.MaxRequests
	}
	if opt.Limits.MaxBytes > 0 && opt.Limits.MaxBytes < lim.MaxBytes {
		lim.MaxBytes = opt.Limits.MaxBytes
	}
	prog := progress.OrNop(opt.Progress)
	led, err := openLedger(opt.Ledger, p.Name())
	if err != nil {
		return rep, err
	}
	defer led.close()

	want := make(map[string]*Item, len(opt.Items))
	for i := range opt.Items {
		want[opt.Items[i].ID] = &opt.Items[i]
	}
	// Creations cut short by a kill: find the batch or void the intent.
	for _, r := range led.records {
		if r.void || r.batch != "" {
			continue
		}
		id, found, err := p.Find(ctx, r.tag, len(r.ids), r.time.Add(-time.Minute), led.claimed())
		if err != nil {
			return rep, fmt.Errorf("batch: look for batch %s of an interrupted run: %w", r.tag, err)
		}
		if found {
			err = led.append(entry{Op: opSubmit, Tag: r.tag, Batch: id})
		} else {
			err = led.append(entry{Op: opVoid, Tag: r.tag})
		}
		if err != nil {
			return rep, err
		}
	}
	owner := map[string]*record{}
	for _, r := range led.records {
		if r.void {
			continue
		}
		for _, id := range r.ids {
			owner[id] = r
		}
	}
	var fresh []*Item
	resubmit := map[string]bool{}
	for i := range opt.Items {
		it := &opt.Items[i]
		r := owner[it.ID]
		switch {
		case r == nil:
			fresh = append(fresh, it)
		case r.ingested && opt.Resubmit:
			fresh = append(fresh, it)
			resubmit[it.ID] = true
		case r.ingested:
			reason := r.failed[it.ID]
			if reason == "" {
				reason = "its answer is missing from the cache"
			}
			rep.Failed[it.ID] = fmt.Sprintf("%s (batch %s; --batch-resubmit sends it again)", reason, r.batch)
		}
	}
	var active []*record
	for _, r := range led.records {
		if r.void || r.ingested {
			continue
		}
		for _, id := range r.ids {
			if want[id] != nil {
				active = append(active, r)
				rep.Resumed++
				break
			}
		}
	}
	// New batches, split at the limits.
	for len(fresh) > 0 {
		var lines [][]byte
		var ids []string
		size := 0
		for len(fresh) > 0 && len(lines) < lim.MaxRequests {
			line, err := p.Encode(*fresh[0])
			if err != nil {
				return rep, fmt.Errorf("batch: encode request %s: %w", fresh[0].ID, err)
			}
			if lim.MaxBytes > 0 && size+len(line)+1 > lim.MaxBytes {
				if len(lines) == 0 {
					return rep, fmt.Errorf("batch: request %s alone (%d bytes) exceeds the %s batch size limit of %d bytes", fresh[0].ID, len(line), p.Name(), lim.MaxBytes)
				}
				break
			}
			size += len(line) + 1
			lines = append(lines, line)
			ids = append(ids, fresh[0].ID)
			fresh = fresh[1:]
		}
		tag := fmt.Sprintf("ggmi-%s-%d", led.nonce, len(led.records))
		if err := led.append(entry{Op: opIntent, Tag: tag, Time: opt.Now().UTC(), IDs: ids}); err != nil {
			return rep, err
		}
		bid, err := p.Create(ctx, tag, lines)
		if err != nil {
			// Whether the provider created it is unknown (the answer may
			// have been lost): the next run looks for it by its tag.
			return rep, fmt.Errorf("batch: create a %s batch of %d requests: %w", p.Name(), len(ids), err)
		}
		if err := led.append(entry{Op: opSubmit, Tag: tag, Batch: bid}); err != nil {
			return rep, err
		}
		rep.Created++
		rep.Submitted += len(ids)
		for _, id := range ids {
			if resubmit[id] {
				rep.Resubmitted++
			}
		}
		active = append(active, led.byTag[tag])
	}

	total := 0
	for _, r := range active {
		total += len(r.ids)
	}
	prog.Start("batch "+p.Name(), total)
	defer prog.Done()
	errs := map[string]int{}
	for len(active) > 0 {
		var next []*record
		for _, r := range active {
			st, err := p.Poll(ctx, r.batch)
			if err != nil {
				if ctx.Err() != nil {
					return rep, fmt.Errorf("batch: %w", ctx.Err())
				}
				if errs[r.batch]++; errs[r.batch] >= 10 {
					return rep, fmt.Errorf("batch: poll %s: %w (run again to resume polling)", r.batch, err)
				}
				next = append(next, r)
				continue
			}
			errs[r.batch] = 0
			if !st.Ended {
				next = append(next, r)
				continue
			}
			if err := ingest(ctx, p, led, r, st, want, opt.Store, &rep); err != nil {
				return rep, err
			}
			prog.Add(len(r.ids))
		}
		active = next
		if len(active) > 0 {
			if err := opt.Sleep(ctx, opt.Poll); err != nil {
				return rep, fmt.Errorf("batch: %w", err)
			}
		}
	}
	return rep, nil
}

// ingest reads the results of an ended batch into the cache and marks it
// ingested in the ledger.
func ingest(ctx context.Context, p Provider, led *ledger, r *record, st Status, want map[string]*Item, store func([]llm.Keyed) error, rep *Report) error {
	member := make(map[string]bool, len(r.ids))
	for _, id := range r.ids {
		member[id] = true
	}
	seen := map[string]bool{}
	failed := map[string]string{}
	var buf []llm.Keyed
	ok := 0
	flush := func() error {
		if err := store(buf); err != nil {
			return fmt.Errorf("batch: store answers of %s: %w", r.batch, err)
		}
		buf = buf[:0]
		return nil
	}
	choices := func(id string) (int, bool) {
		if !member[id] {
			return 0, false
		}
		if it := want[id]; it != nil {
			return max(it.Req.N, 1), true
		}
		return 0, true
	}
	err := p.Results(ctx, r.batch, choices, func(o Outcome) error {
		if !member[o.ID] || seen[o.ID] {
			return nil
		}
		seen[o.ID] = true
		if o.Kind != "" {
			failed[o.ID] = o.Kind
			if o.Err != "" {
				failed[o.ID] += ": " + o.Err
			}
			return nil
		}
		ok++
		if want[o.ID] == nil {
			return nil
		}
		buf = append(buf, llm.Keyed{Key: o.ID, Resp: o.Resp})
		rep.Answered[o.ID] = true
		if len(buf) >= storeChunk {
			return flush()
		}
		return nil
	}, func(msg string) {
		rep.BadLines++
		if len(rep.Notes) < 10 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("batch %s: %s", r.batch, msg))
		}
	})
	if err != nil {
		return fmt.Errorf("batch: read results of %s: %w (run again to read them again)", r.batch, err)
	}
	if err := flush(); err != nil {
		return err
	}
	for _, id := range r.ids {
		if seen[id] {
			continue
		}
		reason := "no result for it in the batch output"
		if st.State != "completed" && st.State != "ended" {
			reason = "the batch ended " + st.State
			if st.Message != "" {
				reason += ": " + st.Message
			}
		}
		failed[id] = reason
	}
	if err := led.append(entry{Op: opIngested, Tag: r.tag, State: st.State, OK: ok, Failed: failed}); err != nil {
		return err
	}
	ids := make([]string, 0, len(failed))
	for id := range failed {
		if want[id] != nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		rep.Failed[id] = fmt.Sprintf("%s (batch %s; --batch-resubmit sends it again)", failed[id], r.batch)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
