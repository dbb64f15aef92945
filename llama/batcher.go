package llama

import (
	"context"
	"fmt"
	"sync"
)

// Batcher generates many sequences at once by continuous batching: one
// goroutine runs a forward step for every active sequence together (the
// batched pass of Stepper: each weight matrix is read once per step for
// all of them). Requests join between steps, their prompts processed in
// chunks inside the same steps; finished and cancelled sequences leave
// between steps and free their slot for a waiting request.
//
// Every sequence's logits are exactly those State.Forward gives for it
// alone (the batched pass computes each row as the single-sequence pass
// does) and every sequence has its own sampler, so a request gives the
// same tokens alone, in any batch and under any load: greedy and seeded
// sampling alike.
//
// A Batcher is safe for concurrent use; Close stops it.
type Batcher struct {
	m       *Model
	maxSeqs int
	eng     *engine
	batch   bool // the model has the batched pass; else sequences step one by one

	join      chan *batchSeq
	quit      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once

	// Owned by the scheduler goroutine.
	active []*batchSeq
	free   []*State // finished sequences' states, reused
	rows   []batchRow
	lg     [][]float32
	owner  []*batchSeq // owner[i] is the sequence of rows[i] when it wants logits
	peak   int         // the most sequences decoded in one step (for tests)
}

// batchSeq is one request inside a Batcher.
type batchSeq struct {
	ctx       context.Context
	r         Request
	q         *sequence
	st        *State
	prefilled int // prompt tokens already in the cache
	g         *Generation
	err       error
	done      chan struct{}
}

// NewBatcher starts a Batcher running up to maxSeqs sequences at once
// (at least 1; the rest wait in arrival order) on m.Threads() goroutines.
func (m *Model) NewBatcher(maxSeqs int) *Batcher {
	b := &Batcher{
		m:       m,
		maxSeqs: max(maxSeqs, 1),
		batch:   m.Config.batchable(),
		join:    make(chan *batchSeq),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	b.eng = newEngine(b, m.Threads())
	go b.run()
	return b
}

// MaxSeqs returns the number of sequences run at once.
func (b *Batcher) MaxSeqs() int { return b.maxSeqs }

// Close lets the active sequences finish and stops the Batcher; waiting
// and later requests fail with ErrClosed.
func (b *Batcher) Close() {
	b.closeOnce.Do(func() { close(b.quit) })
	<-b.stopped
}

// Generate runs r in the batch and returns its generation. A request
// waits for a free slot; when ctx ends first, or while it runs, Generate
// returns ctx's error within one step and the slot goes to the next one.
func (b *Batcher) Generate(ctx context.Context, r Request) (*Generation, error) {
	s := &batchSeq{ctx: ctx, r: r, done: make(chan struct{})}
	select {
	case <-b.quit:
		return nil, ErrClosed
	default:
	}
	select {
	case b.join <- s:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.quit:
		return nil, ErrClosed
	}
	<-s.done
	return s.g, s.err
}

// run is the scheduler goroutine.
func (b *Batcher) run() {
	defer close(b.stopped)
	closing := false
	for {
		// Admit waiting requests while there is room; wait for one when
		// nothing runs.
		for !closing && len(b.active) < b.maxSeqs {
			if len(b.active) == 0 {
				select {
				case s := <-b.join:
					b.admit(s)
				case <-b.quit:
					closing = true
				}
				continue
			}
			select {
			case s := <-b.join:
				b.admit(s)
				continue
			case <-b.quit:
				closing = true
			default:
			}
			break
		}
		if closing && len(b.active) == 0 {
			return
		}
		b.step()
	}
}

// admit starts s's sequence on a free state.
func (b *Batcher) admit(s *batchSeq) {
	need := b.m.Config.SeqLen
	if mt := s.r.Options.MaxTokens; mt > 0 && len(s.r.Prompt)+mt < need {
		need = max(len(s.r.Prompt)+mt, 1)
	}
	s.st = b.state(need)
	q, err := b.m.newSequence(s.r, s.st.ctx)
	if err != nil {
		b.finish(s, err)
		return
	}
	s.q = q
	b.active = append(b.active, s)
}

// state returns a free state with room for n positions, or a new one; its
// matrix products run on the Batcher's team.
func (b *Batcher) state(n int) *State {
	for i, st := range b.free {
		if st.ctx >= n {
			b.free = append(b.free[:i], b.free[i+1:]...)
			return st
		}
	}
	st := b.m.newState(n, 1)
	st.eng = b.eng
	return st
}

// finish ends s with err (nil: its generation) and frees its slot's state.
func (b *Batcher) finish(s *batchSeq, err error) {
	if err == nil {
		s.g = s.q.result()
	}
	s.err = err
	if s.st != nil {
		b.release(s.st)
	}
	s.st = nil
	close(s.done)
}

// release keeps st for reuse, dropping the smallest state when maxSeqs
// are kept already.
func (b *Batcher) release(st *State) {
	if len(b.free) < b.maxSeqs {
		b.free = append(b.free, st)
		return
	}
	small := 0
	for i, f := range b.free {
		if f.ctx < b.free[small].ctx {
			small = i
		}
	}
	if b.free[small].ctx < st.ctx {
		b.free[small] = st
	}
}

// step runs one forward step: one row per decoding sequence, plus up to
// prefillChunk prompt positions of the sequences still reading their
// prompt; then every decoding sequence draws its next token.
func (b *Batcher) step() {
	b.rows, b.lg, b.owner = b.rows[:0], b.lg[:0], b.owner[:0]
	kept := b.active[:0]
	for _, s := range b.active {
		if err := s.ctx.Err(); err != nil {
			b.finish(s, err)
			continue
		}
		kept = append(kept, s)
	}
	clear(b.active[len(kept):])
	b.active = kept
	if len(b.active) == 0 {
		return
	}
	for _, s := range b.active {
		if s.prefilled == len(s.q.head()) {
			b.rows = append(b.rows, batchRow{st: s.st, token: s.q.token, pos: s.q.pos})
			b.lg = append(b.lg, s.st.logits)
			b.owner = append(b.owner, s)
		}
	}
	b.peak = max(b.peak, len(b.owner))
	budget := prefillChunk
	type chunk struct {
		s      *batchSeq
		lo, hi int
	}
	var chunks []chunk
	for _, s := range b.active {
		head := s.q.head()
		if budget == 0 || s.prefilled == len(head) {
			continue
		}
		k := min(budget, len(head)-s.prefilled)
		for i := s.prefilled; i < s.prefilled+k; i++ {
			b.rows = append(b.rows, batchRow{st: s.st, token: head[i], pos: i})
			b.lg = append(b.lg, nil)
		}
		chunks = append(chunks, chunk{s, s.prefilled, s.prefilled + k})
		budget -= k
	}
	if err := b.forward(); err != nil {
		// A failed or panicking pass leaves every state of the step in
		// doubt: end those sequences and drop their states.
		failed := map[*batchSeq]bool{}
		for _, s := range b.owner {
			failed[s] = true
		}
		for _, c := range chunks {
			failed[c.s] = true
		}
		kept := b.active[:0]
		for _, s := range b.active {
			if failed[s] {
				s.st = nil
				s.err = fmt.Errorf("position %d: %w", s.q.pos, err)
				close(s.done)
				continue
			}
			kept = append(kept, s)
		}
		clear(b.active[len(kept):])
		b.active = kept
		return
	}
	for _, c := range chunks {
		c.s.prefilled = c.hi
	}
	finished := false
	for i, s := range b.owner {
		if err := advance(s.q, b.lg[i]); err != nil {
			b.finish(s, err)
			finished = true
		} else if s.q.done {
			b.finish(s, nil)
			finished = true
		}
	}
	if finished {
		kept := b.active[:0]
		for _, s := range b.active {
			select {
			case <-s.done:
			default:
				kept = append(kept, s)
			}
		}
		clear(b.active[len(kept):])
		b.active = kept
	}
}

// forward computes the step's rows: the owners' logits land in b.lg.
func (b *Batcher) forward() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine panic: %v", r)
		}
	}()
	switch {
	case len(b.rows) == 1 && len(b.owner) == 1:
		// One sequence decoding alone: the single-row pass.
		r := b.rows[0]
		_, err = r.st.Forward(r.token, r.pos)
		return err
	case b.batch:
		return b.m.forwardBatch(b.eng, b.rows, b.lg)
	}
	// Families without the batched pass run row by row.
	for i, r := range b.rows {
		if b.lg[i] != nil {
			_, err = r.st.Forward(r.token, r.pos)
		} else {
			err = r.st.ForwardNoLogits(r.token, r.pos)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// advance is q.advance with a panic (of a callback, say) turned into the
// sequence's error, so that it cannot stop the other sequences.
func advance(q *sequence, logits []float32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return q.advance(logits)
}
