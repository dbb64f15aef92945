package quant

import (
	"fmt"
	"math"
)

// Act is an activation vector prepared for products with weight rows of
// one family: kept as float32 (Type F32), quantised to int8 blocks of 32
// with a float32 scale per block (Type Q8_0; the scale is not rounded to
// f16 as in a q8_0 tensor), or to int8 super-blocks of 256 with a float32
// scale and the sums of each 16 values (Type Q8_K). Buffers are reused
// across calls to Set; an Act is not safe for concurrent modification but
// may be read by many goroutines.
type Act struct {
	Type Type
	N    int
	F    []float32 // F32: the values (aliases the input of Set)
	Q    []int8    // Q8_0, Q8_K: quantised values
	D    []float32 // Q8_0, Q8_K: scale of each block
	S    []float32 // Q8_0: D[k]·Σ Q of block k (for weights with an offset)
	B    []int16   // Q8_K: Σ Q of each 16 values
}

// Set prepares x for products with weights of type w (see [Type.ActType]).
// For float weights the Act aliases x.
func (a *Act) Set(w Type, x []float32) error {
	t := w.ActType()
	if !w.Known() {
		return fmt.Errorf("unknown tensor type %d", uint32(w))
	}
	if t != F32 {
		if _, err := RowBytes(t, len(x)); err != nil {
			return err
		}
	}
	a.Type, a.N = t, len(x)
	switch t {
	case F32:
		a.F = x
	case Q8_0:
		nb := len(x) / 32
		a.Q = grow(a.Q, len(x))
		a.D = grow(a.D, nb)
		a.S = grow(a.S, nb)
		for k := range nb {
			a.D[k], a.S[k] = quantBlock8(x[32*k:32*k+32], a.Q[32*k:32*k+32])
		}
	case Q8_K:
		nb := len(x) / QK
		a.Q = grow(a.Q, len(x))
		a.D = grow(a.D, nb)
		a.B = grow(a.B, len(x)/16)
		for k := range nb {
			a.D[k], _ = quantBlock8(x[QK*k:QK*k+QK], a.Q[QK*k:QK*k+QK])
		}
		for j := range a.B {
			var s int16
			for _, q := range a.Q[16*j : 16*j+16] {
				s += int16(q)
			}
			a.B[j] = s
		}
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// quantBlock8 writes round(x/d) with d = max|x|/127 to q and returns d and
// d·Σq.
func quantBlock8(x []float32, q []int8) (d, s float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, math.Float32frombits(math.Float32bits(v)&^(1<<31)))
	}
	d = amax / 127
	id := inv(d)
	var sum int32
	q = q[:len(x)]
	for i, v := range x {
		r := round127(v * id)
		q[i] = r
		sum += int32(r)
	}
	return d, d * float32(sum)
}

// round127 is roundClamp(v, -127, 127) (nearest, halves away from zero,
// NaN to -127) without float64 rounding: v − trunc(v) is exact.
func round127(v float32) int8 {
	if !(v > -127) {
		return -127
	}
	if v >= 127 {
		return 127
	}
	r := int32(v)
	switch f := v - float32(r); {
	case f >= 0.5:
		r++
	case f <= -0.5:
		r--
	}
	return int8(r)
}

// Values returns the activation as float32 values (what the products use):
// x itself for F32, D·Q otherwise.
func (a *Act) Values() []float32 {
	if a.Type == F32 {
		return a.F
	}
	bs := 32
	if a.Type == Q8_K {
		bs = QK
	}
	out := make([]float32, a.N)
	for i := range out {
		out[i] = a.D[i/bs] * float32(a.Q[i])
	}
	return out
}
