//go:build !purego

package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dotOrder is DotAVX2's summation order written out in Go: lane l of
// accumulator j takes the terms 16·b + 4·j + l, the 4-blocks after the
// last 16-block go to accumulator 0, the reduction adds (acc0+acc1) +
// (acc2+acc3), then lanes (0+2) + (1+3), then the tail one term at a
// time with a fused multiply-add.
func dotOrder(a, b []float64) float64 {
	var acc [4][4]float64
	n := len(a)
	i := 0
	for ; i+16 <= n; i += 16 {
		for j := range 4 {
			for l := range 4 {
				acc[j][l] = math.FMA(a[i+4*j+l], b[i+4*j+l], acc[j][l])
			}
		}
	}
	for ; i+4 <= n; i += 4 {
		for l := range 4 {
			acc[0][l] = math.FMA(a[i+l], b[i+l], acc[0][l])
		}
	}
	var v [4]float64
	for l := range 4 {
		v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
	}
	s := (v[0] + v[2]) + (v[1] + v[3])
	for ; i < n; i++ {
		s = math.FMA(a[i], b[i], s)
	}
	return s
}

// DotAVX2 gives, bit for bit, the sum in the order its comment states, for
// every length through the 16-, 4- and 1-element paths, reads no more of b
// than len(a), and sums 1..19 squared exactly.
func TestDotAVX2(t *testing.T) {
	if !HasAVX2FMA {
		t.Skip("this CPU has no AVX2/FMA")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 70 {
		a, b := make([]float64, n), make([]float64, n+3)
		for i := range a {
			a[i], b[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		b[n], b[n+1], b[n+2] = math.NaN(), math.NaN(), math.NaN()
		if got, want := DotAVX2(a, b), dotOrder(a, b); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("n %d: %v, want %v", n, got, want)
		}
	}
	a := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	if got := DotAVX2(a, a); got != 2470 { // Σ k² for k = 1..19
		t.Errorf("Σk² = %v, want 2470", got)
	}
}
