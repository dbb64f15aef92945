package quant

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMatVec measures a 2048×2048 matrix–vector product per weight
// type; the reported MB/s is weight bytes read per second.
func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	rows, cols := 2048, 2048
	for _, typ := range weightTypes {
		b.Run(typ.String(), func(b *testing.B) {
			data := make([]byte, rows*mustRowBytes(b, typ, cols))
			if err := Quantize(typ, randVec(rng, rows*cols, 0.05), data); err != nil {
				b.Fatal(err)
			}
			m, err := NewMatrix(typ, rows, cols, data)
			if err != nil {
				b.Fatal(err)
			}
			x := randVec(rng, cols, 1)
			out := make([]float32, rows)
			var a Act
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				if err := a.Set(typ, x); err != nil {
					b.Fatal(err)
				}
				m.MatVec(out, &a, 0, rows)
			}
		})
	}
}

// BenchmarkMatMul measures a 2048×2048 matrix times 32 activations per
// weight type; MB/s counts weight bytes times activations, so it compares
// directly with BenchmarkMatVec.
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	rows, cols, n := 2048, 2048, 32
	for _, typ := range weightTypes {
		b.Run(typ.String(), func(b *testing.B) {
			data := make([]byte, rows*mustRowBytes(b, typ, cols))
			if err := Quantize(typ, randVec(rng, rows*cols, 0.05), data); err != nil {
				b.Fatal(err)
			}
			m, err := NewMatrix(typ, rows, cols, data)
			if err != nil {
				b.Fatal(err)
			}
			acts := make([]*Act, n)
			out := make([][]float32, n)
			for j := range acts {
				acts[j] = new(Act)
				if err := acts[j].Set(typ, randVec(rng, cols, 1)); err != nil {
					b.Fatal(err)
				}
				out[j] = make([]float32, rows)
			}
			b.SetBytes(int64(len(data) * n))
			b.ResetTimer()
			for b.Loop() {
				m.MatMul(out, acts, 0, rows)
			}
		})
	}
}
