package generate

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// AdaptiveOptions configure NewAdaptive. Zero values select the defaults.
type AdaptiveOptions struct {
	// Initial is the starting limit (4 when ≤ 0); Min and Max bound it
	// (1 and 1024 when ≤ 0).
	Initial, Min, Max int
	// LatencyTolerance is how many times the smallest latency seen an
	// answer may take before the endpoint counts as saturated (2 when ≤ 1).
	LatencyTolerance float64
	// MaxPause caps an advertised Retry-After (1 min when ≤ 0).
	MaxPause time.Duration
}

// Adaptive is a Backend wrapper whose concurrency limit follows the
// endpoint (AIMD): the limit doubles per round trip until the first sign of
// saturation, then grows by one per round trip while answers come back
// successful and no slower than LatencyTolerance times the fastest one; a
// 429 or 503 halves it (once per round trip) and its Retry-After pauses new
// requests; an answer slower than the tolerance shrinks it by a tenth.
// After a halving the limit climbs back fast to 85% of the level where the
// endpoint pushed back and slowly beyond, so it spends most of its time
// near the endpoint's capacity. Wrap the raw backend (inside llm.Limited,
// whose retries then pass through it) so that every attempt is seen.
type Adaptive struct {
	b   llm.Backend
	opt AdaptiveOptions

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced when a slot may have freed
	limit        float64
	recoverTo    float64 // below it the limit grows by one per answer
	wmax         float64 // the limit at the last push-back (0: none yet)
	inflight     int
	minLat       time.Duration
	lastDecrease time.Time
	pauseUntil   time.Time
	stats        AdaptiveStats
}

// AdaptiveStats are the counters of an Adaptive backend.
type AdaptiveStats struct {
	// Limit is the current concurrency limit; InFlight the requests out.
	Limit, InFlight int
	// Requests counts the attempts; Throttled the 429 and 503 answers;
	// Decreases the times the limit shrank.
	Requests, Throttled, Decreases int
}

// NewAdaptive wraps b with an adaptive concurrency limit.
func NewAdaptive(b llm.Backend, opt AdaptiveOptions) *Adaptive {
	opt = opt.withDefaults()
	return &Adaptive{b: b, opt: opt, changed: make(chan struct{}), limit: float64(opt.Initial), recoverTo: math.Inf(1)}
}

func (o AdaptiveOptions) withDefaults() AdaptiveOptions {
	if o.Min <= 0 {
		o.Min = 1
	}
	if o.Max <= 0 {
		o.Max = 1024
	}
	if o.Initial <= 0 {
		o.Initial = 4
	}
	o.Initial = min(max(o.Initial, o.Min), o.Max)
	if o.LatencyTolerance <= 1 {
		o.LatencyTolerance = 2
	}
	if o.MaxPause <= 0 {
		o.MaxPause = time.Minute
	}
	return o
}

// Stats returns the current limit and counters.
func (a *Adaptive) Stats() AdaptiveStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Limit, s.InFlight = int(a.limit), a.inflight
	return s
}

// tryAcquire takes a slot at now when the limit and any pause allow it;
// otherwise it returns how long to wait at most before trying again (0:
// until a slot frees) and the channel that signals a change.
func (a *Adaptive) tryAcquire(now time.Time) (bool, time.Duration, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Before(a.pauseUntil) {
		return false, a.pauseUntil.Sub(now), a.changed
	}
	if a.inflight < int(a.limit) {
		a.inflight++
		a.stats.Requests++
		return true, 0, nil
	}
	return false, 0, a.changed
}

// acquire waits for a slot.
func (a *Adaptive) acquire(ctx context.Context) error {
	for {
		ok, wait, ch := a.tryAcquire(time.Now())
		if ok {
			return nil
		}
		var timer <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-timer:
		}
	}
}

// outcome classifies an attempt's result.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeThrottled
	outcomeOther // an error that says nothing about load
)

func classify(err error) (outcome, time.Duration) {
	if err == nil {
		return outcomeOK, 0
	}
	var ae *llm.APIError
	if errors.As(err, &ae) && (ae.Kind == llm.ErrRateLimited || ae.StatusCode == 503) {
		return outcomeThrottled, ae.RetryAfter
	}
	return outcomeOther, 0
}

// release frees the slot of an attempt started at start and answered at
// now, and adapts the limit to its outcome.
func (a *Adaptive) release(start, now time.Time, o outcome, retryAfter time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	// Only answers to requests sent after the last decrease speak about
	// the current limit (once per round trip).
	fresh := start.After(a.lastDecrease)
	switch o {
	case outcomeThrottled:
		a.stats.Throttled++
		if retryAfter > 0 {
			if until := now.Add(min(retryAfter, a.opt.MaxPause)); until.After(a.pauseUntil) {
				a.pauseUntil = until
			}
		}
		if fresh {
			a.wmax = a.limit
			a.recoverTo = 0.85 * a.wmax
			a.decrease(now, 0.5)
		}
	case outcomeOK:
		lat := now.Sub(start)
		if a.minLat == 0 || lat < a.minLat {
			a.minLat = lat
		}
		switch {
		case float64(lat) > a.opt.LatencyTolerance*float64(a.minLat):
			if fresh {
				a.recoverTo = min(a.recoverTo, a.limit*0.9)
				a.decrease(now, 0.9)
			}
		case a.limit < a.recoverTo:
			a.limit++
		case a.wmax > 0 && a.limit >= a.wmax:
			a.limit += 0.5 / a.limit // probe past the last push-back slowly
		default:
			a.limit += 1 / a.limit
		}
		a.limit = min(a.limit, float64(a.opt.Max))
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *Adaptive) decrease(now time.Time, f float64) {
	a.limit = max(float64(a.opt.Min), a.limit*f)
	a.lastDecrease = now
	a.stats.Decreases++
}

// Generate implements llm.Backend.
func (a *Adaptive) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if err := a.acquire(ctx); err != nil {
		return llm.Response{}, err
	}
	start := time.Now()
	resp, err := a.b.Generate(ctx, req)
	o, ra := classify(err)
	if err != nil && ctx.Err() != nil {
		o = outcomeOther
	}
	a.release(start, time.Now(), o, ra)
	return resp, err
}

// Embed implements llm.Backend.
func (a *Adaptive) Embed(ctx context.Context, req llm.EmbedRequest) (llm.EmbedResponse, error) {
	if err := a.acquire(ctx); err != nil {
		return llm.EmbedResponse{}, err
	}
	start := time.Now()
	resp, err := a.b.Embed(ctx, req)
	o, ra := classify(err)
	a.release(start, time.Now(), o, ra)
	return resp, err
}

// Models implements llm.Backend.
func (a *Adaptive) Models() []string { return a.b.Models() }

// Identity names the wrapped model in cache keys.
func (a *Adaptive) Identity() string { return llm.BackendIdentity(a.b) }

// Unwrap returns the wrapped backend.
func (a *Adaptive) Unwrap() llm.Backend { return a.b }
