package gmm

import (
	"math"
	"testing"
)

// The dispatched kernels agree with the portable ones (and with a plain
// loop) for every length around the unrolling boundaries.
func TestKernels(t *testing.T) {
	r := rngFor(1)
	for n := 1; n <= 70; n++ {
		x := make([]float64, n)
		y := make([]float64, n+3)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		for i := range y {
			y[i] = r.NormFloat64()
		}
		var want float64
		for i := range x {
			want += x[i] * y[i]
		}
		if got := dot(x, y); math.Abs(got-want) > 1e-12*float64(n) {
			t.Fatalf("n=%d: dot %v, want %v", n, got, want)
		}
		if got := dotGeneric(x, y); math.Abs(got-want) > 1e-12*float64(n) {
			t.Fatalf("n=%d: dotGeneric %v, want %v", n, got, want)
		}
		y1 := append([]float64(nil), y...)
		y2 := append([]float64(nil), y...)
		axpy(0.75, x, y1)
		axpyGeneric(0.75, x, y2)
		for i := range y1 {
			if math.Abs(y1[i]-y2[i]) > 1e-15 {
				t.Fatalf("n=%d: axpy differs at %d", n, i)
			}
			if i >= n && y1[i] != y[i] {
				t.Fatalf("n=%d: axpy wrote past x's length", n)
			}
		}
	}
}

func TestKernels4(t *testing.T) {
	for _, v := range kernelVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.set()()
			testKernels4(t)
		})
	}
}

func testKernels4(t *testing.T) {
	r := rngFor(2)
	for n := 1; n <= 70; n++ {
		for _, stride := range []int{n, n + 3} {
			x := make([]float64, n)
			y := make([]float64, 3*stride+n)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			for i := range y {
				y[i] = r.NormFloat64()
			}
			var got, want [4]float64
			dot4(x, y, stride, &got)
			dot4Generic(x, y, stride, &want)
			for j := range 4 {
				var plain float64
				for i := range x {
					plain += x[i] * y[j*stride+i]
				}
				if math.Abs(got[j]-plain) > 1e-12*float64(n) || math.Abs(want[j]-plain) > 1e-12*float64(n) {
					t.Fatalf("n=%d stride=%d j=%d: dot4 %v generic %v plain %v", n, stride, j, got[j], want[j], plain)
				}
			}
			coef := [4]float64{0.5, -1, 2, 0.25}
			acc := make([]float64, n+2)
			for i := range acc {
				acc[i] = r.NormFloat64()
			}
			a1 := append([]float64(nil), acc...)
			a2 := append([]float64(nil), acc...)
			axpy4(&coef, y, stride, a1[:n])
			axpy4Generic(&coef, y, stride, a2[:n])
			for i := range acc {
				want := acc[i]
				if i < n {
					for j := range 4 {
						want += coef[j] * y[j*stride+i]
					}
				}
				if math.Abs(a1[i]-want) > 1e-12 || math.Abs(a2[i]-want) > 1e-12 {
					t.Fatalf("n=%d stride=%d: axpy4 at %d: %v %v want %v", n, stride, i, a1[i], a2[i], want)
				}
			}
		}
	}
}

func TestQuad(t *testing.T) {
	r := rngFor(3)
	for d := 1; d <= 19; d++ {
		x := make([]float64, d)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		p := d * (d + 1) / 2
		got := make([]float64, p+5)
		got[p+3], got[p+4] = 42, 43
		gen := make([]float64, p)
		quad(x, got, make([]float64, d+3))
		quadGeneric(x, gen)
		q := 0
		for a := range d {
			for b := 0; b <= a; b++ {
				if got[q] != x[a]*x[b] || gen[q] != x[a]*x[b] {
					t.Fatalf("d=%d (%d,%d): %v %v want %v", d, a, b, got[q], gen[q], x[a]*x[b])
				}
				q++
			}
		}
		if got[p+3] != 42 || got[p+4] != 43 {
			t.Fatalf("d=%d: quad wrote past its output", d)
		}
	}
}
