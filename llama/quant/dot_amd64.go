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
func dotQ4Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32

//go:noescape
func dotQ5_0avx(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func dotQ5Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32

//go:noescape
func dotQ6Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32

// asmDot holds the kernels with an assembly inner loop; the other types
// use the portable ones.
var asmDot = map[Type]func([]byte, *Act) float32{
	F32:  dotF32,
	F16:  dotF16,
	Q8_0: dotQ8_0,
	Q4_0: dotQ4_0,
	Q5_0: dotQ5_0,
	Q4_K: dotQ4_K,
	Q5_K: dotQ5_K,
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

func dotQ4_K(w []byte, a *Act) float32 {
	nb := len(w) / 144
	if nb == 0 {
		return 0
	}
	_ = a.Q[QK*nb-1]
	_ = a.B[16*nb-1]
	_ = a.D[nb-1]
	return dotQ4Kavx(&w[0], &a.Q[0], &a.B[0], &a.D[0], nb)
}

func dotQ5_0(w []byte, a *Act) float32 {
	nb := len(w) / 22
	if nb == 0 {
		return 0
	}
	_ = a.Q[32*nb-1]
	_ = a.D[nb-1]
	return dotQ5_0avx(&w[0], &a.Q[0], &a.D[0], nb)
}

func dotQ5_K(w []byte, a *Act) float32 {
	nb := len(w) / 176
	if nb == 0 {
		return 0
	}
	_ = a.Q[QK*nb-1]
	_ = a.B[16*nb-1]
	_ = a.D[nb-1]
	return dotQ5Kavx(&w[0], &a.Q[0], &a.B[0], &a.D[0], nb)
}

func dotQ6_K(w []byte, a *Act) float32 {
	nb := len(w) / 210
	if nb == 0 {
		return 0
	}
	_ = a.Q[QK*nb-1]
	_ = a.B[16*nb-1]
	_ = a.D[nb-1]
	return dotQ6Kavx(&w[0], &a.Q[0], &a.B[0], &a.D[0], nb)
}

//go:noescape
func dotQ8_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)

//go:noescape
func dotQ4_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)

// asmDot4 holds the four-activation kernels: out[j] = row · a[j], each
// bit for bit what asmDot's kernel gives for a[j] alone.
var asmDot4 = map[Type]func([]byte, *[4]*Act, *[4]float32){
	Q8_0: dotQ8_0x4,
	Q4_0: dotQ4_0x4,
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
