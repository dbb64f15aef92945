package llama

import (
	"fmt"
	"math"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// Batched forward pass. A batch is a list of rows, each one token at one
// position of one sequence (State). Every weight matrix is applied to all
// rows at once (quant.Matrix.MatMul: each tile of weight rows is read once
// for the whole batch, activations are quantised once per row and
// product), split by output rows over the worker team; attention runs per
// row over its own sequence's cache, split by rows. Two uses:
//
//   - prefill: the rows are consecutive positions of one sequence, so the
//     prompt is processed as matrix–matrix products ([State.Prefill]);
//   - a decode step for many sequences at once ([Stepper.Step]), which is
//     what continuous batching in serve runs.
//
// Each row's arithmetic is that of State.Forward in the same order (the
// matrix kernels give MatVec's results bit for bit, the attention and
// element-wise code below mirror forward.go), so a batched pass produces
// exactly the hidden states and logits of the position-by-position one.

// prefillChunk is the number of prompt positions run as one batch: large
// enough that each weight tile is reused many times, small enough that
// the batch's activations stay a few MB.
const prefillChunk = 64

// batchRow is one token at one position of one sequence.
type batchRow struct {
	st         *State
	token, pos int
}

// batchable reports whether the model's blocks are the ones the batched
// path implements (pre-norm RMSNorm, rotary attention, SwiGLU); other
// families run position by position.
func (c *Config) batchable() bool {
	// The batched pass implements the llama2.c layer only; the GPT-2 and
	// Qwen2 switches and rescaled RoPE go one position at a time.
	return c.isPlainLlama() && c.RopeScaling.Type == ""
}

// batchBuf is the scratch of a batched pass, grown on demand.
type batchBuf struct {
	rows                       int
	x, xb, xb2, q, xo, hb, hb2 [][]float32
	cos, sin                   [][]float32
	acts                       []quant.Act
	actp                       []*quant.Act
	outs, outs2                [][]float32 // keys and values of the rows (cache rows or kst, vst)
	kst, vst                   [][]float32 // staging of keys and values for f16 caches
	mm                         *mmTask
	at                         *batchAttnTask
	st                         *setTask
}

// matRows returns n slices of width w carved from one allocation.
func matRows(n, w int) [][]float32 {
	buf := make([]float32, n*w)
	out := make([][]float32, n)
	for i := range out {
		out[i] = buf[i*w : (i+1)*w : (i+1)*w]
	}
	return out
}

func (m *Model) newBatchBuf(n int) *batchBuf {
	c := m.Config
	qd := c.NHeads * c.HeadSize()
	b := &batchBuf{
		rows: n,
		x:    matRows(n, c.Dim), xb: matRows(n, c.Dim), xb2: matRows(n, c.Dim),
		q: matRows(n, qd), xo: matRows(n, qd),
		hb: matRows(n, c.HiddenDim), hb2: matRows(n, c.HiddenDim),
		cos: matRows(n, len(m.ropeFreq)), sin: matRows(n, len(m.ropeFreq)),
		acts: make([]quant.Act, n), actp: make([]*quant.Act, n),
		outs: make([][]float32, n), outs2: make([][]float32, n),
		kst: matRows(n, c.KVDim()), vst: matRows(n, c.KVDim()),
		mm: &mmTask{}, at: &batchAttnTask{},
	}
	b.st = &setTask{acts: b.acts}
	for i := range b.acts {
		b.actp[i] = &b.acts[i]
	}
	return b
}

// buf returns the engine's batch scratch for at least n rows.
func (e *engine) buf(m *Model, n int) *batchBuf {
	if e.batch == nil || e.batch.rows < n {
		e.batch = m.newBatchBuf(n)
	}
	return e.batch
}

// mmTask is a matrix–matrix product as a parTask over weight rows.
type mmTask struct {
	mat  *quant.Matrix
	acts []*quant.Act
	out  [][]float32
}

func (t *mmTask) run(lo, hi int) { t.mat.MatMul(t.out, t.acts, lo, hi) }

// setActs prepares the first n rows of x for products with weights of type
// t, unless they are already prepared for t's activation type (q, k and v
// share one quantisation, as do the gate and up projections). The rows are
// quantised on the team (p may be nil).
func (b *batchBuf) setActs(p *workPool, t quant.Type, x [][]float32, n int, prepared *[][]float32, as *quant.Type) {
	if *prepared != nil && &(*prepared)[0] == &x[0] && *as == t.ActType() {
		return
	}
	st := b.st
	st.t, st.x = t, x
	if p != nil && n > 1 && t.ActType() != quant.F32 {
		p.share(n, 1, st)
	} else {
		st.run(0, n)
	}
	st.x = nil
	*prepared, *as = x, t.ActType()
}

// setTask quantises rows of a batch as a parTask over rows.
type setTask struct {
	acts []quant.Act
	t    quant.Type
	x    [][]float32
}

func (st *setTask) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		// Shapes were checked when the model was built, so Set cannot fail.
		_ = st.acts[i].Set(st.t, st.x[i])
	}
}

// matmul sets out[i] = mat · acts[i] for the first len(out) rows, splitting
// the weight rows over the team.
func (e *engine) matmul(b *batchBuf, mat *quant.Matrix, out [][]float32) {
	t := b.mm
	t.mat, t.acts, t.out = mat, b.actp[:len(out)], out
	if p := e.pool; p != nil && mat.Rows*mat.Cols*len(out) >= minParallelWork {
		p.share(mat.Rows, 16, t)
	} else {
		t.run(0, mat.Rows)
	}
	t.mat, t.acts, t.out = nil, nil, nil
}

// batchAttnTask is the attention of a batch's rows as a parTask over rows.
type batchAttnTask struct {
	rows  []batchRow
	layer int
	q, xo [][]float32
}

func (t *batchAttnTask) run(lo, hi int) {
	if lo >= hi {
		return
	}
	c := &t.rows[lo].st.m.Config
	kvd := c.KVDim()
	maxPos := 0
	for _, r := range t.rows[lo:hi] {
		maxPos = max(maxPos, r.pos)
	}
	att := make([]float32, c.NHeads*(maxPos+1))
	var kbuf, vbuf []float32
	for i := lo; i < hi; i++ {
		r := t.rows[i]
		s := r.st
		n := r.pos + 1
		if s.h != nil && kbuf == nil {
			kbuf, vbuf = make([]float32, (maxPos+1)*kvd), make([]float32, (maxPos+1)*kvd)
		}
		keys, vals := s.kvPrefix(t.layer, n, kbuf, vbuf)
		attendRow(c, t.q[i], keys, vals, att[:c.NHeads*n], t.xo[i], n)
	}
}

// forwardBatch runs the rows through the model. When logits is not nil,
// logits[i] (if not nil) receives row i's logits. The final normalised
// hidden state of row i is left in e.batch.x[i]; each sequence's State
// holds the hidden state of its last row (State.Hidden).
func (m *Model) forwardBatch(e *engine, rows []batchRow, logits [][]float32) error {
	c := &m.Config
	n := len(rows)
	for _, r := range rows {
		if r.token < 0 || r.token >= c.VocabSize {
			return fmt.Errorf("token %d outside vocabulary of %d", r.token, c.VocabSize)
		}
		if r.pos < 0 || r.pos >= r.st.ctx {
			return fmt.Errorf("position %d outside context of %d", r.pos, r.st.ctx)
		}
	}
	b := e.buf(m, n)
	eps := c.eps()
	x, xb, xb2, q, xo, hb, hb2 := b.x[:n], b.xb[:n], b.xb2[:n], b.q[:n], b.xo[:n], b.hb[:n], b.hb2[:n]
	for i, r := range rows {
		for j, f := range m.ropeFreq {
			val := float32(r.pos) * f
			b.cos[i][j] = float32(math.Cos(float64(val)))
			b.sin[i][j] = float32(math.Sin(float64(val)))
		}
		m.inf.embedRow(x[i], r.token)
	}
	var prepared [][]float32
	var as quant.Type
	ks, vs := b.outs[:n], b.outs2[:n]
	for l := range m.inf.layers {
		lw := &m.inf.layers[l]
		for i := range rows {
			rmsnorm(xb[i], x[i], lw.attnNorm, eps)
		}
		prepared = nil
		b.setActs(e.pool, lw.wq.Type, xb, n, &prepared, &as)
		e.matmul(b, &lw.wq, q)
		for i, r := range rows {
			ks[i], vs[i] = r.st.kvSlot(l, r.pos, b.kst[i], b.vst[i])
		}
		b.setActs(e.pool, lw.wk.Type, xb, n, &prepared, &as)
		e.matmul(b, &lw.wk, ks)
		for i := range rows {
			ropeWith(c, q[i], b.cos[i], b.sin[i])
			ropeWith(c, ks[i], b.cos[i], b.sin[i])
		}
		b.setActs(e.pool, lw.wv.Type, xb, n, &prepared, &as)
		e.matmul(b, &lw.wv, vs)
		for i, r := range rows {
			r.st.kvPut(l, r.pos, ks[i], vs[i])
		}
		clear(ks)
		clear(vs)

		at := b.at
		at.rows, at.layer, at.q, at.xo = rows, l, q, xo
		if p := e.pool; p != nil && n > 1 {
			p.share(n, 1, at)
		} else {
			at.run(0, n)
		}
		at.rows, at.q, at.xo = nil, nil, nil

		b.setActs(e.pool, lw.wo.Type, xo, n, &prepared, &as)
		e.matmul(b, &lw.wo, xb2)
		for i := range rows {
			xi, di := x[i], xb2[i][:len(x[i])]
			for k := range xi {
				xi[k] += di[k]
			}
			rmsnorm(xb[i], xi, lw.ffnNorm, eps)
		}
		prepared = nil
		b.setActs(e.pool, lw.w1.Type, xb, n, &prepared, &as)
		e.matmul(b, &lw.w1, hb)
		b.setActs(e.pool, lw.w3.Type, xb, n, &prepared, &as)
		e.matmul(b, &lw.w3, hb2)
		for i := range rows {
			h, h2 := hb[i], hb2[i][:len(hb[i])]
			for k, g := range h {
				ex := exp32(-g)
				g *= 1 / (1 + ex)
				h[k] = g * h2[k]
			}
		}
		b.setActs(e.pool, lw.w2.Type, hb, n, &prepared, &as)
		e.matmul(b, &lw.w2, xb)
		for i := range rows {
			xi, di := x[i], xb[i][:len(x[i])]
			for k := range xi {
				xi[k] += di[k]
			}
		}
	}
	for i, r := range rows {
		rmsnorm(x[i], x[i], m.inf.finalNorm, eps)
		copy(r.st.x, x[i])
	}
	if logits == nil {
		return nil
	}
	// The classifier only for the rows that want logits.
	k := 0
	for i := range rows {
		if logits[i] != nil {
			_ = b.acts[k].Set(m.inf.wcls.Type, x[i])
			ks[k] = logits[i]
			k++
		}
	}
	if k > 0 {
		e.matmul(b, &m.inf.wcls, ks[:k])
		clear(ks[:k])
	}
	return nil
}

// Prefill runs tokens at positions pos0, pos0+1, ... of the sequence
// without computing logits, as a batched pass (chunks of up to 64
// positions): the same cache contents and hidden state as calling
// ForwardNoLogits for each token in turn, in less time.
func (s *State) Prefill(tokens []int, pos0 int) error {
	return s.prefill(tokens, pos0, nil)
}

// prefill is Prefill calling hidden (when not nil) with the index and the
// final normalised hidden state of every token (valid during the call).
func (s *State) prefill(tokens []int, pos0 int, hidden func(i int, h []float32)) error {
	if !s.m.Config.batchable() || len(tokens) == 1 {
		for i, t := range tokens {
			if err := s.ForwardNoLogits(t, pos0+i); err != nil {
				return err
			}
			if hidden != nil {
				hidden(i, s.x)
			}
		}
		return nil
	}
	rows := make([]batchRow, 0, min(prefillChunk, len(tokens)))
	for i0 := 0; i0 < len(tokens); i0 += prefillChunk {
		rows = rows[:0]
		for i, t := range tokens[i0:min(i0+prefillChunk, len(tokens))] {
			rows = append(rows, batchRow{st: s, token: t, pos: pos0 + i0 + i})
		}
		if err := s.m.forwardBatch(s.eng, rows, nil); err != nil {
			return err
		}
		if hidden != nil {
			for i := range rows {
				hidden(i0+i, s.eng.batch.x[i])
			}
		}
	}
	return nil
}

// Stepper runs one forward step for many sequences at once: every weight
// matrix is read once per step for all of them. It owns a worker team of
// Model.Threads goroutines. A Stepper is not safe for concurrent use.
type Stepper struct {
	m    *Model
	eng  *engine
	rows []batchRow
	lg   [][]float32
}

// NewStepper returns a Stepper for m.
func (m *Model) NewStepper() *Stepper {
	b := &Stepper{m: m}
	b.eng = newEngine(b, m.Threads())
	return b
}

// Step feeds tokens[i] at position pos[i] to states[i] (distinct States of
// b's model, each fed its positions in order as with State.Forward) and
// returns each sequence's logits, owned by its State and valid until its
// next step. The results are exactly those of states[i].Forward.
func (b *Stepper) Step(states []*State, tokens, pos []int) ([][]float32, error) {
	if len(tokens) != len(states) || len(pos) != len(states) {
		return nil, fmt.Errorf("batch step: %d states, %d tokens, %d positions", len(states), len(tokens), len(pos))
	}
	b.rows, b.lg = b.rows[:0], b.lg[:0]
	for i, s := range states {
		if s.m != b.m {
			return nil, fmt.Errorf("batch step: state %d belongs to another model", i)
		}
		for _, o := range states[:i] {
			if o == s {
				return nil, fmt.Errorf("batch step: state %d appears twice", i)
			}
		}
		b.rows = append(b.rows, batchRow{st: s, token: tokens[i], pos: pos[i]})
		b.lg = append(b.lg, s.logits)
	}
	if len(states) == 0 {
		return nil, nil
	}
	if !b.m.Config.batchable() {
		for i, s := range states {
			if _, err := s.Forward(tokens[i], pos[i]); err != nil {
				return nil, fmt.Errorf("batch step: sequence %d: %w", i, err)
			}
		}
		return b.lg, nil
	}
	if err := b.m.forwardBatch(b.eng, b.rows, b.lg); err != nil {
		return nil, fmt.Errorf("batch step: %w", err)
	}
	return b.lg, nil
}

// ropeWith is State.rope with the angles of one row.
func ropeWith(c *Config, vec, cs, sn []float32) {
	hs := c.HeadSize()
	half := len(cs)
	for h := 0; h+hs <= len(vec); h += hs {
		head := vec[h : h+hs]
		if c.RopeNeoX {
			for j := 0; j < half; j++ {
				v0, v1 := head[j], head[j+half]
				head[j] = v0*cs[j] - v1*sn[j]
				head[j+half] = v0*sn[j] + v1*cs[j]
			}
			continue
		}
		for j := 0; j < half; j++ {
			v0, v1 := head[2*j], head[2*j+1]
			head[2*j] = v0*cs[j] - v1*sn[j]
			head[2*j+1] = v0*sn[j] + v1*cs[j]
		}
	}
}

// attendRow is the multi-head attention of one query row q over the n
// cached positions in keys and vals, written to xo; att is scratch of
// NHeads·n values. The sums run in position order with one accumulator,
// like the reference. forward.go and the batched pass both call it.
func attendRow(c *Config, q, keys, vals, att, xo []float32, n int) {
	hs := c.HeadSize()
	kvd := c.KVDim()
	kvMul := c.NHeads / c.NKVHeads
	sqrtHS := float32(math.Sqrt(float64(hs)))
	h := 0
	if kvMul == 2 && hs%4 == 0 {
		for ; h < c.NHeads; h += 2 {
			qa := q[h*hs : (h+1)*hs]
			qb := q[(h+1)*hs : (h+2)*hs]
			attA := att[h*n : (h+1)*n]
			attB := att[(h+1)*n : (h+2)*n]
			attB = attB[:len(attA)]
			kh := (h / kvMul) * hs
			mxA, mxB := float32(math.Inf(-1)), float32(math.Inf(-1))
			for t := range attA {
				kt := keys[t*kvd+kh:][:len(qa)]
				qb := qb[:len(qa)]
				var sa, sb float32
				for i := 0; i+4 <= len(kt); i += 4 {
					k4 := kt[i : i+4 : i+4]
					a4 := qa[i : i+4 : i+4]
					b4 := qb[i : i+4 : i+4]
					sa += a4[0] * k4[0]
					sb += b4[0] * k4[0]
					sa += a4[1] * k4[1]
					sb += b4[1] * k4[1]
					sa += a4[2] * k4[2]
					sb += b4[2] * k4[2]
					sa += a4[3] * k4[3]
					sb += b4[3] * k4[3]
				}
				sa /= sqrtHS
				sb /= sqrtHS
				attA[t], attB[t] = sa, sb
				mxA, mxB = max(mxA, sa), max(mxB, sb)
			}
			var sumA, sumB float32
			for t := range attA {
				ea, eb := exp32(attA[t]-mxA), exp32(attB[t]-mxB)
				attA[t], attB[t] = ea, eb
				sumA += ea
				sumB += eb
			}
			outA := xo[h*hs : (h+1)*hs]
			outB := xo[(h+1)*hs : (h+2)*hs]
			clear(outA)
			clear(outB)
			outB = outB[:len(outA)]
			for t := range attA {
				a, b := attA[t]/sumA, attB[t]/sumB
				vt := vals[t*kvd+kh:][:len(outA)]
				for i := 0; i+4 <= len(vt); i += 4 {
					v4 := vt[i : i+4 : i+4]
					oa := outA[i : i+4 : i+4]
					ob := outB[i : i+4 : i+4]
					oa[0] += a * v4[0]
					ob[0] += b * v4[0]
					oa[1] += a * v4[1]
					ob[1] += b * v4[1]
					oa[2] += a * v4[2]
					ob[2] += b * v4[2]
					oa[3] += a * v4[3]
					ob[3] += b * v4[3]
				}
			}
		}
	}
	for ; h < c.NHeads; h++ {
		qh := q[h*hs : (h+1)*hs]
		at := att[h*n : (h+1)*n]
		kh := (h / kvMul) * hs
		mx := float32(math.Inf(-1))
		if hs%4 == 0 {
			for t := range at {
				kt := keys[t*kvd+kh:][:len(qh)]
				var score float32
				for i := 0; i+4 <= len(kt); i += 4 {
					k4 := kt[i : i+4 : i+4]
					q4 := qh[i : i+4 : i+4]
					score += q4[0] * k4[0]
					score += q4[1] * k4[1]
					score += q4[2] * k4[2]
					score += q4[3] * k4[3]
				}
				score /= sqrtHS
				at[t] = score
				mx = max(mx, score)
			}
		} else {
			for t := range at {
				score := dot(qh, keys[t*kvd+kh:][:len(qh)]) / sqrtHS
				at[t] = score
				mx = max(mx, score)
			}
		}
		var sum float32
		for t, v := range at {
			e := exp32(v - mx)
			at[t] = e
			sum += e
		}
		out := xo[h*hs : (h+1)*hs]
		clear(out)
		if hs%4 == 0 {
			for t, e := range at {
				a := e / sum
				vt := vals[t*kvd+kh:][:len(out)]
				for i := 0; i+4 <= len(vt); i += 4 {
					v4 := vt[i : i+4 : i+4]
					o4 := out[i : i+4 : i+4]
					o4[0] += a * v4[0]
					o4[1] += a * v4[1]
					o4[2] += a * v4[2]
					o4[3] += a * v4[3]
				}
			}
		} else {
			for t, e := range at {
				axpy(out, e/sum, vals[t*kvd+kh:][:len(out)])
			}
		}
	}
}
