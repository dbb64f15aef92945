package llama

import "sync"

// Float32 kernels and a small persistent worker pool for the batched
// training path. Every output element is computed by exactly one goroutine
// with a fixed summation order, so results never depend on the number of
// workers.

// Block sizes of the packed product: a kc × nc block of b is copied into
// 16-column strips (gemmKC × 16 floats, 16 KB, stay in L1 while every
// 4-row group of the a block passes over them) and an mc × kc block of a
// into 4-row groups, so that the kernel reads both operands sequentially
// whatever their strides.
const (
	gemmKC = 256
	gemmNC = 512
	gemmMC = 64
	// gemmPackLen is the scratch a gemm call needs for its packed path.
	gemmPackLen = gemmKC*gemmNC + gemmMC*gemmKC
)

// gemm computes, for rows i in [lo, hi) and columns j < n,
//
//	c[i*ldc+j] (+)= Σ_{k<K} a[i*sai+k*sak] · b[k*ldb+j]
//
// replacing c when acc is false. The strides of a let the same kernel
// multiply by a matrix (sai = K, sak = 1) or by the transpose of one
// (sai = 1, sak = rows), so no activation is ever transposed. With vector
// instructions and a pack scratch of gemmPackLen values, blocks of 4 rows
// × 16 columns are computed from packed copies of a and b, block of k by
// block of k (each block's sum is added to c in k order); the remaining
// columns and rows use scalar loops over the whole sum. Which path
// computes an element depends only on its position and on lo being a
// multiple of 4, so results do not depend on how rows are split between
// workers as long as chunks start at multiples of 4.
func gemm(c []float32, ldc int, a []float32, sai, sak int, b []float32, ldb, n, K, lo, hi int, acc bool, pack []float32) {
	if hi <= lo || n <= 0 {
		return
	}
	if K <= 0 {
		if !acc {
			for i := lo; i < hi; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	// Bounds of every element the kernels touch (addresses grow with i,
	// j and k).
	_ = c[(hi-1)*ldc+n-1]
	_ = a[(hi-1)*sai+(K-1)*sak]
	_ = b[(K-1)*ldb+n-1]
	i := lo
	if hasSIMD && len(pack) >= gemmPackLen {
		m4 := lo + (hi-lo)&^3
		n16 := n &^ 15
		if m4 > lo && n16 > 0 {
			gemmPacked(c, ldc, a, sai, sak, b, ldb, n16, K, lo, m4, acc, pack)
			if n16 < n {
				for r := lo; r < m4; r++ {
					gemmRowTail(c[r*ldc:], a[r*sai:], sak, b, ldb, n16, n, K, acc)
				}
			}
			i = m4
		}
	} else if hasSIMD {
		for ; i+4 <= hi; i += 4 {
			j := 0
			for ; j+16 <= n; j += 16 {
				gemm4x16avx(&c[i*ldc+j], ldc, &a[i*sai], sai, sak, &b[j], ldb, K, acc)
			}
			if j+8 <= n {
				gemm4x8avx(&c[i*ldc+j], ldc, &a[i*sai], sai, sak, &b[j], ldb, K, acc)
				j += 8
			}
			if j < n {
				for r := i; r < i+4; r++ {
					gemmRowTail(c[r*ldc:], a[r*sai:], sak, b, ldb, j, n, K, acc)
				}
			}
		}
	}
	for ; i < hi; i++ {
		gemmRowTail(c[i*ldc:], a[i*sai:], sak, b, ldb, 0, n, K, acc)
	}
}

// gemmPacked is gemm's packed path for rows [lo, hi) (hi − lo a multiple
// of 4) and columns [0, n) (n a multiple of 16).
func gemmPacked(c []float32, ldc int, a []float32, sai, sak int, b []float32, ldb, n, K, lo, hi int, acc bool, pack []float32) {
	bp := pack[:gemmKC*gemmNC]
	ap := pack[gemmKC*gemmNC:][:gemmMC*gemmKC]
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < K; pc += gemmKC {
			kc := min(gemmKC, K-pc)
			// b block → strips of 16 columns, row k of strip s at
			// bp[s*kc*16+k*16].
			for k := 0; k < kc; k++ {
				row := b[(pc+k)*ldb+jc:][:nc]
				for s := 0; s*16 < nc; s++ {
					copy(bp[s*kc*16+k*16:][:16], row[s*16:s*16+16])
				}
			}
			blkAcc := acc || pc > 0
			for ic := lo; ic < hi; ic += gemmMC {
				mc := min(gemmMC, hi-ic)
				// a block → groups of 4 rows, k-major: ap[g*kc*4+k*4+r].
				if sak == 1 {
					for g := 0; g*4 < mc; g++ {
						dst := ap[g*kc*4:][:kc*4]
						for r := 0; r < 4; r++ {
							src := a[(ic+g*4+r)*sai+pc:][:kc]
							for k, v := range src {
								dst[k*4+r] = v
							}
						}
					}
				} else {
					for k := 0; k < kc; k++ {
						base := (pc + k) * sak
						for g := 0; g*4 < mc; g++ {
							d := ap[g*kc*4+k*4:][:4]
							i0 := base + (ic+g*4)*sai
							d[0], d[1], d[2], d[3] = a[i0], a[i0+sai], a[i0+2*sai], a[i0+3*sai]
						}
					}
				}
				for s := 0; s*16 < nc; s++ {
					bs := &bp[s*kc*16]
					for g := 0; g*4 < mc; g++ {
						gemm4x16avx(&c[(ic+g*4)*ldc+jc+s*16], ldc, &ap[g*kc*4], 1, 4, bs, 16, kc, blkAcc)
					}
				}
			}
		}
	}
}

// gemmRowTail computes the columns [j0, n) of one row of gemm: the row
// is accumulated as a sum of rows of b (contiguous loads), in k order.
func gemmRowTail(c, a []float32, sak int, b []float32, ldb, j0, n, K int, acc bool) {
	row := c[j0:n]
	if !acc {
		clear(row)
	}
	for k := 0; k < K; k++ {
		av := a[k*sak]
		bk := b[k*ldb+j0 : k*ldb+n]
		bk = bk[:len(row)]
		for j, v := range bk {
			row[j] += av * v
		}
	}
}

// transpose writes the transpose of src (rows × cols) to dst (cols × rows).
// Sixteen source rows are handled together so that every destination
// write fills a whole 64-byte cache line, while the sixteen source rows
// are each read sequentially.
func transpose(dst, src []float32, rows, cols int) {
	const bs = 16
	dst = dst[:rows*cols]
	src = src[:rows*cols]
	r := 0
	for ; r+bs <= rows; r += bs {
		blk := src[r*cols:][:bs*cols]
		for c := 0; c < cols; c++ {
			d := dst[c*rows+r:][:bs]
			for k := range d {
				d[k] = blk[k*cols+c]
			}
		}
	}
	for ; r < rows; r++ {
		for c, v := range src[r*cols:][:cols] {
			dst[c*rows+r] = v
		}
	}
}

// parTask is a unit of parallel work over an index range.
type parTask interface {
	run(lo, hi int)
}

// workerTask is a parTask that wants to know which worker (0 for the
// caller, 1… for the helpers) runs a chunk, e.g. to use per-worker
// scratch.
type workerTask interface {
	runW(w, lo, hi int)
}

type parMsg struct {
	t         parTask
	w, lo, hi int
	j         *shareJob // a call of share (infer.go) instead of one chunk of t
}

// runOn runs t's chunk as worker w.
func runOn(t parTask, w, lo, hi int) {
	if wt, ok := t.(workerTask); ok {
		wt.runW(w, lo, hi)
		return
	}
	t.run(lo, hi)
}

// workPool runs parTasks on a fixed set of goroutines. The range of a call
// is cut into one contiguous chunk per worker; the caller runs the first.
// Sending values over channels does not allocate, so a call costs no
// allocation when the task is a pointer.
type workPool struct {
	n    int
	chs  []chan parMsg
	wg   sync.WaitGroup
	once sync.Once
}

// newWorkPool starts n-1 helper goroutines (n ≥ 1).
func newWorkPool(n int) *workPool {
	n = max(n, 1)
	p := &workPool{n: n}
	for i := 1; i < n; i++ {
		ch := make(chan parMsg, 1)
		p.chs = append(p.chs, ch)
		go func() {
			for m := range ch {
				if m.j != nil {
					m.j.work()
					continue
				}
				runOn(m.t, m.w, m.lo, m.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// do runs t over [0, total), split into contiguous chunks; align rounds
// chunk boundaries to multiples of align (≥ 1) so that kernels working on
// blocks of rows keep their fast path.
func (p *workPool) do(total, align int, t parTask) {
	if p.n == 1 || total <= align {
		t.run(0, total)
		return
	}
	align = max(align, 1)
	units := (total + align - 1) / align
	workers := min(p.n, units)
	bound := func(w int) int { return min(total, units*w/workers*align) }
	p.wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		p.chs[w-1] <- parMsg{t: t, w: w, lo: bound(w), hi: bound(w + 1)}
	}
	runOn(t, 0, 0, bound(1))
	p.wg.Wait()
}

// close stops the helper goroutines; the pool must not be used afterwards.
func (p *workPool) close() {
	p.once.Do(func() {
		for _, ch := range p.chs {
			close(ch)
		}
	})
}

// gemmTask is gemm as a parTask over rows; packs holds one pack scratch
// per worker (none: the unpacked path).
type gemmTask struct {
	c, a, b                  []float32
	ldc, sai, sak, ldb, n, K int
	acc                      bool
	packs                    [][]float32
}

func (g *gemmTask) run(lo, hi int) { g.runW(0, lo, hi) }

func (g *gemmTask) runW(w, lo, hi int) {
	var pack []float32
	if w < len(g.packs) {
		pack = g.packs[w]
	}
	gemm(g.c, g.ldc, g.a, g.sai, g.sak, g.b, g.ldb, g.n, g.K, lo, hi, g.acc, pack)
}
