package llama

import (
	"runtime"
	"sync/atomic"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// Inference threading: every State owns a persistent team of goroutines
// (a workPool, as the training path uses) that splits each matrix–vector
// product by output rows. Each output row is one call of the same kernel
// whatever the split, so results do not depend on the number of threads.
//
// The rows are handed out in chunks from a shared counter (share) rather
// than one fixed chunk per goroutine: on a machine shared with other work
// a goroutine that is not scheduled for a while only delays the chunk it
// holds, and one that has not yet taken the previous call's message is not
// waited for at all.

// minParallelWork is the number of weight values below which a product
// runs on the calling goroutine: waking the team costs more.
const minParallelWork = 1 << 16

// engine is a State's threading and scratch space.
type engine struct {
	pool  *workPool
	mv    *mvTask
	batch *batchBuf // scratch of batched passes (prefill.go), made on first use
}

// mvTask is a matrix–vector product as a parTask over output rows. It is
// allocated apart from the State so that the team's goroutines never keep
// a State reachable (the State's cleanup stops them).
type mvTask struct {
	mat *quant.Matrix
	act quant.Act
	out []float32
}

func (t *mvTask) run(lo, hi int) { t.mat.MatVec(t.out[lo:hi], &t.act, lo, hi) }

// SetThreads sets the number of goroutines each new State uses for its
// matrix products (n ≤ 0: GOMAXPROCS, the default). States already
// created keep theirs.
func (m *Model) SetThreads(n int) { m.threads = max(n, 0) }

// Threads returns the number of goroutines a new State uses.
func (m *Model) Threads() int {
	if m.threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return m.threads
}

// newEngine returns an engine with n goroutines (the caller's included)
// and registers its shutdown when owner becomes unreachable.
func newEngine[T any](owner *T, n int) *engine {
	e := &engine{mv: &mvTask{}}
	if n > 1 {
		e.pool = newWorkPool(n)
		runtime.AddCleanup(owner, func(p *workPool) { p.close() }, e.pool)
	}
	return e
}

// linear sets out = mat · x (mat.Rows values), quantising x once as the
// weight type requires and splitting the rows over the State's team.
func (s *State) linear(out, x []float32, mat *quant.Matrix) { s.linearAct(out, x, mat, false) }

// linearSame is linear for the x of the previous linear call, unchanged
// since: an activation already quantised as mat's type needs is reused
// (k and v after q, the up projection after the gate).
func (s *State) linearSame(out, x []float32, mat *quant.Matrix) { s.linearAct(out, x, mat, true) }

func (s *State) linearAct(out, x []float32, mat *quant.Matrix, same bool) {
	t := s.eng.mv
	if a := &t.act; !same || a.Type == quant.F32 || a.Type != mat.Type.ActType() || a.N != mat.Cols {
		// Shapes were checked when the model was built, so Set cannot fail.
		_ = a.Set(mat.Type, x[:mat.Cols])
	}
	t.mat, t.out = mat, out[:mat.Rows]
	if p := s.eng.pool; p != nil && mat.Rows*mat.Cols >= minParallelWork {
		p.share(mat.Rows, 8, t)
	} else {
		t.run(0, mat.Rows)
	}
	t.mat, t.out, t.act.F = nil, nil, nil
}

// shareJob is one call of share: chunks of chunk rows are claimed from
// next; the goroutine that completes the last row closes finished. A job
// is never reused, so a goroutine that takes its message late finds no
// chunk left and touches nothing else.
type shareJob struct {
	t            parTask
	total, chunk int64
	next, done   atomic.Int64
	finished     chan struct{}
}

func (j *shareJob) work() {
	for {
		lo := j.next.Add(j.chunk) - j.chunk
		if lo >= j.total {
			return
		}
		hi := min(lo+j.chunk, j.total)
		j.t.run(int(lo), int(hi))
		if j.done.Add(hi-lo) == j.total {
			close(j.finished)
		}
	}
}

// share runs t over [0, total) on the caller and every idle goroutine of
// the team, in about four chunks per goroutine whose bounds are multiples
// of align (≥ 1); it returns when every row is done.
func (p *workPool) share(total, align int, t parTask) {
	align = max(align, 1)
	if p.n == 1 || total <= align {
		t.run(0, total)
		return
	}
	units := (total + align - 1) / align
	per := (units + 4*p.n - 1) / (4 * p.n)
	j := &shareJob{t: t, total: int64(total), chunk: int64(per * align), finished: make(chan struct{})}
	for _, ch := range p.chs {
		select {
		case ch <- parMsg{j: j}:
		default: // still busy with an earlier call: not waited for
		}
	}
	j.work()
	<-j.finished
}
