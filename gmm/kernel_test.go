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

func TestDot4x2(t *testing.T) {
	for _, v := range kernelVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.set()()
			r := rngFor(4)
			for n := 8; n <= 168; n += 8 {
				for _, pad := range []int{0, 5} {
					fs, vs := n+pad, n+2*pad
					f := make([]float64, 4*fs)
					w := make([]float64, 2*vs)
					for i := range f {
						f[i] = r.NormFloat64()
					}
					for i := range w {
						w[i] = r.NormFloat64()
					}
					var got [8]float64
					dot4x2(f, fs, w, vs, n, &got)
					for tt := range 4 {
						for c := range 2 {
							var want float64
							for i := range n {
								want += f[tt*fs+i] * w[c*vs+i]
							}
							if math.Abs(got[2*tt+c]-want) > 1e-12*float64(n) {
								t.Fatalf("n=%d pad=%d (%d,%d): %v want %v", n, pad, tt, c, got[2*tt+c], want)
							}
						}
					}
				}
			}
		})
	}
}

func TestAxpy4x2(t *testing.T) {
	for _, v := range kernelVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.set()()
			r := rngFor(5)
			for n := 8; n <= 168; n += 8 {
				fs, ss := n+3, n+5
				f := make([]float64, 4*fs)
				s0 := make([]float64, 2*ss)
				for i := range f {
					f[i] = r.NormFloat64()
				}
				for i := range s0 {
					s0[i] = r.NormFloat64()
				}
				var coef [8]float64
				for i := range coef {
					coef[i] = r.NormFloat64()
				}
				s := append([]float64(nil), s0...)
				axpy4x2(&coef, f, fs, s, ss, n)
				for c := range 2 {
					for i := range ss {
						want := s0[c*ss+i]
						if i < n {
							for tt := range 4 {
								want += coef[2*tt+c] * f[tt*fs+i]
							}
						}
						if math.Abs(s[c*ss+i]-want) > 1e-12 {
							t.Fatalf("n=%d c=%d i=%d: %v want %v", n, c, i, s[c*ss+i], want)
						}
					}
				}
			}
		})
	}
}

// expNeg agrees with math.Exp to a few ulp over its whole range.
func TestExpNeg(t *testing.T) {
	r := rngFor(6)
	worst := 0.0
	for i := range 2_000_000 {
		u := -40 * r.Float64()
		if i < 3 {
			u = []float64{0, -1e-300, -39.999999}[i]
		}
		got, want := expNeg(u), math.Exp(u)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 5e-16 { // about 2 ulp
		t.Fatalf("largest relative error %.3g", worst)
	}
	if expNeg(-50) != math.Exp(-50) || expNeg(3) != math.Exp(3) || !math.IsNaN(expNeg(math.NaN())) {
		t.Fatal("out-of-range inputs must defer to math.Exp")
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float64, 1024)
	r := rngFor(7)
	for i := range x {
		x[i] = -40 * r.Float64()
	}
	var s float64
	b.Run("math", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s += math.Exp(x[i&1023])
		}
	})
	b.Run("expNeg", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s += expNeg(x[i&1023])
		}
	})
	_ = s
}

func TestGemvT32(t *testing.T) {
	for _, v := range kernelVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.set()()
			r := rngFor(9)
			for _, d := range []int{1, 3, 8, 16, 21} {
				for _, k := range []int{1, 4, 10, 32} {
					rows := make([]float64, k*d)
					x := make([]float64, d)
					for i := range rows {
						rows[i] = r.NormFloat64()
					}
					for i := range x {
						x[i] = r.NormFloat64()
					}
					mt := make([]float64, d*32)
					transpose32(rows, k, d, mt)
					var out [32]float64
					out[31] = 99 // must be overwritten
					gemvT32(x, mt, k, &out)
					for c := range 32 {
						var want float64
						if c < k {
							for a := range d {
								want += x[a] * rows[c*d+a]
							}
						}
						if math.Abs(out[c]-want) > 1e-12*float64(d) {
							t.Fatalf("d=%d k=%d c=%d: %v want %v", d, k, c, out[c], want)
						}
					}
				}
			}
		})
	}
}

func TestQuadCirc(t *testing.T) {
	for _, v := range kernelVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.set()()
			r := rngFor(5)
			for _, d := range []int{8, 16, 24, 32} {
				x := make([]float64, d)
				for i := range x {
					x[i] = r.NormFloat64()
				}
				got := make([]float64, (d/2+1)*d+1)
				got[len(got)-1] = 42
				quadCirc(x, got, make([]float64, 2*d))
				seen := make([]bool, d*(d+1)/2)
				for a := range d {
					for b := 0; b <= a; b++ {
						q := circIndex(a, b, d)
						if q >= len(seen) || seen[q] {
							t.Fatalf("d=%d (%d,%d): index %d out of range or taken", d, a, b, q)
						}
						seen[q] = true
						if got[q] != x[a]*x[b] {
							t.Fatalf("d=%d (%d,%d): %v want %v", d, a, b, got[q], x[a]*x[b])
						}
					}
				}
				if got[len(got)-1] != 42 {
					t.Fatalf("d=%d: quadCirc wrote past its output", d)
				}
			}
		})
	}
}
