// Package groupcommit makes many concurrent durable writes cost few
// fsyncs: callers hand in items, one of them (the leader) commits every
// item waiting at that moment in one call of the commit function, and each
// caller returns only once the commit holding its item has returned. It
// serves the exact-resume guarantees of the generation chain (the cache
// and the journal of package generate): an answer counts as done only
// after it is on disk, yet 256 requests in flight share a few fsyncs
// instead of queueing for one each.
package groupcommit

import "sync"

// Committer groups items into commits. The zero value is not usable; call
// New. It is safe for concurrent use.
type Committer[T any] struct {
	commit func([]T) error

	mu    sync.Mutex
	busy  bool // a leader is committing
	queue []*waiter[T]
}

type waiter[T any] struct {
	item T
	done chan result
}

type result struct {
	err  error
	lead bool // the caller is the next leader: it commits the queue
}

// New returns a Committer whose commits call commit with the items of one
// group (in the order they arrived). commit must make them durable before
// it returns; its error is returned to every caller of the group.
func New[T any](commit func([]T) error) *Committer[T] {
	return &Committer[T]{commit: commit}
}

// Commit hands item in and waits until a commit holding it returned; it
// returns that commit's error. While a commit runs, the items that arrive
// wait and go together into the next one, so no time is spent waiting for
// a group to fill.
func (c *Committer[T]) Commit(item T) error {
	w := &waiter[T]{item: item, done: make(chan result, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	if c.busy {
		c.mu.Unlock()
		r := <-w.done
		if !r.lead {
			return r.err
		}
		c.mu.Lock()
	}
	c.busy = true
	group := c.queue
	c.queue = nil
	c.mu.Unlock()

	items := make([]T, len(group))
	for i, g := range group {
		items[i] = g.item
	}
	err := c.commit(items)

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- result{lead: true} // it takes the queue, itself included
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	for _, g := range group {
		if g != w {
			g.done <- result{err: err}
		}
	}
	return err
}
