package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dotFast agrees with the plain sum for every length (vector body, four-
// element and scalar tails) and with an exact small-integer case.
func TestDotFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 70 {
		a, b := make([]float64, n), make([]float64, n+3)
		var want, abs float64
		for i := range a {
			a[i], b[i] = rng.NormFloat64(), rng.NormFloat64()
			want += a[i] * b[i]
			abs += math.Abs(a[i] * b[i])
		}
		if got := dotFast(a, b); math.Abs(got-want) > 1e-14*(abs+1) {
			t.Errorf("n %d: %v, want %v", n, got, want)
		}
	}
	a := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	if got := dotFast(a, a); got != 2470 { // Σ k² for k = 1..19
		t.Errorf("Σk² = %v, want 2470", got)
	}
}

// dot4 gives each row's product, the same value in every slot, and zero
// for missing rows.
func TestDot4(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 3, 4, 7, 16, 100, 101} {
		rows := make([][]float64, 4)
		for r := range rows {
			rows[r] = make([]float64, n)
			for k := range rows[r] {
				rows[r][k] = rng.NormFloat64()
			}
		}
		b := rows[3]
		var out, again [4]float64
		dot4(rows, b, &out)
		for r := range 4 {
			var want float64
			for k := range n {
				want += rows[r][k] * b[k]
			}
			near(t, "dot4", out[r], want, 1e-12)
		}
		dot4([][]float64{rows[2], rows[0]}, b, &again)
		if again[0] != out[2] || again[1] != out[0] || again[2] != 0 || again[3] != 0 {
			t.Errorf("n %d: slot-dependent or missing rows not zero: %v vs %v", n, again, out)
		}
	}
}

// dot4x2 gives each row's product with both vectors (vector body and
// scalar tail), the same value in every slot and as the portable version
// to rounding, and zero for missing rows.
func TestDot4x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 2, 3, 4, 5, 8, 17, 100, 103} {
		rows := make([][]float64, 6)
		for r := range rows {
			rows[r] = make([]float64, n)
			for k := range rows[r] {
				rows[r][k] = rng.NormFloat64()
			}
		}
		b0, b1 := rows[4], rows[5]
		var out, again, portable [8]float64
		dot4x2(rows[:4], b0, b1, &out)
		dot4x2Go(rows[:4], b0, b1, &portable)
		for r := range 4 {
			var w0, w1 float64
			for k := range n {
				w0 += rows[r][k] * b0[k]
				w1 += rows[r][k] * b1[k]
			}
			near(t, "dot4x2 b0", out[r], w0, 1e-12)
			near(t, "dot4x2 b1", out[4+r], w1, 1e-12)
			near(t, "portable b0", portable[r], w0, 1e-12)
			near(t, "portable b1", portable[4+r], w1, 1e-12)
		}
		dot4x2([][]float64{rows[3], rows[1], rows[0]}, b0, b1, &again)
		if again[0] != out[3] || again[1] != out[1] || again[2] != out[0] || again[3] != 0 ||
			again[4] != out[7] || again[5] != out[5] || again[6] != out[4] || again[7] != 0 {
			t.Errorf("n %d: slot-dependent or missing rows not zero: %v vs %v", n, again, out)
		}
	}
}
