package measure

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// kernelFunc evaluates a kernel from an inner product and the two squared
// norms: exp(−max(‖x‖² + ‖y‖² − 2x·y, 0)/(2σ²)) or the inner product.
type kernelFunc struct {
	linear bool
	c      float64 // −1/(2σ²)
}

func gaussianFunc(s2 float64) kernelFunc { return kernelFunc{c: -1 / (2 * s2)} }

var linearFunc = kernelFunc{linear: true}

func (k kernelFunc) val(d, a, b float64) float64 {
	if k.linear {
		return d
	}
	return expNeg(max(a+b-2*d, 0) * k.c)
}

// hsicStreamBlock is the number of rows per work unit of hsicBiasedStream.
const hsicStreamBlock = 16

// hsicBiasedStream returns tr(KHLH) (not yet divided by (n−1)²) without
// forming K or L, from the expansion
//
//	tr(KHLH) = Σ_ij K_ij L_ij − (2/n) Σ_i k_i l_i + (Σ_i k_i)(Σ_i l_i)/n²,
//
// k_i and l_i the row sums. Each pair i < j is visited once: its kernel
// values are computed from x_i·x_j and y_i·y_j and added to the pair sum,
// to the row sums of i and to per-block column sums of j. Work is split
// into fixed blocks of rows whose partial sums are added in block order, so
// the result does not depend on the number of goroutines. Memory is O(n²/B)
// for B = 16 rows per block instead of the 2n² of two kernel matrices.
func hsicBiasedStream(x, y [][]float64, kx, ky kernelFunc) float64 {
	n := len(x)
	sqx := make([]float64, n)
	sqy := make([]float64, n)
	var d4 [4]float64
	for i := range n {
		// Squared norms through the same kernel as the pairs, so that a
		// repeated point has distance exactly 0.
		dot4(x[i:i+1], x[i], &d4)
		sqx[i] = d4[0]
		dot4(y[i:i+1], y[i], &d4)
		sqy[i] = d4[0]
	}
	type block struct {
		lo, hi     int
		kl         float64   // Σ over its pairs i < j of K_ij L_ij
		colK, colL []float64 // column sums over its rows i < j, index j−lo
		rowK, rowL []float64 // row sums over j > i, index i−lo
	}
	nb := (n + hsicStreamBlock - 1) / hsicStreamBlock
	blocks := make([]block, nb)
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), nb)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1)) - 1
				if b >= nb {
					return
				}
				lo := b * hsicStreamBlock
				hi := min(lo+hsicStreamBlock, n)
				bl := block{lo: lo, hi: hi, colK: make([]float64, n-lo), colL: make([]float64, n-lo),
					rowK: make([]float64, hi-lo), rowL: make([]float64, hi-lo)}
				// Column-major over the block: x_j and y_j are read once
				// per block and meet the block's rows in cache.
				var dx, dy [4]float64
				var rowK, rowL [hsicStreamBlock]float64
				var kl float64
				for j := lo + 1; j < n; j++ {
					xj, yj := x[j], y[j]
					var ck, cl float64
					top := min(hi, j)
					for i0 := lo; i0 < top; i0 += 4 {
						i1 := min(i0+4, top)
						dot4(x[i0:i1], xj, &dx)
						dot4(y[i0:i1], yj, &dy)
						for i := i0; i < i1; i++ {
							k := kx.val(dx[i-i0], sqx[i], sqx[j])
							l := ky.val(dy[i-i0], sqy[i], sqy[j])
							kl += k * l
							rowK[i-lo] += k
							rowL[i-lo] += l
							ck += k
							cl += l
						}
					}
					bl.colK[j-lo], bl.colL[j-lo] = ck, cl
				}
				bl.kl = kl
				copy(bl.rowK, rowK[:hi-lo])
				copy(bl.rowL, rowL[:hi-lo])
				blocks[b] = bl
			}
		}()
	}
	wg.Wait()
	// Row sums: the diagonal, the pairs j > i (the row's block) and i < j
	// seen as columns by every block up to the row's own.
	var skl float64
	rk := make([]float64, n)
	rl := make([]float64, n)
	for i := range n {
		rk[i] = kx.val(sqx[i], sqx[i], sqx[i])
		rl[i] = ky.val(sqy[i], sqy[i], sqy[i])
		skl += rk[i] * rl[i]
	}
	for _, bl := range blocks {
		skl += 2 * bl.kl
		for i := bl.lo; i < bl.hi; i++ {
			rk[i] += bl.rowK[i-bl.lo]
			rl[i] += bl.rowL[i-bl.lo]
		}
		for j := bl.lo; j < n; j++ {
			rk[j] += bl.colK[j-bl.lo]
			rl[j] += bl.colL[j-bl.lo]
		}
	}
	var sk, sl, cross float64
	for i := range n {
		sk += rk[i]
		sl += rl[i]
		cross += rk[i] * rl[i]
	}
	fn := float64(n)
	return skl - 2*cross/fn + sk*sl/(fn*fn)
}

// kernelOf validates a kernel choice and returns its function and σ² (0 for
// the linear kernel; the median heuristic when Sigma2 is 0).
func kernelOf(x [][]float64, k Kernel, seed uint64) (kernelFunc, float64, error) {
	switch k.Kind {
	case "linear":
		return linearFunc, 0, nil
	case "", "gaussian":
	default:
		return kernelFunc{}, 0, fmt.Errorf("measure: unknown kernel %q (want gaussian or linear)", k.Kind)
	}
	s2 := k.Sigma2
	if s2 == 0 {
		s2 = MedianSigma2Rows(x, seed, k.MedianRows)
	}
	if s2 < 0 || math.IsNaN(s2) || math.IsInf(s2, 0) {
		return kernelFunc{}, 0, fmt.Errorf("measure: kernel σ² must be positive (got %g)", s2)
	}
	return gaussianFunc(s2), s2, nil
}
