package generate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ggmi-dev/ggmi/batch"
)

// FileBatches is the ledger of the batches of a run in batch mode.
const FileBatches = "batches.jsonl"

// BatchOptions switch a run to a provider's batch API.
type BatchOptions struct {
	// Provider is the batch API (batch.NewOpenAI, batch.NewAnthropic).
	Provider batch.Provider
	// Resubmit sends again the requests that failed or expired in an
	// earlier batch of the run.
	Resubmit bool
	// Poll is the time between polls (30 s when ≤ 0).
	Poll time.Duration
	// Limits split batches below the provider's limits (zero: theirs).
	Limits batch.Limits
}

// BatchSummary is what the batch mode did in a run.
type BatchSummary struct {
	Provider string `json:"provider"`
	// Created batches of Submitted requests (Resubmitted of them after a
	// failure) by this run; Resumed batches of earlier runs polled.
	Created     int `json:"created"`
	Submitted   int `json:"submitted"`
	Resubmitted int `json:"resubmitted"`
	Resumed     int `json:"resumed"`
	// Answered counts the answers this run's polling stored; Failed the
	// requests left without one.
	Answered int `json:"answered"`
	Failed   int `json:"failed"`
	// BadLines counts result lines that could not be used; Notes explain
	// the first ones.
	BadLines int      `json:"bad_lines,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// batchFailure is a request its batch did not answer.
type batchFailure struct{ reason string }

func (e *batchFailure) Error() string { return "not answered by its batch: " + e.reason }

// errOnlineInBatch guards the batch mode: no request goes online.
var errOnlineInBatch = errors.New("batch mode sends no online request")

// runBatch sends the pending requests whose answers are not in the cache
// through the batch API and stores the answers in the cache.
func (r *runner) runBatch(ctx context.Context, pending []job) error {
	bo := r.opt.Batch
	withFormat := r.format != nil && !r.noFormat.Load()
	var items []batch.Item
	seen := map[string]bool{}
	for _, j := range pending {
		req := r.request(j.p, j.s, withFormat)
		k, err := r.key(req)
		if err != nil {
			return err
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		ok, err := r.cache.Has(k)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if !ok {
			items = append(items, batch.Item{ID: k, Req: req})
		}
	}
	rep, err := batch.Run(ctx, batch.Options{
		Provider: bo.Provider, Ledger: filepath.Join(r.opt.OutDir, FileBatches), Items: items,
		Store: r.cache.Put, Resubmit: bo.Resubmit, Poll: bo.Poll, Limits: bo.Limits, Now: r.opt.Now,
	})
	s := &BatchSummary{Provider: bo.Provider.Name(), Created: rep.Created, Submitted: rep.Submitted, Resubmitted: rep.Resubmitted,
		Resumed: rep.Resumed, Answered: len(rep.Answered), Failed: len(rep.Failed), BadLines: rep.BadLines, Notes: rep.Notes}
	r.mu.Lock()
	r.sum.Batch = s
	r.batchAnswered = rep.Answered
	r.batchFailed = rep.Failed
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// batchReason returns why the batch left the request of key unanswered.
func (r *runner) batchReason(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if why := r.batchFailed[key]; why != "" {
		return why
	}
	return "no batch answered it"
}
