package gmm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// team runs the blocks of parallel loops on the calling goroutine and on
// helper goroutines that live for the whole fit. A fit runs dozens of short
// loops (tens of microseconds each in Lloyd's iterations); waking a parked
// thread costs about as much, so idle helpers first spin for a while,
// watching for the next loop, and only then park. Callers keep results
// independent of the schedule by writing per-block outputs.
type team struct {
	helpers int // helper goroutines, started on the first parallel loop
	started bool
	cur     atomic.Pointer[teamJob] // the loop being run, or the last one
	mu      sync.Mutex
	wake    *sync.Cond // parked helpers wait here for cur to change
	stopped bool       // under mu: helpers exit
	wg      sync.WaitGroup
}

// teamJob is one parallel loop: blocks are claimed through next and
// counted through done.
type teamJob struct {
	f      func(b int)
	blocks int64
	next   atomic.Int64
	done   atomic.Int64
	fin    chan struct{} // closed when the last block is done
}

// teamSpin is how long an idle helper watches for the next loop before it
// parks, and the caller for the helpers' last blocks before it blocks. Short
// enough that on a busy machine spinning does not eat the time slices the
// work needs.
const teamSpin = 100 * time.Microsecond

// newTeam returns a team of up to workers goroutines (the caller counts as
// one), no more than GOMAXPROCS can run at once. Close it when done.
func newTeam(workers int) *team {
	h := min(workers, runtime.GOMAXPROCS(0)) - 1
	t := &team{helpers: max(h, 0)}
	t.wake = sync.NewCond(&t.mu)
	return t
}

// run calls f for every block, in parallel when parallel is true and the
// team has helpers, and returns when all calls have returned.
func (t *team) run(blocks int, parallel bool, f func(b int)) {
	if t == nil || t.helpers == 0 || !parallel || blocks < 2 {
		for b := range blocks {
			f(b)
		}
		return
	}
	if !t.started {
		t.started = true
		t.cur.Store(&teamJob{}) // nothing to do: the helpers wait for the next
		t.wg.Add(t.helpers)
		for range t.helpers {
			go t.helper()
		}
	}
	j := &teamJob{f: f, blocks: int64(blocks), fin: make(chan struct{})}
	t.mu.Lock()
	t.cur.Store(j)
	t.wake.Broadcast()
	t.mu.Unlock()
	j.work()
	start := time.Now()
	for spins := 1; j.done.Load() < j.blocks; spins++ {
		if spins&63 == 0 && time.Since(start) > teamSpin {
			<-j.fin
			return
		}
	}
}

// work claims and runs blocks of j until none is left.
func (j *teamJob) work() {
	for {
		b := j.next.Add(1) - 1
		if b >= j.blocks {
			return
		}
		j.f(int(b))
		if j.done.Add(1) == j.blocks {
			close(j.fin)
		}
	}
}

func (t *team) helper() {
	defer t.wg.Done()
	seen := t.cur.Load()
	for {
		j := t.wait(seen)
		if j == nil {
			return
		}
		seen = j
		j.work()
	}
}

// wait returns the first loop other than seen, or nil when the team is
// closed.
func (t *team) wait(seen *teamJob) *teamJob {
	start := time.Now()
	for spins := 0; ; spins++ {
		if j := t.cur.Load(); j != seen {
			return j
		}
		if spins&63 == 63 {
			if time.Since(start) > teamSpin {
				break
			}
			runtime.Gosched()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		if t.stopped {
			return nil
		}
		if j := t.cur.Load(); j != seen {
			return j
		}
		t.wake.Wait()
	}
}

// close stops the helpers and waits for them to exit.
func (t *team) close() {
	if t == nil || !t.started {
		return
	}
	t.mu.Lock()
	t.stopped = true
	t.cur.Store(nil)
	t.wake.Broadcast()
	t.mu.Unlock()
	t.wg.Wait()
}
