package measure

import (
	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/floats"
)

// dotAVX2 is the inner product with AVX2 fused multiply-adds (four
// accumulators of four lanes); len(b) ≥ len(a).
//
//go:noescape
func dotAVX2(a, b []float64) float64

var haveAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotFast is the inner product of a and b[:len(a)]: AVX2/FMA assembly when
// the CPU has it, gonum's SSE2 kernel otherwise. The summation order is
// fixed for a given CPU, so results do not depend on goroutines.
func dotFast(a, b []float64) float64 {
	if haveAVX2FMA {
		return dotAVX2(a, b[:len(a)])
	}
	return floats.Dot(a, b)
}

// dot4AVX2 sets out[r] = a_r·b over n elements.
//
//go:noescape
func dot4AVX2(a0, a1, a2, a3, b *float64, n int, out *[4]float64)

// dot4 sets out[r] = a[r]·b for the up to four rows a (every row at least
// len(b) long); missing rows give 0. Each product is summed in the same
// order whichever slot it occupies, so a pair's value does not depend on
// its neighbours.
func dot4(a [][]float64, b []float64, out *[4]float64) {
	n := len(b)
	if n == 0 || len(a) == 0 {
		*out = [4]float64{}
		return
	}
	if haveAVX2FMA {
		p := [4]*float64{&a[0][0], &a[0][0], &a[0][0], &a[0][0]}
		for r := 1; r < len(a) && r < 4; r++ {
			p[r] = &a[r][0]
		}
		_ = a[min(len(a), 4)-1][n-1] // bounds: every row holds n values
		dot4AVX2(p[0], p[1], p[2], p[3], &b[0], n, out)
		for r := len(a); r < 4; r++ {
			out[r] = 0
		}
		return
	}
	for r := range 4 {
		out[r] = 0
		if r < len(a) {
			out[r] = floats.Dot(a[r][:n], b)
		}
	}
}

// dot4x2AVX2 sets out[r] = a_r·b0 and out[4+r] = a_r·b1 over n elements.
//
//go:noescape
func dot4x2AVX2(a0, a1, a2, a3, b0, b1 *float64, n int, out *[8]float64)

// dot4x2 sets out[r] = a[r]·b0 and out[4+r] = a[r]·b1 for the up to four
// rows a (every row at least len(b0) long, len(b1) = len(b0)); missing rows
// give 0. As in dot4, a product's summation order does not depend on its
// slot.
func dot4x2(a [][]float64, b0, b1 []float64, out *[8]float64) {
	n := len(b0)
	if !haveAVX2FMA || n == 0 || len(a) == 0 {
		dot4x2Go(a, b0, b1, out)
		return
	}
	p := [4]*float64{&a[0][0], &a[0][0], &a[0][0], &a[0][0]}
	for r := 1; r < len(a) && r < 4; r++ {
		p[r] = &a[r][0]
	}
	_ = a[min(len(a), 4)-1][n-1] // bounds: every row holds n values
	_ = b1[n-1]
	dot4x2AVX2(p[0], p[1], p[2], p[3], &b0[0], &b1[0], n, out)
	for r := len(a); r < 4; r++ {
		out[r], out[4+r] = 0, 0
	}
}
