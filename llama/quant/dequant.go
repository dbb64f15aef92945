package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

func le16(b []byte) uint16  { return binary.LittleEndian.Uint16(b) }
func half(b []byte) float32 { return f16tab[binary.LittleEndian.Uint16(b)] }

// Dequantize expands len(dst) values of type t from src, which must hold
// exactly the blocks of those values.
func Dequantize(t Type, src []byte, dst []float32) error {
	nb, err := RowBytes(t, max(len(dst), 1))
	if len(dst) == 0 && err == nil {
		nb = 0
	}
	if err != nil {
		return err
	}
	if len(src) != nb {
		return fmt.Errorf("%s: %d bytes for %d values, want %d", t, len(src), len(dst), nb)
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
		return nil
	case F16:
		for i := range dst {
			dst[i] = half(src[2*i:])
		}
		return nil
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(le16(src[2*i:]))
		}
		return nil
	}
	for k := 0; k < len(dst)/bs; k++ {
		blockDequant(t, src[k*bb:(k+1)*bb], dst[k*bs:(k+1)*bs])
	}
	return nil
}

// blockDequant expands one block.
func blockDequant(t Type, b []byte, y []float32) {
	switch t {
	case Q8_0:
		d := half(b)
		for i := range 32 {
			y[i] = d * float32(int8(b[2+i]))
		}
	case Q4_0:
		d := half(b)
		for i := range 16 {
			q := b[2+i]
			y[i] = d * float32(int(q&15)-8)
			y[i+16] = d * float32(int(q>>4)-8)
		}
	case Q4_1:
		d, m := half(b), half(b[2:])
		for i := range 16 {
			q := b[4+i]
			y[i] = d*float32(q&15) + m
			y[i+16] = d*float32(q>>4) + m
		}
	case Q5_0:
		d := half(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for i := range 16 {
			q := b[6+i]
			h0 := byte(qh>>i&1) << 4
			h1 := byte(qh>>(i+16)&1) << 4
			y[i] = d * float32(int(q&15|h0)-16)
			y[i+16] = d * float32(int(q>>4|h1)-16)
		}
	case Q5_1:
		d, m := half(b), half(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for i := range 16 {
			q := b[8+i]
			h0 := byte(qh>>i&1) << 4
			h1 := byte(qh>>(i+16)&1) << 4
			y[i] = d*float32(q&15|h0) + m
			y[i+16] = d*float32(q>>4|h1) + m
		}
	case Q8_K:
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		for i := range QK {
			y[i] = d * float32(int8(b[4+i]))
		}
	case Q4_K:
		d, dmin := half(b), half(b[2:])
		sc := b[4:16]
		qs := b[16:144]
		for c := range 4 { // 64 values per chunk: low nibbles then high
			s0, m0 := scaleMinK4(2*c, sc)
			s1, m1 := scaleMinK4(2*c+1, sc)
			d0, n0 := d*float32(s0), dmin*float32(m0)
			d1, n1 := d*float32(s1), dmin*float32(m1)
			q := qs[32*c : 32*c+32]
			out := y[64*c : 64*c+64]
			for l := range 32 {
				out[l] = d0*float32(q[l]&15) - n0
				out[32+l] = d1*float32(q[l]>>4) - n1
			}
		}
	case Q5_K:
		d, dmin := half(b), half(b[2:])
		sc := b[4:16]
		qh := b[16:48]
		qs := b[48:176]
		for c := range 4 {
			s0, m0 := scaleMinK4(2*c, sc)
			s1, m1 := scaleMinK4(2*c+1, sc)
			d0, n0 := d*float32(s0), dmin*float32(m0)
			d1, n1 := d*float32(s1), dmin*float32(m1)
			q := qs[32*c : 32*c+32]
			out := y[64*c : 64*c+64]
			u0, u1 := byte(1)<<(2*c), byte(2)<<(2*c)
			for l := range 32 {
				h0, h1 := float32(0), float32(0)
				if qh[l]&u0 != 0 {
					h0 = 16
				}
				if qh[l]&u1 != 0 {
					h1 = 16
				}
				out[l] = d0*(float32(q[l]&15)+h0) - n0
				out[32+l] = d1*(float32(q[l]>>4)+h1) - n1
			}
		}
	case Q6_K:
		d := half(b[208:])
		for h := range 2 { // 128 values per half
			ql := b[64*h : 64*h+64]
			qh := b[128+32*h : 128+32*h+32]
			sc := b[192+8*h : 192+8*h+8]
			out := y[128*h : 128*h+128]
			for l := range 32 {
				is := l / 16
				q1 := int(ql[l]&15|(qh[l]&3)<<4) - 32
				q2 := int(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				out[l] = d * float32(int8(sc[is])) * float32(q1)
				out[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				out[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				out[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
		}
	}
}

// scaleMinK4 unpacks the 6-bit scale and minimum of sub-block j (0..7) of
// a q4_K/q5_K super-block: the first four pairs sit in the low six bits
// of bytes j and j+4, the last four are split between the low or high
// nibble of byte j+4 and the top two bits of bytes j-4 and j.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&15 | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}
