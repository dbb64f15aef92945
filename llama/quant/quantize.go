package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src in type t into dst, which must hold exactly the
// blocks of len(src) values (see [RowBytes]). The rules are plain
// round-to-nearest: q8_0, q4_0, q5_0 and q8_K scale by the largest
// magnitude, q4_1 and q5_1 by the range, and the k-quants pick each
// sub-block's scale (and minimum) from its range, then quantise the
// sub-block scales to 6 (q4_K, q5_K) or 8 (q6_K) bits. Non-finite inputs
// give non-finite blocks.
func Quantize(t Type, src []float32, dst []byte) error {
	if len(src) == 0 {
		if len(dst) != 0 {
			return fmt.Errorf("%s: %d bytes for 0 values", t, len(dst))
		}
		return nil
	}
	nb, err := RowBytes(t, len(src))
	if err != nil {
		return err
	}
	if len(dst) != nb {
		return fmt.Errorf("%s: %d bytes for %d values, want %d", t, len(dst), len(src), nb)
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return nil
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
		return nil
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
		return nil
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	for k := 0; k < len(src)/bs; k++ {
		blockQuant(t, src[k*bs:(k+1)*bs], dst[k*bb:(k+1)*bb])
	}
	return nil
}

func putHalf(b []byte, f float32) float32 {
	h := F32ToF16(f)
	binary.LittleEndian.PutUint16(b, h)
	return F16ToF32(h)
}

func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

func roundClamp(v float32, lo, hi int) int {
	r := int(math.Round(float64(v)))
	if v != v { // NaN
		r = lo
	}
	return min(max(r, lo), hi)
}

// signedMax returns the value of largest magnitude.
func signedMax(x []float32) float32 {
	var amax, mx float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, mx = a, v
		}
	}
	return mx
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func blockQuant(t Type, x []float32, b []byte) {
	switch t {
	case Q8_0:
		d := putHalf(b, float32(math.Abs(float64(signedMax(x))))/127)
		id := inv(d)
		for i, v := range x {
			b[2+i] = byte(int8(roundClamp(v*id, -127, 127)))
		}
	case Q4_0, Q5_0:
		n := 8
		qs := b[2:18]
		if t == Q5_0 {
			n = 16
			qs = b[6:22]
		}
		d := putHalf(b, signedMax(x)/float32(-n))
		id := inv(d)
		var qh uint32
		for i := range 16 {
			q0 := roundClamp(x[i]*id, -n, n-1) + n
			q1 := roundClamp(x[i+16]*id, -n, n-1) + n
			qs[i] = byte(q0&15 | (q1&15)<<4)
			qh |= uint32(q0>>4&1)<<i | uint32(q1>>4&1)<<(i+16)
		}
		if t == Q5_0 {
			binary.LittleEndian.PutUint32(b[2:], qh)
		}
	case Q4_1, Q5_1:
		lo, hi := minMax(x)
		n := 15
		qs := b[4:20]
		if t == Q5_1 {
			n = 31
			qs = b[8:24]
		}
		d := putHalf(b, (hi-lo)/float32(n))
		m := putHalf(b[2:], lo)
		id := inv(d)
		var qh uint32
		for i := range 16 {
			q0 := roundClamp((x[i]-m)*id, 0, n)
			q1 := roundClamp((x[i+16]-m)*id, 0, n)
			qs[i] = byte(q0&15 | (q1&15)<<4)
			qh |= uint32(q0>>4&1)<<i | uint32(q1>>4&1)<<(i+16)
		}
		if t == Q5_1 {
			binary.LittleEndian.PutUint32(b[4:], qh)
		}
	case Q8_K:
		d := float32(math.Abs(float64(signedMax(x)))) / 127
		binary.LittleEndian.PutUint32(b, math.Float32bits(d))
		id := inv(d)
		for j := range 16 {
			var s int
			for i := 16 * j; i < 16*j+16; i++ {
				q := roundClamp(x[i]*id, -127, 127)
				b[4+i] = byte(int8(q))
				s += q
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(s)))
		}
	case Q4_K, Q5_K:
		quantK45(t, x, b)
	case Q6_K:
		quantK6(x, b)
	}
}

// quantK45 encodes a q4_K or q5_K super-block: each sub-block j of 32
// values gets scale s_j = (max − min_j)/nmax with min_j = min(0, min x)
// and offset m_j = −min_j; s_j and m_j are stored as 6-bit multiples of
// the super-block's d = max s_j/63 and dmin = max m_j/63.
func quantK45(t Type, x []float32, b []byte) {
	nmax := 15
	if t == Q5_K {
		nmax = 31
	}
	var scales, mins [8]float32
	var smax, mmax float32
	for j := range 8 {
		lo, hi := minMax(x[32*j : 32*j+32])
		lo = min(lo, 0)
		scales[j] = (hi - lo) / float32(nmax)
		mins[j] = -lo
		smax, mmax = max(smax, scales[j]), max(mmax, mins[j])
	}
	d := putHalf(b, smax/63)
	dmin := putHalf(b[2:], mmax/63)
	var ls, lm [8]int
	for j := range 8 {
		ls[j] = roundClamp(scales[j]*inv(d), 0, 63)
		lm[j] = roundClamp(mins[j]*inv(dmin), 0, 63)
	}
	sc := b[4:16]
	for j := range 4 {
		sc[j] = byte(ls[j] | (ls[j+4]>>4)<<6)
		sc[j+4] = byte(lm[j] | (lm[j+4]>>4)<<6)
		sc[j+8] = byte(ls[j+4]&15 | (lm[j+4]&15)<<4)
	}
	var qh []byte
	qs := b[16:144]
	if t == Q5_K {
		qh = b[16:48]
		qs = b[48:176]
		clear(qh)
	}
	for c := range 4 {
		for half := range 2 {
			j := 2*c + half
			dj := d * float32(ls[j])
			mj := dmin * float32(lm[j])
			id := inv(dj)
			for l := range 32 {
				q := roundClamp((x[64*c+32*half+l]+mj)*id, 0, nmax)
				if half == 0 {
					qs[32*c+l] = byte(q & 15)
				} else {
					qs[32*c+l] |= byte(q&15) << 4
				}
				if qh != nil && q&16 != 0 {
					qh[l] |= 1 << (2*c + half)
				}
			}
		}
	}
}

// quantK6 encodes a q6_K super-block: sub-blocks of 16 values, each with
// a signed 8-bit scale (a multiple of the super-block's d) and 6-bit
// values q−32 in [−32, 31].
func quantK6(x []float32, b []byte) {
	var scales [16]float32
	var amax, smax float32
	for j := range 16 {
		scales[j] = signedMax(x[16*j:16*j+16]) / -32
		if a := float32(math.Abs(float64(scales[j]))); a > amax {
			amax, smax = a, scales[j]
		}
	}
	d := putHalf(b[208:], smax/-128)
	var q [QK]int
	for j := range 16 {
		s := roundClamp(scales[j]*inv(d), -128, 127)
		b[192+j] = byte(int8(s))
		id := inv(d * float32(s))
		for i := 16 * j; i < 16*j+16; i++ {
			q[i] = roundClamp(x[i]*id, -32, 31) + 32
		}
	}
	for h := range 2 {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		v := q[128*h : 128*h+128]
		for l := range 32 {
			q1, q2, q3, q4 := v[l], v[l+32], v[l+64], v[l+96]
			ql[l] = byte(q1&15 | (q3&15)<<4)
			ql[l+32] = byte(q2&15 | (q4&15)<<4)
			qh[l] = byte(q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6)
		}
	}
}
