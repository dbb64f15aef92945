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

// syrkTile adds the 4×8 tile of UᵀU to the accumulators with every
// kernel this CPU has (AVX-512, AVX2, portable), equal to the sums
// computed directly, for block heights with and without remainders.
func TestSyrkTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const ds = 48
	for _, m := range []int{1, 2, 3, 7, 34} {
		u := make([]float64, m*ds)
		for i := range u {
			u[i] = rng.NormFloat64()
		}
		for _, pq := range [][2]int{{0, 0}, {4, 8}, {12, 32}, {44, 40}} {
			p0, q0 := pq[0], pq[1]
			start := make([]float64, ds*ds)
			for i := range start {
				start[i] = float64(i % 7)
			}
			want := append([]float64(nil), start...)
			for k := range 4 {
				for j := range 8 {
					for i := range m {
						want[(p0+k)*ds+q0+j] += u[i*ds+p0+k] * u[i*ds+q0+j]
					}
				}
			}
			for _, kern := range syrkKernels() {
				got := append([]float64(nil), start...)
				kern.fn(u, ds, m, p0, q0, got)
				for i := range got {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("%s m %d tile (%d, %d): acc[%d] = %v, want %v", kern.name, m, p0, q0, i, got[i], want[i])
					}
				}
			}
		}
	}
}
