package generate

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrGaveUp: every request to the endpoint failed for the give-up period;
// the run stopped with its state saved (run the same command again to
// resume once the endpoint is back).
var ErrGaveUp = errors.New("the endpoint looks down")

// GiveUp decides when an endpoint is dead: it is fed the outcome of every
// request and trips once requests have failed, with no success in between,
// for a whole period. It is safe for concurrent use. A zero period never
// trips.
type GiveUp struct {
	after time.Duration

	mu        sync.Mutex
	firstFail time.Time // first failure since the last success; zero when the last outcome succeeded
	failures  int       // failures since then
	lastErr   error
}

// NewGiveUp returns a tracker that trips after every request failed for d.
func NewGiveUp(d time.Duration) *GiveUp { return &GiveUp{after: d} }

// Success records a request that succeeded: the endpoint is alive.
func (g *GiveUp) Success() {
	g.mu.Lock()
	g.firstFail, g.failures, g.lastErr = time.Time{}, 0, nil
	g.mu.Unlock()
}

// Failure records a request that failed at now.
func (g *GiveUp) Failure(now time.Time, err error) {
	g.mu.Lock()
	if g.firstFail.IsZero() {
		g.firstFail = now
	}
	g.failures++
	g.lastErr = err
	g.mu.Unlock()
}

// Tripped returns a non-nil error (wrapping ErrGaveUp) when every request
// since the period began has failed.
func (g *GiveUp) Tripped(now time.Time) error {
	if g == nil || g.after <= 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.firstFail.IsZero() || now.Sub(g.firstFail) < g.after {
		return nil
	}
	return fmt.Errorf("%w: %d requests failed and none succeeded in %s (last error: %v)", ErrGaveUp, g.failures, now.Sub(g.firstFail).Round(time.Second), g.lastErr)
}
