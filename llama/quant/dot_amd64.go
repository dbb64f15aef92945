//go:build amd64 && !purego

package quant

import (
	"github.com/ggmi-dev/ggmi/internal/vecmath"
)

// useAsm reports whether the AVX2/FMA/F16C kernels can run
// (vecmath.HasAVX2FMA, which also checks that the OS saves the YMM
// registers; F16C is assumed with AVX2, not checked).
var useAsm = vecmath.HasAVX2FMA

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

//go:noescape
func dotQ8_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)

//go:noescape
func dotQ4_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)

//go:noescape
func sumsQ4Kx4avx(w *byte, q0, q1, q2, q3 *int8, s0, s1, s2, s3 *int32, nb int)

// asmDot4 holds the four-activation kernels: out[j] = row · a[j], each
// bit for bit what asmDot's kernel gives for a[j] alone.
var asmDot4 = map[Type]func([]byte, *[4]*Act, *[4]float32){
	Q8_0: dotQ8_0x4,
	Q4_0: dotQ4_0x4,
	Q4_K: dotQ4_Kx4,
}

// check4 bounds-checks the quantised activations of a for nb blocks of
// bs values.
func check4(a *[4]*Act, nb, bs int) {
	for _, x := range a {
		_ = x.Q[bs*nb-1]
		_ = x.D[nb-1]
	}
}

func dotQ8_0x4(w []byte, a *[4]*Act, out *[4]float32) {
	nb := len(w) / 34
	if nb == 0 {
		*out = [4]float32{}
		return
	}
	check4(a, nb, 32)
	dotQ8_0x4avx(&w[0], &a[0].Q[0], &a[1].Q[0], &a[2].Q[0], &a[3].Q[0],
		&a[0].D[0], &a[1].D[0], &a[2].D[0], &a[3].D[0], nb, &out[0])
}

func dotQ4_0x4(w []byte, a *[4]*Act, out *[4]float32) {
	nb := len(w) / 18
	if nb == 0 {
		*out = [4]float32{}
		return
	}
	check4(a, nb, 32)
	dotQ4_0x4avx(&w[0], &a[0].Q[0], &a[1].Q[0], &a[2].Q[0], &a[3].Q[0],
		&a[0].D[0], &a[1].D[0], &a[2].D[0], &a[3].D[0], nb, &out[0])
}

func dotQ4_Kx4(w []byte, a *[4]*Act, out *[4]float32) {
	nb := len(w) / 144
	*out = [4]float32{}
	if nb == 0 {
		return
	}
	check4(a, nb, QK)
	var sums [4][8 * chunkK]int32
	for k0 := 0; k0 < nb; k0 += chunkK {
		n := min(chunkK, nb-k0)
		sumsQ4Kx4avx(&w[144*k0], &a[0].Q[QK*k0], &a[1].Q[QK*k0], &a[2].Q[QK*k0], &a[3].Q[QK*k0],
			&sums[0][0], &sums[1][0], &sums[2][0], &sums[3][0], n)
		for k := range n {
			// combineK45 for the four activations, the scales decoded once.
			b := w[144*(k0+k) : 144*(k0+k+1)]
			var sc, mn [8]int32
			for i := range 8 {
				s, m := scaleMinK4(i, b[4:16])
				sc[i], mn[i] = int32(s), int32(m)
			}
			d, dmin := half(b), half(b[2:])
			for j, x := range a {
				bs := x.B[16*(k0+k):][:16]
				sm4 := (*[8]int32)(sums[j][8*k:])
				var si, sm int32
				for i := range 8 {
					si += sc[i] * sm4[i]
					sm += mn[i] * (int32(bs[2*i]) + int32(bs[2*i+1]))
				}
				da := x.D[k0+k]
				out[j] += d*da*float32(si) - dmin*da*float32(sm)
			}
		}
	}
}
