package llama

import (
	"runtime"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// Inference threading: every State owns a persistent team of goroutines
// (a workPool, as the training path uses) that splits each matrix–vector
// product by output rows. Each output row is one call of the same kernel
// whatever the split, so results do not depend on the number of threads.

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
func (s *State) linear(out, x []float32, mat *quant.Matrix) {
	t := s.eng.mv
	// Shapes were checked when the model was built, so Set cannot fail.
	_ = t.act.Set(mat.Type, x[:mat.Cols])
	t.mat, t.out = mat, out[:mat.Rows]
	if p := s.eng.pool; p != nil && mat.Rows*mat.Cols >= minParallelWork {
		p.do(mat.Rows, 8, t)
	} else {
		t.run(0, mat.Rows)
	}
	t.mat, t.out, t.act.F = nil, nil, nil
}
