package quant

import (
	"fmt"
	"math"
)

// Type identifies a tensor encoding by its GGML number.
type Type uint32

// Encodings (GGML numbering).
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

// QK is the number of values of a k-quant super-block.
const QK = 256

type typeInfo struct {
	name  string
	block int // values per block
	bytes int // bytes per block
}

var infos = map[Type]typeInfo{
	F32:  {"f32", 1, 4},
	F16:  {"f16", 1, 2},
	BF16: {"bf16", 1, 2},
	Q4_0: {"q4_0", 32, 18},
	Q4_1: {"q4_1", 32, 20},
	Q5_0: {"q5_0", 32, 22},
	Q5_1: {"q5_1", 32, 24},
	Q8_0: {"q8_0", 32, 34},
	Q4_K: {"q4_K", QK, 144},
	Q5_K: {"q5_K", QK, 176},
	Q6_K: {"q6_K", QK, 210},
	Q8_K: {"q8_K", QK, 292},
}

// Types lists the supported encodings in GGML order.
func Types() []Type {
	return []Type{F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K, BF16}
}

// Known reports whether t is a supported encoding.
func (t Type) Known() bool { _, ok := infos[t]; return ok }

// String returns the GGML name of t ("q4_K", ...) or "type(N)".
func (t Type) String() string {
	if i, ok := infos[t]; ok {
		return i.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ParseType returns the encoding named s (case-insensitive GGML names).
func ParseType(s string) (Type, error) {
	for t, i := range infos {
		if equalFold(i.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// BlockSize returns the number of values per block (0 when unknown).
func (t Type) BlockSize() int { return infos[t].block }

// BlockBytes returns the number of bytes per block (0 when unknown).
func (t Type) BlockBytes() int { return infos[t].bytes }

// RowBytes returns the bytes of a row of n values, or an error when t is
// unknown or n is not a positive multiple of the block size.
func RowBytes(t Type, n int) (int, error) {
	i, ok := infos[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n <= 0 || n%i.block != 0 {
		return 0, fmt.Errorf("row of %d values is not a positive multiple of the %s block size %d", n, t, i.block)
	}
	return n / i.block * i.bytes, nil
}

// ActType returns the encoding activations are converted to before a
// product with weights of type t: Q8_0 blocks for the 32-block types,
// Q8_K for the k-quants and F32 for the float types.
func (t Type) ActType() Type {
	switch t {
	case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0:
		return Q8_0
	case Q4_K, Q5_K, Q6_K, Q8_K:
		return Q8_K
	}
	return F32
}

// F16ToF32 converts an IEEE 754 half-precision value to float32 (exact).
func F16ToF32(h uint16) float32 { return f16tab[h] }

var f16tab = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = f16ToF32(uint16(i))
	}
	return &t
}()

func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h) & 0x3FF
	switch {
	case exp == 0x1F:
		return math.Float32frombits(sign | 0xFF<<23 | mant<<13)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// F32ToF16 converts a float32 to half precision, rounding to nearest even
// (NaN stays NaN, overflow gives ±Inf).
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xFF) - 127 + 15
	mant := b & 0x7FFFFF
	switch {
	case b&0x7FFFFFFF > 0x7F800000:
		return sign | 0x7E00
	case exp >= 0x1F:
		return sign | 0x7C00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1FFF
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// BF16ToF32 converts a bfloat16 value to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts a float32 to bfloat16, rounding to nearest even (NaN
// stays NaN).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7FFFFFFF > 0x7F800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7FFF + (b>>16)&1
	return uint16(b >> 16)
}
