//go:build amd64 && !purego

package quant

import (
	"golang.org/x/sys/cpu"
)

// useAsm reports whether the AVX2/FMA/F16C kernels can run (x/sys/cpu
// also checks that the OS saves the YMM registers).
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// HasAsm reports whether the assembly kernels are in use.
func HasAsm() bool { return useAsm }

//go:noescape
func dotF32avx(w *byte, x *float32, n int) float32

//go:noescape
func dotF16avx(w *byte, x *float32, n int) float32

//go:noescape
func dotQ8_0avx(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func dotQ4_0avx(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func sumsQ4Kavx(w *byte, q *int8, sums *int32, nb int)

//go:noescape
func sumsQ6Kavx(w *byte, q *int8, sums *int32, nb int)

// asmDot holds the kernels with an assembly inner loop; the other types
// use the portable ones.
var asmDot = map[Type]func([]byte, *Act) float32{
	F32:  dotF32,
	F16:  dotF16,
	Q8_0: dotQ8_0,
	Q4_0: dotQ4_0,
	Q4_K: dotQ4_K,
	Q6_K: dotQ6_K,
}

func dotF32(w []byte, a *Act) float32 {
	n := len(w) / 4
	x := a.F[:n]
	m := n &^ 7
	var s float32
	if m > 0 {
		s = dotF32avx(&w[0], &x[0], m)
	}
	if m < n {
		s += dotF32Go(w[4*m:], x[m:])
	}
	return s
}

func dotF16(w []byte, a *Act) float32 {
	n := len(w) / 2
	x := a.F[:n]
	m := n &^ 7
	var s float32
	if m > 0 {
		s = dotF16avx(&w[0], &x[0], m)
	}
	if m < n {
		s += dotF16Go(w[2*m:], x[m:])
	}
	return s
}

func dotQ8_0(w []byte, a *Act) float32 {
	nb := len(w) / 34
	if nb == 0 {
		return 0
	}
	_ = a.Q[32*nb-1]
	_ = a.D[nb-1]
	return dotQ8_0avx(&w[0], &a.Q[0], &a.D[0], nb)
}

func dotQ4_0(w []byte, a *Act) float32 {
	nb := len(w) / 18
	if nb == 0 {
		return 0
	}
	_ = a.Q[32*nb-1]
	_ = a.D[nb-1]
	return dotQ4_0avx(&w[0], &a.Q[0], &a.D[0], nb)
}

// chunkK is the number of super-blocks whose sub-block sums are computed
// by one assembly call.
const chunkK = 32

func dotQ4_K(w []byte, a *Act) float32 {
	nb := len(w) / 144
	_ = a.Q[QK*nb-1]
	var sums [8 * chunkK]int32
	var s float32
	for k0 := 0; k0 < nb; k0 += chunkK {
		n := min(chunkK, nb-k0)
		sumsQ4Kavx(&w[144*k0], &a.Q[QK*k0], &sums[0], n)
		for k := range n {
			b := w[144*(k0+k) : 144*(k0+k+1)]
			s += combineK45(b, (*[8]int32)(sums[8*k:]), a.B[16*(k0+k):], a.D[k0+k])
		}
	}
	return s
}

// q6Order maps the assembly's order of sums within a half (sub-blocks
// 0,2,4,6,1,3,5,7) to sub-block indices.
var q6Order = [8]int{0, 2, 4, 6, 1, 3, 5, 7}

func dotQ6_K(w []byte, a *Act) float32 {
	nb := len(w) / 210
	_ = a.Q[QK*nb-1]
	var raw [16 * chunkK]int32
	var s float32
	for k0 := 0; k0 < nb; k0 += chunkK {
		n := min(chunkK, nb-k0)
		sumsQ6Kavx(&w[210*k0], &a.Q[QK*k0], &raw[0], n)
		for k := range n {
			var sums [16]int32
			r := raw[16*k : 16*k+16]
			for i, j := range q6Order {
				sums[j] = r[i]
				sums[8+j] = r[8+i]
			}
			b := w[210*(k0+k) : 210*(k0+k+1)]
			s += combineK6(b, &sums, a.B[16*(k0+k):], a.D[k0+k])
		}
	}
	return s
}
