package quant

import (
	"encoding/binary"
	"math"
)

// Portable kernels: one weight row of nb blocks times a prepared
// activation. Integer products are summed exactly in int32 per block (or
// sub-block); the float accumulation runs in block order.

func dotF32Go(w []byte, x []float32) float32 {
	var s float32
	x = x[:len(w)/4]
	for i, v := range x {
		s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * v
	}
	return s
}

func dotF16Go(w []byte, x []float32) float32 {
	var s float32
	x = x[:len(w)/2]
	for i, v := range x {
		s += f16tab[binary.LittleEndian.Uint16(w[2*i:])] * v
	}
	return s
}

func dotBF16Go(w []byte, x []float32) float32 {
	var s float32
	x = x[:len(w)/2]
	for i, v := range x {
		s += BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * v
	}
	return s
}

func dotQ8_0Go(w []byte, a *Act) float32 {
	var s float32
	for k := range len(w) / 34 {
		b := w[34*k : 34*k+34]
		q := a.Q[32*k : 32*k+32]
		var is int32
		for i, v := range b[2:34] {
			is += int32(int8(v)) * int32(q[i])
		}
		s += half(b) * a.D[k] * float32(is)
	}
	return s
}

func dotQ4_0Go(w []byte, a *Act) float32 {
	var s float32
	for k := range len(w) / 18 {
		b := w[18*k : 18*k+18]
		q := a.Q[32*k : 32*k+32]
		var is int32
		for i, v := range b[2:18] {
			is += (int32(v&15)-8)*int32(q[i]) + (int32(v>>4)-8)*int32(q[i+16])
		}
		s += half(b) * a.D[k] * float32(is)
	}
	return s
}

func dotQ4_1Go(w []byte, a *Act) float32 {
	var s float32
	for k := range len(w) / 20 {
		b := w[20*k : 20*k+20]
		q := a.Q[32*k : 32*k+32]
		var is int32
		for i, v := range b[4:20] {
			is += int32(v&15)*int32(q[i]) + int32(v>>4)*int32(q[i+16])
		}
		s += half(b)*a.D[k]*float32(is) + half(b[2:])*a.S[k]
	}
	return s
}

func dotQ5Go(w []byte, a *Act, withMin bool) float32 {
	bb, off := 22, 2
	if withMin {
		bb, off = 24, 4
	}
	var s float32
	for k := range len(w) / bb {
		b := w[bb*k : bb*k+bb]
		q := a.Q[32*k : 32*k+32]
		qh := binary.LittleEndian.Uint32(b[off:])
		var is int32
		for i, v := range b[off+4 : bb] {
			x0 := int32(v&15) | int32(qh>>i&1)<<4
			x1 := int32(v>>4) | int32(qh>>(i+16)&1)<<4
			if !withMin {
				x0, x1 = x0-16, x1-16
			}
			is += x0*int32(q[i]) + x1*int32(q[i+16])
		}
		if withMin {
			s += half(b)*a.D[k]*float32(is) + half(b[2:])*a.S[k]
		} else {
			s += half(b) * a.D[k] * float32(is)
		}
	}
	return s
}

// subSums4 sets sums[j] = Σ over sub-block j (32 values) of q·a for a
// q4_K (hb == nil) or q5_K super-block: low nibbles of 32-byte chunk c are
// values 64c..64c+31, high nibbles 64c+32..64c+63.
func subSums4(qs, qh []byte, a []int8, sums *[8]int32) {
	for c := range 4 {
		q := qs[32*c : 32*c+32]
		lo := a[64*c : 64*c+32]
		hi := a[64*c+32 : 64*c+64]
		var s0, s1 int32
		for l, v := range q {
			x0, x1 := int32(v&15), int32(v>>4)
			if qh != nil {
				x0 |= int32(qh[l]>>(2*c)&1) << 4
				x1 |= int32(qh[l]>>(2*c+1)&1) << 4
			}
			s0 += x0 * int32(lo[l])
			s1 += x1 * int32(hi[l])
		}
		sums[2*c], sums[2*c+1] = s0, s1
	}
}

// combineK45 turns the sub-block sums of one q4_K/q5_K super-block into
// its contribution d·da·Σ sc_j·sums_j − dmin·da·Σ m_j·(Σ a over j).
func combineK45(b []byte, sums *[8]int32, bs []int16, da float32) float32 {
	sc := b[4:16]
	var si, sm int32
	for j := range 8 {
		s, m := scaleMinK4(j, sc)
		si += int32(s) * sums[j]
		sm += int32(m) * (int32(bs[2*j]) + int32(bs[2*j+1]))
	}
	return half(b)*da*float32(si) - half(b[2:])*da*float32(sm)
}

func dotQ4_KGo(w []byte, a *Act) float32 {
	var s float32
	var sums [8]int32
	for k := range len(w) / 144 {
		b := w[144*k : 144*k+144]
		subSums4(b[16:144], nil, a.Q[QK*k:QK*k+QK], &sums)
		s += combineK45(b, &sums, a.B[16*k:16*k+16], a.D[k])
	}
	return s
}

func dotQ5_KGo(w []byte, a *Act) float32 {
	var s float32
	var sums [8]int32
	for k := range len(w) / 176 {
		b := w[176*k : 176*k+176]
		subSums4(b[48:176], b[16:48], a.Q[QK*k:QK*k+QK], &sums)
		s += combineK45(b, &sums, a.B[16*k:16*k+16], a.D[k])
	}
	return s
}

// subSums6 sets sums[j] = Σ over sub-block j (16 values) of u·a for one
// q6_K super-block, where u = q+32 in [0, 63] is the stored value.
func subSums6(b []byte, a []int8, sums *[16]int32) {
	for h := range 2 {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		av := a[128*h : 128*h+128]
		for l := range 32 {
			u1 := int32(ql[l]&15 | (qh[l]&3)<<4)
			u2 := int32(ql[l+32]&15 | (qh[l]>>2&3)<<4)
			u3 := int32(ql[l]>>4 | (qh[l]>>4&3)<<4)
			u4 := int32(ql[l+32]>>4 | (qh[l]>>6&3)<<4)
			is := 8*h + l/16
			sums[is] += u1 * int32(av[l])
			sums[is+2] += u2 * int32(av[l+32])
			sums[is+4] += u3 * int32(av[l+64])
			sums[is+6] += u4 * int32(av[l+96])
		}
	}
}

// combineK6 is d·da·Σ_j sc_j·(sums_j − 32·Σ a over j).
func combineK6(b []byte, sums *[16]int32, bs []int16, da float32) float32 {
	var si int32
	for j := range 16 {
		si += int32(int8(b[192+j])) * (sums[j] - 32*int32(bs[j]))
	}
	return half(b[208:]) * da * float32(si)
}

func dotQ6_KGo(w []byte, a *Act) float32 {
	var s float32
	for k := range len(w) / 210 {
		b := w[210*k : 210*k+210]
		var sums [16]int32
		subSums6(b, a.Q[QK*k:QK*k+QK], &sums)
		s += combineK6(b, &sums, a.B[16*k:16*k+16], a.D[k])
	}
	return s
}

func dotQ8_KGo(w []byte, a *Act) float32 {
	var s float32
	for k := range len(w) / 292 {
		b := w[292*k : 292*k+292]
		q := a.Q[QK*k : QK*k+QK]
		var is int32
		for i, v := range b[4:260] {
			is += int32(int8(v)) * int32(q[i])
		}
		s += math.Float32frombits(binary.LittleEndian.Uint32(b)) * a.D[k] * float32(is)
	}
	return s
}
