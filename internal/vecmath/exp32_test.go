package vecmath

import (
	"math"
	"testing"
)

// TestExp32MatchesMathExp sweeps float32 values across the whole usable
// range (every 97th bit pattern, both signs) and the out-of-range paths.
func TestExp32MatchesMathExp(t *testing.T) {
	mismatches, total := 0, 0
	check := func(x float32) {
		total++
		got, want := Exp32(x), float32(math.Exp(float64(x)))
		if math.Float32bits(got) != math.Float32bits(want) {
			if mismatches < 5 {
				t.Errorf("Exp32(%g) = %g, want %g", x, got, want)
			}
			mismatches++
		}
	}
	for _, sign := range []uint32{0, 1 << 31} {
		for b := uint32(0); b < 0x42B20000; b += 97 { // up to ≈ 89
			check(math.Float32frombits(sign | b))
		}
	}
	for _, x := range []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88.7, -87.5, -103.9, -104, -200, 89, float32(math.Inf(1)), float32(math.Inf(-1))} {
		check(x)
	}
	if nan := Exp32(float32(math.NaN())); !math.IsNaN(float64(nan)) {
		t.Errorf("Exp32(NaN) = %g", nan)
	}
	if mismatches > 0 {
		t.Errorf("%d of %d values differ from float32(math.Exp)", mismatches, total)
	}
}

func BenchmarkExp32(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = -float32(i) / 64
	}
	var sink float32
	b.Run("Exp32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				sink += Exp32(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				sink += float32(math.Exp(float64(x)))
			}
		}
	})
	_ = sink
}
