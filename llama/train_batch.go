package llama

import (
	"errors"
	"fmt"
	"math"
	"runtime"
)

// The float32 batched training path: forward and backward passes over B
// sequences of T positions at once. Matrix products are expressed as
// products with a transposed operand (gemmNT), so activations, weights and
// gradients all stream through the same cache-friendly kernel; the float64
// single-sequence pass in train.go is the reference it is tested against.

// Batch is a training batch of B sequences of T positions, stored row by
// row (position t of sequence b at index b*T+t).
type Batch struct {
	B, T int
	// Inputs holds the input token of every position.
	Inputs []int
	// Targets holds the token to predict at every position; a negative
	// value excludes the position from the loss (padding, or prompt
	// tokens when training only on responses).
	Targets []int
}

// Validate checks the shape of the batch and its tokens against a model
// configuration.
func (b *Batch) Validate(c Config) error {
	if b == nil {
		return errors.New("batch: nil")
	}
	if b.B <= 0 || b.T <= 0 {
		return fmt.Errorf("batch: invalid shape %d×%d", b.B, b.T)
	}
	if b.T > c.SeqLen {
		return fmt.Errorf("batch: %d positions exceed context of %d", b.T, c.SeqLen)
	}
	if len(b.Inputs) != b.B*b.T || len(b.Targets) != b.B*b.T {
		return fmt.Errorf("batch: %d inputs and %d targets for shape %d×%d", len(b.Inputs), len(b.Targets), b.B, b.T)
	}
	for i, t := range b.Inputs {
		if t < 0 || t >= c.VocabSize {
			return fmt.Errorf("batch: input %d: token %d outside vocabulary of %d", i, t, c.VocabSize)
		}
	}
	for i, t := range b.Targets {
		if t >= c.VocabSize {
			return fmt.Errorf("batch: target %d: token %d outside vocabulary of %d", i, t, c.VocabSize)
		}
	}
	return nil
}

// bwLayer holds the activations of one block for the whole batch.
type bwLayer struct {
	xn1, r1, q, k, v, att, o []float32
	xMid, xn2, r2, h1, h3, g []float32
	sig                      []float32 // sigmoid of h1 (SwiGLU), of the scaled GELU argument (GELU)
	mu1, mu2                 []float32 // row means (LayerNorm)
}

// TrainWorkspace holds every buffer of the float32 batched training pass
// for batches of up to B×T positions, so that steps after the first do not
// allocate. A workspace belongs to one model and is not safe for
// concurrent use; Close releases its worker goroutines. It reads the
// model's current weights at every call, but its shapes and RoPE tables
// are fixed when it is created (create a new one after changing the
// model's Config, e.g. with [Model.ConvertRopeLayout]).
type TrainWorkspace struct {
	m       *Model
	B, T, N int
	pool    *workPool

	ropeCos, ropeSin []float32 // [T][rope_dim/2]
	ropeIdx          [][2]int

	xs          [][]float32 // residual stream entering block l, and leaving the last block [L+1][N*dim]
	layers      []bwLayer
	xf, rF, muF []float32
	logits      []float32 // [N][vocab]; holds dlogits after the loss

	// backward scratch
	dx, dxMid, dxn, dg, dh1, dh3, do, dq, dk, dv []float32
	wT                                           []float32 // transposed weight
	da                                           []float32 // [B*n_kv_heads][T] attention scratch
	kT, dkT, dvT                                 []float32 // [B*n_kv_heads][head_size][T] transposed keys/values and their gradients

	inputs, targets []int
	batchB          int // sequences in the current batch (≤ B)
	rowLoss         []float64

	gemm    gemmTask
	packs   [][]float32 // gemm pack scratch, one per worker
	attnF   attnTask
	attnB   attnBackTask
	lossT   lossTask
	elem    elemTask
	workers int
	gw      weights // views into the last gradient vector
}

// layoutFinalNorm returns the final-norm view of a parameter-shaped
// vector without allocating.
func layoutFinalNorm(c Config, buf []float32) []float32 {
	n := len(buf)
	if !c.SharedClassifier {
		n -= c.VocabSize * c.Dim
	}
	return buf[n-c.Dim : n]
}

// NewTrainWorkspace returns a workspace for batches of B sequences of T
// positions computed with the given number of goroutines (GOMAXPROCS when
// workers ≤ 0). Results do not depend on workers.
func (m *Model) NewTrainWorkspace(B, T, workers int) (*TrainWorkspace, error) {
	c := m.Config
	if B <= 0 || T <= 0 {
		return nil, fmt.Errorf("train workspace: invalid batch shape %d×%d", B, T)
	}
	if T > c.SeqLen {
		return nil, fmt.Errorf("train workspace: %d positions exceed context of %d", T, c.SeqLen)
	}
	if int64(B)*int64(T)*int64(max(c.VocabSize, c.HiddenDim, c.Dim)) > 1<<33 ||
		int64(B)*int64(c.NHeads)*int64(T)*int64(T)*int64(c.NLayers) > 1<<33 {
		return nil, fmt.Errorf("train workspace: batch %d×%d too large for this model", B, T)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := m.Dequantize(); err != nil {
		return nil, fmt.Errorf("train workspace: %w", err)
	}
	N := B * T
	dim, hid, V := c.Dim, c.HiddenDim, c.VocabSize
	qd, kvd := c.NHeads*c.HeadSize(), c.KVDim()
	w := &TrainWorkspace{m: m, B: B, T: T, N: N, pool: newWorkPool(workers), workers: workers}
	half := c.ropeDim() / 2
	w.ropeIdx = c.ropePairs()
	w.ropeCos = make([]float32, T*half)
	w.ropeSin = make([]float32, T*half)
	for t := 0; t < T; t++ {
		for j, f := range m.ropeFreq {
			val := float32(t) * f
			w.ropeCos[t*half+j] = float32(math.Cos(float64(val)))
			w.ropeSin[t*half+j] = float32(math.Sin(float64(val)))
		}
	}
	f := func(n int) []float32 { return make([]float32, n) }
	w.xs = make([][]float32, c.NLayers+1)
	for i := range w.xs {
		w.xs[i] = f(N * dim)
	}
	w.layers = make([]bwLayer, c.NLayers)
	for l := range w.layers {
		w.layers[l] = bwLayer{
			xn1: f(N * dim), r1: f(N), q: f(N * qd), k: f(N * kvd), v: f(N * kvd),
			att: f(B * c.NHeads * T * T), o: f(N * qd),
			xMid: f(N * dim), xn2: f(N * dim), r2: f(N), h1: f(N * hid), g: f(N * hid), sig: f(N * hid),
		}
		if !c.GELU {
			w.layers[l].h3 = f(N * hid)
		}
		if c.LayerNorm {
			w.layers[l].mu1, w.layers[l].mu2 = f(N), f(N)
		}
	}
	w.xf, w.rF, w.muF, w.logits = f(N*dim), f(N), f(N), f(N*V)
	w.dx, w.dxMid, w.dxn = f(N*dim), f(N*dim), f(N*dim)
	w.dg, w.dh1, w.dh3 = f(N*hid), f(N*hid), f(N*hid)
	w.do, w.dq, w.dk, w.dv = f(N*qd), f(N*qd), f(N*kvd), f(N*kvd)
	w.wT = f(max(V, hid, qd) * max(dim, hid, qd))
	w.da = f(B * c.NKVHeads * T)
	w.kT, w.dkT, w.dvT = f(B*c.NKVHeads*c.HeadSize()*T), f(B*c.NKVHeads*c.HeadSize()*T), f(B*c.NKVHeads*c.HeadSize()*T)
	w.rowLoss = make([]float64, N)
	w.packs = make([][]float32, workers)
	for i := range w.packs {
		w.packs[i] = f(gemmPackLen)
	}
	w.attnF.w, w.attnB.w, w.lossT.w = w, w, w
	return w, nil
}

// Close stops the workspace's goroutines. The workspace must not be used
// afterwards.
func (w *TrainWorkspace) Close() { w.pool.close() }

// Loss runs the forward pass on b and returns the mean cross-entropy over
// the positions with a target, and their number.
func (w *TrainWorkspace) Loss(b *Batch) (float64, int, error) {
	if err := w.setBatch(b); err != nil {
		return 0, 0, err
	}
	w.forward()
	loss, n := w.loss(false)
	return loss, n, nil
}

// LossAndGrad runs the forward and backward passes on b, stores the
// gradient of the mean cross-entropy over the positions with a target in
// grads (length len(Params()), same layout; previous contents are
// overwritten) and returns the loss and the number of positions with a
// target. A batch without targets has loss 0 and a zero gradient.
func (w *TrainWorkspace) LossAndGrad(b *Batch, grads []float32) (float64, int, error) {
	if len(grads) != len(w.m.params) {
		return 0, 0, fmt.Errorf("train: %d gradients for %d parameters", len(grads), len(w.m.params))
	}
	if err := w.setBatch(b); err != nil {
		return 0, 0, err
	}
	w.forward()
	loss, n := w.loss(true)
	clear(grads)
	if n > 0 {
		w.backward(grads)
	}
	return loss, n, nil
}

func (w *TrainWorkspace) setBatch(b *Batch) error {
	if err := b.Validate(w.m.Config); err != nil {
		return err
	}
	if b.T != w.T || b.B > w.B {
		return fmt.Errorf("train: batch %d×%d does not fit workspace %d×%d", b.B, b.T, w.B, w.T)
	}
	w.inputs, w.targets, w.batchB = b.Inputs, b.Targets, b.B
	return nil
}

// rows returns the number of positions of the current batch.
func (w *TrainWorkspace) rows() int { return w.batchB * w.T }

// matmul sets out = x · wᵀ for x (rows × K) and a weight matrix w
// (n × K, one row per output), in parallel over rows. The weight is
// transposed first so that the kernel reads it row by row.
func (w *TrainWorkspace) matmul(out, x, wt []float32, rows, n, K int) {
	transpose(w.wT, wt, n, K)
	w.gemm = gemmTask{c: out, ldc: n, a: x, sai: K, sak: 1, b: w.wT, ldb: n, n: n, K: K, packs: w.packs}
	w.pool.do(rows, 4, &w.gemm)
}

// rmsRows normalises every row of x (rows × n) into out, storing 1/rms in r.
func rmsRows(out, r, x []float32, wt []float32, rows, n int, eps float32) {
	wt = wt[:n]
	for t := 0; t < rows; t++ {
		xt := x[t*n:][:n]
		var ss float32
		for _, v := range xt {
			ss += v * v
		}
		rt := float32(1 / math.Sqrt(float64(ss/float32(n)+eps)))
		r[t] = rt
		ot := out[t*n:][:n]
		for i, v := range xt {
			ot[i] = wt[i] * (rt * v)
		}
	}
}

// lnRows applies LayerNorm (weight wt, bias b) to every row of x
// (rows × n) into out, storing the mean in mu and 1/std in r.
func lnRows(out, mu, r, x, wt, b []float32, rows, n int, eps float32) {
	wt, b = wt[:n], b[:n]
	for t := 0; t < rows; t++ {
		xt := x[t*n:][:n]
		var mean float32
		for _, v := range xt {
			mean += v
		}
		mean /= float32(n)
		var vr float32
		for _, v := range xt {
			d := v - mean
			vr += d * d
		}
		rt := float32(1 / math.Sqrt(float64(vr/float32(n)+eps)))
		mu[t], r[t] = mean, rt
		ot := out[t*n:][:n]
		for i, v := range xt {
			ot[i] = wt[i]*((v-mean)*rt) + b[i]
		}
	}
}

// lnRowsBack adds to dx the gradient through y = wt·(x−mu)·r + b, and to
// dw and db the weight and bias gradients (summed over rows in order).
func lnRowsBack(dx, dw, db, dy, x, mu, r, wt []float32, rows, n int) {
	wt, dw, db = wt[:n], dw[:n], db[:n]
	for t := 0; t < rows; t++ {
		xt := x[t*n:][:n]
		dyt := dy[t*n:][:n]
		dxt := dx[t*n:][:n]
		rt, m := r[t], mu[t]
		var s1, s2 float32 // Σ dxhat, Σ dxhat·xhat
		for i, v := range xt {
			xh := (v - m) * rt
			g := dyt[i] * wt[i]
			s1 += g
			s2 += g * xh
			dw[i] += dyt[i] * xh
			db[i] += dyt[i]
		}
		s1 /= float32(n)
		s2 /= float32(n)
		for i, v := range xt {
			xh := (v - m) * rt
			dxt[i] += rt * (dyt[i]*wt[i] - s1 - xh*s2)
		}
	}
}

// normBack adds the gradient through the model's normalisation of x.
func (w *TrainWorkspace) normBack(dx, dw, db, dy, x, mu, r, wt []float32, rows, n int) {
	if w.m.Config.LayerNorm {
		lnRowsBack(dx, dw, db, dy, x, mu, r, wt, rows, n)
		return
	}
	rmsRowsBack(dx, dw, dy, x, r, wt, rows, n)
}

// biasBack adds Σ over rows of dy (rows × n) to db, in row order.
func biasBack(db, dy []float32, rows, n int) {
	db = db[:n]
	for t := 0; t < rows; t++ {
		for i, v := range dy[t*n:][:n] {
			db[i] += v
		}
	}
}

// rmsRowsBack adds to dx the gradient through y = wt·x·r, and to dw the
// weight gradient (summed over rows in order).
func rmsRowsBack(dx, dw, dy, x, r, wt []float32, rows, n int) {
	wt = wt[:n]
	dw = dw[:n]
	for t := 0; t < rows; t++ {
		xt := x[t*n:][:n]
		dyt := dy[t*n:][:n]
		dxt := dx[t*n:][:n]
		rt := r[t]
		var dot float32
		for i, v := range xt {
			dot += dyt[i] * wt[i] * v
			dw[i] += dyt[i] * v * rt
		}
		c := rt * rt * rt / float32(n) * dot
		for i, v := range xt {
			dxt[i] += rt*wt[i]*dyt[i] - c*v
		}
	}
}

// ropeRows rotates every head of the rows [lo, hi) of vec (rows of
// width values) by its position; inverse applies the transposed rotation
// (for the backward pass).
func (w *TrainWorkspace) ropeRows(vec []float32, lo, hi, width int, inverse bool) {
	hs := w.m.Config.HeadSize()
	half := len(w.ropeIdx)
	for r := lo; r < hi; r++ {
		t := r % w.T
		cs := w.ropeCos[t*half:][:half]
		sn := w.ropeSin[t*half:][:half]
		row := vec[r*width:][:width]
		for h := 0; h+hs <= width; h += hs {
			head := row[h : h+hs]
			for j, p := range w.ropeIdx {
				a, b := head[p[0]], head[p[1]]
				c, s := cs[j], sn[j]
				if inverse {
					s = -s
				}
				head[p[0]] = a*c - b*s
				head[p[1]] = a*s + b*c
			}
		}
	}
}

// elemKind selects the row-wise operation of an elemTask.
type elemKind int

const (
	elemRMS        elemKind = iota // RMSNorm of rows
	elemRope                       // RoPE of rows (inverse for the backward pass)
	elemAdd                        // out += x
	elemSwiGLU                     // gate: sig = σ(h1), g = h1·sig·h3
	elemSwiGLUBack                 // dh1, dh3 from dg
	elemLN                         // LayerNorm of rows
	elemBias                       // out[row] += bias
	elemGELU                       // sig = σ(2c(h1+0.044715h1³)), g = h1·sig
	elemGELUBack                   // dh1 from dg
)

// elemTask runs a row-wise operation in parallel over rows. Every row is
// computed the same way whatever the split, so results do not depend on
// the number of workers.
type elemTask struct {
	w       *TrainWorkspace
	kind    elemKind
	out, x  []float32
	r, wt   []float32
	mu, b   []float32
	lc      *bwLayer
	n       int // row width
	eps     float32
	inverse bool
}

func (e *elemTask) run(lo, hi int) {
	n := e.n
	switch e.kind {
	case elemRMS:
		rmsRows(e.out[lo*n:], e.r[lo:], e.x[lo*n:], e.wt, hi-lo, n, e.eps)
	case elemLN:
		lnRows(e.out[lo*n:], e.mu[lo:], e.r[lo:], e.x[lo*n:], e.wt, e.b, hi-lo, n, e.eps)
	case elemBias:
		for r := lo; r < hi; r++ {
			addTo(e.out[r*n:][:n], e.b)
		}
	case elemGELU:
		lc := e.lc
		for r := lo; r < hi; r++ {
			h1 := lc.h1[r*n:][:n]
			g := lc.g[r*n:][:n]
			sig := lc.sig[r*n:][:n]
			for i, z := range h1 {
				sig[i] = 2 * geluC * (z + 0.044715*z*z*z)
			}
			expNeg(sig)
			for i, z := range h1 {
				sg := 1 / (1 + sig[i])
				sig[i] = sg
				g[i] = z * sg
			}
		}
	case elemGELUBack:
		lc, w := e.lc, e.w
		for r := lo; r < hi; r++ {
			h1 := lc.h1[r*n:][:n]
			sg := lc.sig[r*n:][:n]
			dg := w.dg[r*n:][:n]
			dh1 := w.dh1[r*n:][:n]
			for i, z := range h1 {
				s := sg[i]
				du := 2 * geluC * (1 + 3*0.044715*z*z)
				dh1[i] = dg[i] * (s + z*s*(1-s)*du)
			}
		}
	case elemRope:
		e.w.ropeRows(e.out, lo, hi, n, e.inverse)
	case elemAdd:
		a := e.out[lo*n : hi*n]
		b := e.x[lo*n : hi*n]
		b = b[:len(a)]
		for i, v := range b {
			a[i] += v
		}
	case elemSwiGLU:
		lc := e.lc
		for r := lo; r < hi; r++ {
			h1 := lc.h1[r*n:][:n]
			h3 := lc.h3[r*n:][:n]
			g := lc.g[r*n:][:n]
			sig := lc.sig[r*n:][:n]
			copy(sig, h1)
			expNeg(sig)
			for i, z := range h1 {
				sg := 1 / (1 + sig[i])
				sig[i] = sg
				g[i] = z * sg * h3[i]
			}
		}
	case elemSwiGLUBack:
		lc, w := e.lc, e.w
		for r := lo; r < hi; r++ {
			h1 := lc.h1[r*n:][:n]
			h3 := lc.h3[r*n:][:n]
			sg := lc.sig[r*n:][:n]
			dg := w.dg[r*n:][:n]
			dh1 := w.dh1[r*n:][:n]
			dh3 := w.dh3[r*n:][:n]
			for i, z := range h1 {
				sig := sg[i]
				dh3[i] = dg[i] * z * sig
				dh1[i] = dg[i] * h3[i] * sig * (1 + z*(1-sig))
			}
		}
	}
}

// rms normalises rows of x into out in parallel with the model's
// normalisation (RMSNorm, or LayerNorm with bias b storing means in mu).
func (w *TrainWorkspace) rms(out, mu, r, x, wt, b []float32, rows, n int) {
	k := elemRMS
	if w.m.Config.LayerNorm {
		k = elemLN
	}
	w.elem = elemTask{w: w, kind: k, out: out, mu: mu, r: r, x: x, wt: wt, b: b, n: n, eps: w.m.Config.eps()}
	w.pool.do(rows, 1, &w.elem)
}

// bias adds b to every row of out (rows × len(b)) in parallel.
func (w *TrainWorkspace) bias(out, b []float32, rows int) {
	w.elem = elemTask{w: w, kind: elemBias, out: out, b: b, n: len(b)}
	w.pool.do(rows, 1, &w.elem)
}

// rope rotates rows of vec in parallel.
func (w *TrainWorkspace) rope(vec []float32, rows, width int, inverse bool) {
	w.elem = elemTask{w: w, kind: elemRope, out: vec, n: width, inverse: inverse}
	w.pool.do(rows, 1, &w.elem)
}

// add sets out += x for rows × n values in parallel.
func (w *TrainWorkspace) add(out, x []float32, rows, n int) {
	w.elem = elemTask{w: w, kind: elemAdd, out: out, x: x, n: n}
	w.pool.do(rows, 1, &w.elem)
}

// swiglu runs the feed-forward gate of a layer (or its backward pass).
func (w *TrainWorkspace) swiglu(lc *bwLayer, rows int, back bool) {
	k := elemSwiGLU
	if back {
		k = elemSwiGLUBack
	}
	if w.m.Config.GELU {
		k = elemGELU
		if back {
			k = elemGELUBack
		}
	}
	w.elem = elemTask{w: w, kind: k, lc: lc, n: w.m.Config.HiddenDim}
	w.pool.do(rows, 1, &w.elem)
}

func (w *TrainWorkspace) forward() {
	m := w.m
	c := m.Config
	N := w.rows()
	dim, hid, V := c.Dim, c.HiddenDim, c.VocabSize
	qd, kvd := c.NHeads*c.HeadSize(), c.KVDim()
	x := w.xs[0]
	for n, tok := range w.inputs {
		copy(x[n*dim:(n+1)*dim], m.w.tokEmb[tok*dim:(tok+1)*dim])
		if c.LearnedPos {
			t := n % w.T
			addTo(x[n*dim:(n+1)*dim], m.w.posEmb[t*dim:(t+1)*dim])
		}
	}
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		lc := &w.layers[l]
		x = w.xs[l]
		w.rms(lc.xn1, lc.mu1, lc.r1, x, lw.attnNorm, lw.attnNormB, N, dim)
		w.matmul(lc.q, lc.xn1, lw.wq, N, qd, dim)
		w.matmul(lc.k, lc.xn1, lw.wk, N, kvd, dim)
		w.matmul(lc.v, lc.xn1, lw.wv, N, kvd, dim)
		if c.QKVBias {
			w.bias(lc.q, lw.bq, N)
			w.bias(lc.k, lw.bk, N)
			w.bias(lc.v, lw.bv, N)
		}
		if !c.LearnedPos {
			w.rope(lc.q, N, qd, false)
			w.rope(lc.k, N, kvd, false)
		}
		w.attnF.l = lc
		w.pool.do(w.batchB*c.NKVHeads, 1, &w.attnF)
		xMid := lc.xMid
		w.matmul(xMid, lc.o, lw.wo, N, dim, qd)
		if c.OutBias {
			w.bias(xMid, lw.bo, N)
		}
		w.add(xMid, x, N, dim)
		w.rms(lc.xn2, lc.mu2, lc.r2, xMid, lw.ffnNorm, lw.ffnNormB, N, dim)
		w.matmul(lc.h1, lc.xn2, lw.w1, N, hid, dim)
		if c.GELU {
			w.bias(lc.h1, lw.b1, N)
		} else {
			w.matmul(lc.h3, lc.xn2, lw.w3, N, hid, dim)
		}
		w.swiglu(lc, N, false)
		next := w.xs[l+1]
		w.matmul(next, lc.g, lw.w2, N, dim, hid)
		if c.GELU {
			w.bias(next, lw.b2, N)
		}
		w.add(next, xMid, N, dim)
	}
	w.rms(w.xf, w.muF, w.rF, w.xs[c.NLayers], m.w.finalNorm, m.w.finalNormB, N, dim)
	w.matmul(w.logits, w.xf, m.w.wcls, N, V, dim)
}

// attnTask computes causal attention for (sequence, key/value head) pairs.
// The keys of the pair are first transposed (head_size × T) so that the
// scores of one query against all earlier keys are a vectorisable
// matrix-vector product.
type attnTask struct {
	w *TrainWorkspace
	l *bwLayer
}

func (a *attnTask) run(lo, hi int) {
	w, lc := a.w, a.l
	c := w.m.Config
	T, hs, H := w.T, c.HeadSize(), c.NHeads
	qd, kvd := H*hs, c.KVDim()
	kvMul := H / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hs)))
	for p := lo; p < hi; p++ {
		b, kh := p/c.NKVHeads, p%c.NKVHeads
		g := kh * hs
		kT := w.kT[p*hs*T:][:hs*T]
		gatherT(kT, lc.k[b*T*kvd+g:], T, hs, kvd)
		vals := lc.v[b*T*kvd+g:]
		for h := kh * kvMul; h < (kh+1)*kvMul; h++ {
			for t := 0; t < T; t++ {
				row := b*T + t
				qh := lc.q[row*qd+h*hs:][:hs]
				att := lc.att[((b*H+h)*T+t)*T:][:t+1]
				attnScores(att, qh, kT, hs, T)
				softmaxScaled(att, scale)
				oh := lc.o[row*qd+h*hs:][:hs]
				clear(oh)
				attnMix(oh, att, vals, kvd)
			}
		}
	}
}

// gatherT writes the transpose of the rows × cols block of src (row
// stride ld) to dst (cols × rows).
func gatherT(dst, src []float32, rows, cols, ld int) {
	_ = src[(rows-1)*ld+cols-1]
	for j := 0; j < rows; j++ {
		r := src[j*ld:][:cols]
		for i, v := range r {
			dst[i*rows+j] = v
		}
	}
}

// scatterT is the inverse of gatherT: dst rows (stride ld) receive the
// columns of src (cols × rows).
func scatterT(dst, src []float32, rows, cols, ld int) {
	_ = dst[(rows-1)*ld+cols-1]
	for j := 0; j < rows; j++ {
		r := dst[j*ld:][:cols]
		for i := range r {
			r[i] = src[i*rows+j]
		}
	}
}

// softmaxScaled replaces x by softmax(scale·x).
func softmaxScaled(x []float32, scale float32) {
	_, sum := scaleExp(x, scale)
	scaleVec(x, 1/sum)
}

// scaleExp replaces x by exp(scale·x − m), where m is the maximum of
// scale·x, and returns m and the sum of the new values.
func scaleExp(x []float32, scale float32) (mx, sum float32) {
	n8 := 0
	mx = float32(math.Inf(-1))
	if hasSIMD {
		if n8 = len(x) &^ 7; n8 > 0 {
			mx = scaleMaxAVX(&x[0], n8, scale)
		}
	}
	for j := n8; j < len(x); j++ {
		v := x[j] * scale
		x[j] = v
		mx = max(mx, v)
	}
	if n8 > 0 {
		sum = expSubSumAVX(&x[0], n8, mx)
	}
	for j := n8; j < len(x); j++ {
		e := exp32(x[j] - mx)
		x[j] = e
		sum += e
	}
	return mx, sum
}

// scaleVec multiplies x by s.
func scaleVec(x []float32, s float32) {
	n8 := 0
	if hasSIMD {
		if n8 = len(x) &^ 7; n8 > 0 {
			scaleAVX(&x[0], n8, s)
		}
	}
	for j := n8; j < len(x); j++ {
		x[j] *= s
	}
}

// expNeg replaces x by exp(−x).
func expNeg(x []float32) {
	n8 := 0
	if hasSIMD {
		if n8 = len(x) &^ 7; n8 > 0 {
			scaleAVX(&x[0], n8, -1)
			expSubSumAVX(&x[0], n8, 0)
		}
	}
	for j := n8; j < len(x); j++ {
		x[j] = exp32(-x[j])
	}
}

// attnScores sets s[j] = Σ_i x[i]·mT[i*ld+j] for j < len(s), i < hs.
func attnScores(s, x, mT []float32, hs, ld int) {
	n := len(s)
	x = x[:hs]
	_ = mT[(hs-1)*ld+n-1]
	n8 := 0
	if hasSIMD {
		if n8 = n &^ 7; n8 > 0 {
			gemvTavx(&s[0], &x[0], &mT[0], hs, n8, ld)
		}
	}
	for j := n8; j < n; j++ {
		var a float32
		for i, xv := range x {
			a += xv * mT[i*ld+j]
		}
		s[j] = a
	}
}

// attnMix adds Σ_j p[j]·m[j*ld : j*ld+len(o)] to o.
func attnMix(o, p, m []float32, ld int) {
	n, hs := len(p), len(o)
	_ = m[(n-1)*ld+hs-1]
	if hasSIMD && hs%8 == 0 {
		for c := 0; c < hs; c += 8 {
			gemv8avx(&o[c], &p[0], &m[c], n, ld)
		}
		return
	}
	for j, pj := range p {
		mj := m[j*ld:][:hs]
		for i, v := range mj {
			o[i] += pj * v
		}
	}
}

// attnGer adds x[i]·y[j] to d[i*ld+j] for i < len(x), j < len(y).
func attnGer(d, x, y []float32, ld int) {
	n, hs := len(y), len(x)
	_ = d[(hs-1)*ld+n-1]
	n8 := 0
	if hasSIMD {
		if n8 = n &^ 7; n8 > 0 {
			geravx(&d[0], &x[0], &y[0], hs, n8, ld)
		}
	}
	if n8 < n {
		for i, xv := range x {
			di := d[i*ld:][:n]
			for j := n8; j < n; j++ {
				di[j] += xv * y[j]
			}
		}
	}
}

// attnBackTask computes the attention gradients for (sequence, key/value
// head) pairs: every dk and dv entry is owned by exactly one pair, and is
// accumulated transposed in the pair's scratch before being written back.
type attnBackTask struct {
	w *TrainWorkspace
	l *bwLayer
}

func (a *attnBackTask) run(lo, hi int) {
	w, lc := a.w, a.l
	c := w.m.Config
	T, hs, H := w.T, c.HeadSize(), c.NHeads
	qd, kvd := H*hs, c.KVDim()
	kvMul := H / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hs)))
	for p := lo; p < hi; p++ {
		da := w.da[p*T:][:T] // scratch owned by this pair
		b, kh := p/c.NKVHeads, p%c.NKVHeads
		g := kh * hs
		vT := w.kT[p*hs*T:][:hs*T]
		gatherT(vT, lc.v[b*T*kvd+g:], T, hs, kvd)
		dkT := w.dkT[p*hs*T:][:hs*T]
		dvT := w.dvT[p*hs*T:][:hs*T]
		clear(dkT)
		clear(dvT)
		keys := lc.k[b*T*kvd+g:]
		for h := kh * kvMul; h < (kh+1)*kvMul; h++ {
			for t := 0; t < T; t++ {
				row := b*T + t
				att := lc.att[((b*H+h)*T+t)*T:][:t+1]
				doh := w.do[row*qd+h*hs:][:hs]
				d := da[:len(att)]
				attnScores(d, doh, vT, hs, T)
				var sum float32
				for j, pj := range att {
					sum += pj * d[j]
				}
				for j, pj := range att {
					d[j] = pj * (d[j] - sum) * scale
				}
				attnGer(dvT, doh, att, T)
				attnMix(w.dq[row*qd+h*hs:][:hs], d, keys, kvd)
				attnGer(dkT, lc.q[row*qd+h*hs:][:hs], d, T)
			}
		}
		scatterT(w.dk[b*T*kvd+g:], dkT, T, hs, kvd)
		scatterT(w.dv[b*T*kvd+g:], dvT, T, hs, kvd)
	}
}

// lossTask turns logits into probabilities, the per-row loss, and (when
// grad is set) the gradient of the mean loss in place.
type lossTask struct {
	w     *TrainWorkspace
	grad  bool
	scale float32 // 1 / number of targets
}

func (lt *lossTask) run(lo, hi int) {
	w := lt.w
	V := w.m.Config.VocabSize
	for n := lo; n < hi; n++ {
		tgt := w.targets[n]
		row := w.logits[n*V:][:V]
		if tgt < 0 {
			w.rowLoss[n] = 0
			if lt.grad {
				clear(row)
			}
			continue
		}
		zt := row[tgt]
		mx, sum := scaleExp(row, 1)
		w.rowLoss[n] = math.Log(float64(sum)) - float64(zt-mx)
		if lt.grad {
			scaleVec(row, lt.scale/sum)
			row[tgt] -= lt.scale
		}
	}
}

// loss computes the mean cross-entropy over positions with targets (the
// per-row values are summed in row order).
func (w *TrainWorkspace) loss(grad bool) (float64, int) {
	N := w.rows()
	cnt := 0
	for _, t := range w.targets[:N] {
		if t >= 0 {
			cnt++
		}
	}
	w.lossT.grad = grad
	w.lossT.scale = 0
	if cnt > 0 {
		w.lossT.scale = 1 / float32(cnt)
	}
	w.pool.do(N, 1, &w.lossT)
	if cnt == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range w.rowLoss[:N] {
		s += v
	}
	return s / float64(cnt), cnt
}

// weightGrad adds dYᵀ · X to dW (d × n) for dY (rows × d) and X
// (rows × n), in parallel over the rows of dW.
func (w *TrainWorkspace) weightGrad(dW, dY, X []float32, rows, d, n int) {
	w.gemm = gemmTask{c: dW, ldc: n, a: dY, sai: 1, sak: d, b: X, ldb: n, n: n, K: rows, acc: true, packs: w.packs}
	w.pool.do(d, 4, &w.gemm)
}

// inputGrad sets (or, with acc, adds) dX = dY · W for dY (rows × d) and
// W (d × n).
func (w *TrainWorkspace) inputGrad(dX, dY, W []float32, rows, d, n int, acc bool) {
	w.gemm = gemmTask{c: dX, ldc: n, a: dY, sai: d, sak: 1, b: W, ldb: n, n: n, K: d, acc: acc, packs: w.packs}
	w.pool.do(rows, 4, &w.gemm)
}

func (w *TrainWorkspace) backward(grads []float32) {
	m := w.m
	c := m.Config
	N := w.rows()
	dim, hid, V := c.Dim, c.HiddenDim, c.VocabSize
	qd, kvd := c.NHeads*c.HeadSize(), c.KVDim()
	if len(w.gw.layers) == 0 || &w.gw.finalNorm[0] != &layoutFinalNorm(c, grads)[0] {
		w.gw = layoutWeights(c, grads)
	}
	gw := &w.gw

	// Classifier and final norm.
	dlog := w.logits
	w.weightGrad(gw.wcls, dlog, w.xf, N, V, dim)
	dxf := w.dxn[:N*dim]
	w.inputGrad(dxf, dlog, m.w.wcls, N, V, dim, false)
	dx := w.dx[:N*dim]
	clear(dx)
	w.normBack(dx, gw.finalNorm, gw.finalNormB, dxf, w.xs[c.NLayers], w.muF, w.rF, m.w.finalNorm, N, dim)

	for l := c.NLayers - 1; l >= 0; l-- {
		lw := &m.w.layers[l]
		lg := &gw.layers[l]
		lc := &w.layers[l]
		// FFN: x_next = xMid + W2·g.
		dxMid := w.dxMid[:N*dim]
		copy(dxMid, dx)
		w.weightGrad(lg.w2, dx, lc.g, N, dim, hid)
		if c.GELU {
			biasBack(lg.b2, dx, N, dim)
		}
		dg := w.dg[:N*hid]
		w.inputGrad(dg, dx, lw.w2, N, dim, hid, false)
		w.swiglu(lc, N, true)
		dh1 := w.dh1[:N*hid]
		w.weightGrad(lg.w1, dh1, lc.xn2, N, hid, dim)
		dxn := w.dxn[:N*dim]
		w.inputGrad(dxn, dh1, lw.w1, N, hid, dim, false)
		if c.GELU {
			biasBack(lg.b1, dh1, N, hid)
		} else {
			dh3 := w.dh3[:N*hid]
			w.weightGrad(lg.w3, dh3, lc.xn2, N, hid, dim)
			w.inputGrad(dxn, dh3, lw.w3, N, hid, dim, true)
		}
		w.normBack(dxMid, lg.ffnNorm, lg.ffnNormB, dxn, lc.xMid, lc.mu2, lc.r2, lw.ffnNorm, N, dim)

		// Attention: xMid = xIn + Wo·o.
		copy(dx, dxMid)
		w.weightGrad(lg.wo, dxMid, lc.o, N, dim, qd)
		if c.OutBias {
			biasBack(lg.bo, dxMid, N, dim)
		}
		w.inputGrad(w.do[:N*qd], dxMid, lw.wo, N, dim, qd, false)
		clear(w.dq[:N*qd])
		w.attnB.l = lc
		w.pool.do(w.batchB*c.NKVHeads, 1, &w.attnB)
		if !c.LearnedPos {
			w.rope(w.dq, N, qd, true)
			w.rope(w.dk, N, kvd, true)
		}
		if c.QKVBias {
			biasBack(lg.bq, w.dq, N, qd)
			biasBack(lg.bk, w.dk, N, kvd)
			biasBack(lg.bv, w.dv, N, kvd)
		}
		w.weightGrad(lg.wq, w.dq, lc.xn1, N, qd, dim)
		w.weightGrad(lg.wk, w.dk, lc.xn1, N, kvd, dim)
		w.weightGrad(lg.wv, w.dv, lc.xn1, N, kvd, dim)
		w.inputGrad(dxn, w.dq, lw.wq, N, qd, dim, false)
		w.inputGrad(dxn, w.dk, lw.wk, N, kvd, dim, true)
		w.inputGrad(dxn, w.dv, lw.wv, N, kvd, dim, true)
		w.normBack(dx, lg.attnNorm, lg.attnNormB, dxn, w.xs[l], lc.mu1, lc.r1, lw.attnNorm, N, dim)
	}
	for n, tok := range w.inputs {
		e := gw.tokEmb[tok*dim:][:dim]
		for i, v := range dx[n*dim:][:dim] {
			e[i] += v
		}
		if c.LearnedPos {
			t := n % w.T
			addTo(gw.posEmb[t*dim:][:dim], dx[n*dim:][:dim])
		}
	}
}
