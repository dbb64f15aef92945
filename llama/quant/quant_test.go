package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// weightTypes are the encodings usable as weights.
var weightTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func TestTypeInfo(t *testing.T) {
	for _, tc := range []struct {
		t           Type
		block, size int
	}{
		{F32, 1, 4}, {F16, 1, 2}, {BF16, 1, 2}, {Q8_0, 32, 34}, {Q4_0, 32, 18}, {Q4_1, 32, 20},
		{Q5_0, 32, 22}, {Q5_1, 32, 24}, {Q4_K, 256, 144}, {Q5_K, 256, 176}, {Q6_K, 256, 210}, {Q8_K, 256, 292},
	} {
		if tc.t.BlockSize() != tc.block || tc.t.BlockBytes() != tc.size {
			t.Errorf("%s: block %d/%d bytes, want %d/%d", tc.t, tc.t.BlockSize(), tc.t.BlockBytes(), tc.block, tc.size)
		}
		p, err := ParseType(tc.t.String())
		if err != nil || p != tc.t {
			t.Errorf("ParseType(%q) = %v, %v", tc.t.String(), p, err)
		}
	}
	if _, err := RowBytes(Type(99), 32); err == nil {
		t.Error("RowBytes accepted an unknown type")
	}
	if _, err := RowBytes(Q4_K, 128); err == nil {
		t.Error("RowBytes accepted a partial super-block")
	}
	if _, err := ParseType("q3_K"); err == nil {
		t.Error("ParseType accepted an unsupported type")
	}
}

// TestHalfConversions checks every f16 and bf16 value round trips.
func TestHalfConversions(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			if g := F32ToF16(f); F16ToF32(g) == F16ToF32(g) {
				t.Fatalf("f16 NaN %#x converts back to %#x", h, g)
			}
			continue
		}
		if g := F32ToF16(f); g != uint16(h) {
			t.Fatalf("f16 %#x -> %v -> %#x", h, f, g)
		}
		b := BF16ToF32(uint16(h))
		if b == b {
			if g := F32ToBF16(b); g != uint16(h) {
				t.Fatalf("bf16 %#x -> %v -> %#x", h, b, g)
			}
		}
	}
	// Round to nearest even between two f16 neighbours (1 and 1+2^-10).
	if got := F32ToF16(1 + 1.0/2048); got != 0x3C00 {
		t.Errorf("tie rounds to %#x, want even 0x3C00", got)
	}
	if got := F32ToBF16(1 + 1.0/256); got != 0x3F80 {
		t.Errorf("bf16 tie rounds to %#x, want even 0x3F80", got)
	}
}

// levels is the number of quantisation steps across a block's range used
// to bound the round-trip error: a correct encoder is within about half a
// step of every value (a bit more where the block or sub-block scale is
// itself rounded to f16 or 6/8 bits); a wrong layout is off by O(max|x|).
func levels(t Type) float64 {
	switch t {
	case Q8_0, Q8_K:
		return 127
	case Q4_0:
		return 8
	case Q5_0:
		return 16
	case Q4_1:
		return 15
	case Q5_1:
		return 31
	case Q4_K:
		return 15 / 2.0 // the range can span 2·max|x|
	case Q5_K:
		return 31 / 2.0
	case Q6_K:
		return 32
	}
	return 0
}

func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range weightTypes {
		t.Run(typ.String(), func(t *testing.T) {
			n := 4 * QK
			x := randVec(rng, n, 1)
			b := make([]byte, mustRowBytes(t, typ, n))
			if err := Quantize(typ, x, b); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, b, y); err != nil {
				t.Fatal(err)
			}
			bs := typ.BlockSize()
			for k := 0; k < n; k += max(bs, 32) {
				blk := x[k : k+max(bs, 32)]
				var amax float64
				for _, v := range blk {
					amax = max(amax, math.Abs(float64(v)))
				}
				var bound float64
				switch typ {
				case F32:
					bound = 0
				case F16:
					bound = amax * 0x1p-11
				case BF16:
					bound = amax * 0x1p-8
				default:
					// Half a step plus half a step for the rounded scales.
					bound = amax / levels(typ)
				}
				for i, v := range blk {
					if e := math.Abs(float64(v) - float64(y[k+i])); e > bound {
						t.Fatalf("value %d: %v decoded as %v (error %.3g > %.3g)", k+i, v, y[k+i], e, bound)
					}
				}
			}
		})
	}
}

func mustRowBytes(t testing.TB, typ Type, n int) int {
	t.Helper()
	rb, err := RowBytes(typ, n)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

// TestDequantizeHandValues checks one block of each 32-type against values
// worked out by hand from the byte layout.
func TestDequantizeHandValues(t *testing.T) {
	one := F32ToF16(1)
	half := F32ToF16(0.5)
	b := make([]byte, 24)
	y := make([]float32, 32)
	// q4_0: d=0.5, byte 0 = 0x9F -> value 0 = (15-8)·0.5, value 16 = (9-8)·0.5.
	binary.LittleEndian.PutUint16(b, half)
	clear(b[2:18])
	b[2] = 0x9F
	if err := Dequantize(Q4_0, b[:18], y); err != nil {
		t.Fatal(err)
	}
	if y[0] != 3.5 || y[16] != 0.5 || y[1] != -4 {
		t.Errorf("q4_0: got %v %v %v, want 3.5 0.5 -4", y[0], y[16], y[1])
	}
	// q5_1: d=1, m=0.5, qh bit 0 and bit 17 set, byte 1 = 0x21:
	// value 0 = 16+0+0.5, value 1 = 1+0.5, value 17 = 16+2+0.5.
	binary.LittleEndian.PutUint16(b, one)
	binary.LittleEndian.PutUint16(b[2:], half)
	binary.LittleEndian.PutUint32(b[4:], 1|1<<17)
	clear(b[8:24])
	b[9] = 0x21
	if err := Dequantize(Q5_1, b, y); err != nil {
		t.Fatal(err)
	}
	if y[0] != 16.5 || y[1] != 1.5 || y[17] != 18.5 || y[16] != 0.5 {
		t.Errorf("q5_1: got %v %v %v %v, want 16.5 1.5 18.5 0.5", y[0], y[1], y[17], y[16])
	}
	// q4_K: d=1, dmin=0.5; sub-block 5 has scale (sc[9]&15)|(sc[1]>>6)<<4 =
	// 2|1<<4 = 18 and min (sc[9]>>4)|(sc[5]>>6)<<4 = 3; value 160+l (chunk
	// 2, low half: sub-block 4 ... ) — use value 32·5 = 160 = chunk 2 high?
	// Chunk c holds sub-blocks 2c (low nibbles) and 2c+1 (high nibbles), so
	// value 160 is chunk 2's high nibble of byte 0 of the chunk.
	k := make([]byte, 144)
	binary.LittleEndian.PutUint16(k, one)
	binary.LittleEndian.PutUint16(k[2:], half)
	sc := k[4:16]
	sc[9] = 2 | 3<<4
	sc[1] = 1 << 6
	k[16+64] = 0x70 // chunk 2, byte 0: high nibble 7
	yk := make([]float32, QK)
	if err := Dequantize(Q4_K, k, yk); err != nil {
		t.Fatal(err)
	}
	if want := float32(18*7) - 0.5*3; yk[160] != want {
		t.Errorf("q4_K value 160 = %v, want %v", yk[160], want)
	}
	// q6_K: d=1, scale of sub-block 9 (half 1, l<16, q3 group is+4 -> 8+0+4=12)...
	// value 128+64 = 192 is half 1, q3 of l=0: ql[64+0]>>4 | (qh[32+0]>>4&3)<<4, scale sc[8+4].
	s6 := make([]byte, 210)
	binary.LittleEndian.PutUint16(s6[208:], one)
	s6[64] = 0x50
	s6[128+32] = 2 << 4
	s6[192+12] = 0xFD // int8 -3
	y6 := make([]float32, QK)
	if err := Dequantize(Q6_K, s6, y6); err != nil {
		t.Fatal(err)
	}
	if want := float32(-3 * ((5 | 2<<4) - 32)); y6[192] != want {
		t.Errorf("q6_K value 192 = %v, want %v", y6[192], want)
	}
}

// reference returns Σ w_i·a_i in float64 with the dequantised weights and
// the activation values the kernels see, and the error scale
// Σ (|w_i| + o_i)·|a_i| where o_i is the magnitude of the offset term of
// value i (the float sums of the offset types subtract it separately).
func reference(t testing.TB, typ Type, w []byte, a *Act) (ref, scale float64) {
	t.Helper()
	y := make([]float32, a.N)
	if err := Dequantize(typ, w, y); err != nil {
		t.Fatal(err)
	}
	off := offsets(typ, w, a.N)
	for i, v := range a.Values() {
		ref += float64(y[i]) * float64(v)
		scale += (math.Abs(float64(y[i])) + off[i]) * math.Abs(float64(v))
	}
	return ref, scale
}

func offsets(typ Type, w []byte, n int) []float64 {
	off := make([]float64, n)
	bb := typ.BlockBytes()
	for i := range off {
		b := w[i/typ.BlockSize()*bb:]
		switch typ {
		case Q4_1, Q5_1:
			off[i] = math.Abs(float64(F16ToF32(binary.LittleEndian.Uint16(b[2:]))))
		case Q4_K, Q5_K:
			_, m := scaleMinK4(i%QK/32, b[4:16])
			off[i] = math.Abs(float64(F16ToF32(binary.LittleEndian.Uint16(b[2:]))) * float64(m))
		}
	}
	return off
}

// dotBound is the allowed |kernel − reference|: the integer sums are
// exact, each block adds at most three float32 roundings (scale product,
// product with the sum, accumulation) and the vector kernels regroup the
// accumulation into lanes, so the error is below (blocks+8)·2⁻²³ times
// the error scale of reference.
func dotBound(typ Type, n int, scale float64) float64 {
	nb := n / typ.BlockSize()
	if typ.BlockSize() == 1 {
		nb = n
	}
	return float64(nb+8) * 0x1p-23 * scale
}

// sameBits are the types whose kernel does the portable code's float
// operations in the same order (the integer parts are exact), so both give
// the same bits.
var sameBits = map[Type]bool{Q4_K: true, Q5_K: true, Q6_K: true}

func TestDotMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range weightTypes {
		for _, n := range []int{256, 768, 2048, 5632 - 5632%256} {
			w := make([]byte, mustRowBytes(t, typ, n))
			x := randVec(rng, n, 1)
			if err := Quantize(typ, randVec(rng, n, 0.05), w); err != nil {
				t.Fatal(err)
			}
			var a Act
			if err := a.Set(typ, x); err != nil {
				t.Fatal(err)
			}
			if err := CheckRow(typ, w, n, &a); err != nil {
				t.Fatal(err)
			}
			ref, scale := reference(t, typ, w, &a)
			bound := dotBound(typ, n, scale)
			goV := float64(dotGo(typ, w, &a))
			got := float64(DotRow(typ, w, &a))
			if math.Abs(goV-ref) > bound {
				t.Errorf("%s n=%d: portable %v, reference %v (bound %.3g)", typ, n, goV, ref, bound)
			}
			if math.Abs(got-ref) > bound {
				t.Errorf("%s n=%d: kernel %v, reference %v (bound %.3g)", typ, n, got, ref, bound)
			}
			if math.Abs(got-goV) > bound {
				t.Errorf("%s n=%d: kernel %v, portable %v (bound %.3g)", typ, n, got, goV, bound)
			}
			if sameBits[typ] && got != goV {
				t.Errorf("%s n=%d: kernel %v, portable %v: want the same bits", typ, n, got, goV)
			}
		}
	}
}

// TestDotAgainstFloat checks the quantised product against the plain
// float32 product of the dequantised weights and the unquantised
// activation: the activation's rounding error is at most half its block
// scale per value, so |Σ w·(x − x̂)| ≤ Σ |w_i|·d_a/2.
func TestDotAgainstFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 1024
	for _, typ := range weightTypes {
		w := make([]byte, mustRowBytes(t, typ, n))
		if err := Quantize(typ, randVec(rng, n, 0.05), w); err != nil {
			t.Fatal(err)
		}
		x := randVec(rng, n, 1)
		var a Act
		if err := a.Set(typ, x); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, n)
		if err := Dequantize(typ, w, y); err != nil {
			t.Fatal(err)
		}
		var exact, bound float64
		bs := 32
		if a.Type == Q8_K {
			bs = QK
		}
		for i := range y {
			exact += float64(y[i]) * float64(x[i])
			if a.Type != F32 {
				bound += math.Abs(float64(y[i])) * float64(a.D[i/bs]) / 2
			}
		}
		_, scale := reference(t, typ, w, &a)
		bound += dotBound(typ, n, scale)
		if got := float64(DotRow(typ, w, &a)); math.Abs(got-exact) > bound {
			t.Errorf("%s: %v, float product %v (bound %.3g)", typ, got, exact, bound)
		}
	}
}

func TestMatMulEqualsMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows, cols := 37, 512
	for _, typ := range []Type{F32, F16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K} {
		data := make([]byte, rows*mustRowBytes(t, typ, cols))
		if err := Quantize(typ, randVec(rng, rows*cols, 0.1), data); err != nil {
			t.Fatal(err)
		}
		m, err := NewMatrix(typ, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		acts := make([]*Act, 7)
		out := make([][]float32, 7)
		for j := range acts {
			acts[j] = new(Act)
			if err := acts[j].Set(typ, randVec(rng, cols, 1)); err != nil {
				t.Fatal(err)
			}
			out[j] = make([]float32, rows)
		}
		m.MatMul(out, acts, 0, rows)
		for j, a := range acts {
			v := make([]float32, rows-5)
			m.MatVec(v, a, 5, rows)
			for i, x := range v {
				if out[j][i+5] != x || x != DotRow(typ, m.Row(i+5), a) {
					t.Fatalf("%s: act %d row %d: matmul %v, matvec %v", typ, j, i+5, out[j][i+5], x)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	y := make([]float32, 64)
	if err := Dequantize(Type(77), make([]byte, 64), y); err == nil {
		t.Error("Dequantize accepted an unknown type")
	}
	if err := Dequantize(Q8_0, make([]byte, 67), y); err == nil {
		t.Error("Dequantize accepted a wrong byte count")
	}
	if err := Dequantize(Q4_K, make([]byte, 144), y); err == nil {
		t.Error("Dequantize accepted 64 values of q4_K")
	}
	if err := Quantize(Q4_0, y, make([]byte, 35)); err == nil {
		t.Error("Quantize accepted a wrong byte count")
	}
	if _, err := NewMatrix(Q8_0, 2, 64, make([]byte, 135)); err == nil {
		t.Error("NewMatrix accepted a short buffer")
	}
	if _, err := NewMatrix(Type(5), 2, 64, make([]byte, 136)); err == nil {
		t.Error("NewMatrix accepted type 5")
	}
	var a Act
	if err := a.Set(Q4_K, y[:48]); err == nil {
		t.Error("Act.Set accepted 48 values for q4_K")
	}
	if err := a.Set(Q8_0, y); err != nil {
		t.Fatal(err)
	}
	if err := CheckRow(Q4_K, make([]byte, 144), 256, &a); err == nil {
		t.Error("CheckRow accepted a q8_0 activation for q4_K")
	}
}

// FuzzDot feeds arbitrary block bytes (any scales, including NaN and
// infinities, and any quantised values) of every type to the kernels: no
// panic, and where the reference is finite the kernel, the portable path
// and the reference agree within dotBound.
func FuzzDot(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i, typ := range weightTypes {
		w := make([]byte, mustRowBytes(f, typ, 512))
		_ = Quantize(typ, randVec(rng, 512, 0.1), w)
		f.Add(uint8(i), w, uint64(i))
		r := make([]byte, len(w))
		for j := range r {
			r[j] = byte(rng.Uint32())
		}
		f.Add(uint8(i), r, uint64(i+100))
	}
	f.Fuzz(func(t *testing.T, sel uint8, raw []byte, seed uint64) {
		typ := weightTypes[int(sel)%len(weightTypes)]
		bs, bb := max(typ.BlockSize(), 8), typ.BlockBytes()*max(1, 8/typ.BlockSize())
		nb := min(len(raw)/bb, 16)
		if nb == 0 {
			return
		}
		w := raw[:nb*bb]
		n := nb * bs
		if typ == F32 || typ == BF16 || typ == F16 {
			// Keep float weights finite so the bound is meaningful.
			y := make([]float32, n)
			_ = Dequantize(typ, w, y)
			for i, v := range y {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					y[i] = 0
				}
			}
			w = make([]byte, len(w))
			_ = Quantize(typ, y, w)
		}
		r := rand.New(rand.NewPCG(seed, 1))
		var a Act
		if err := a.Set(typ, randVec(r, n, 1)); err != nil {
			t.Fatal(err)
		}
		got := float64(DotRow(typ, w, &a))
		goV := float64(dotGo(typ, w, &a))
		ref, scale := reference(t, typ, w, &a)
		if math.IsNaN(ref) || math.IsInf(ref, 0) || math.IsInf(scale, 0) || scale > 1e30 {
			return
		}
		bound := dotBound(typ, n, scale)
		if math.Abs(got-ref) > bound || math.Abs(goV-ref) > bound {
			t.Fatalf("%s: kernel %v portable %v reference %v (bound %.3g)", typ, got, goV, ref, bound)
		}
		if sameBits[typ] && got != goV {
			t.Fatalf("%s: kernel %v, portable %v: want the same bits", typ, got, goV)
		}
	})
}

// TestRound127 checks the activation quantiser's rounding against
// roundClamp (math.Round, clamped) on ties, neighbours of ties, the clamp
// edges, NaN and random values, and that values beyond int range (an
// activation scale that overflows) saturate with their sign.
func TestRound127(t *testing.T) {
	for v, want := range map[float32]int8{float32(math.Inf(1)): 127, 1e30: 127, float32(math.Inf(-1)): -127, -1e30: -127} {
		if got := round127(v); got != want {
			t.Errorf("round127(%v) = %d, want %d", v, got, want)
		}
	}
	vals := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
		127, -127, 127.5, -127.5, 126.5, -126.5, 126.49999, 1e9, -1e9}
	for k := -128; k <= 128; k++ {
		h := float32(k) + 0.5
		vals = append(vals, h, math.Nextafter32(h, 0), math.Nextafter32(h, 1000), math.Nextafter32(h, -1000), float32(k))
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for range 100000 {
		vals = append(vals, float32(rng.NormFloat64()*60))
	}
	for _, v := range vals {
		if got, want := round127(v), int8(roundClamp(v, -127, 127)); got != want {
			t.Fatalf("round127(%v) = %d, roundClamp gives %d", v, got, want)
		}
	}
}
