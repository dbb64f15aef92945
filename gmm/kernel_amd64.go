//go:build !purego

package gmm

import "github.com/ggmi-dev/ggmi/internal/vecmath"

// useAVX2 selects the AVX2/FMA kernels on processors that have them, and
// useAVX512 the 8-lane versions of the two hottest ones.
var (
	useAVX2   = vecmath.HasAVX2FMA
	useAVX512 = vecmath.HasAVX512
)

//go:noescape
func dot4AVX512(x []float64, y *float64, stride int, out *[4]float64)

//go:noescape
func axpy4AVX512(r *[4]float64, x *float64, stride int, y []float64)

//go:noescape
func axpyAVX2(a float64, x, y []float64)

// dot returns Σ x_i·y_i over len(x) terms (y must be at least as long).
func dot(x, y []float64) float64 {
	if useAVX2 {
		_ = y[len(x)-1]
		return vecmath.DotAVX2(x, y)
	}
	return dotGeneric(x, y)
}

// axpy adds a·x to y (y must be at least as long as x).
func axpy(a float64, x, y []float64) {
	if useAVX2 {
		_ = y[len(x)-1]
		axpyAVX2(a, x, y)
		return
	}
	axpyGeneric(a, x, y)
}

//go:noescape
func dot4AVX2(x []float64, y *float64, stride int, out *[4]float64)

//go:noescape
func axpy4AVX2(r *[4]float64, x *float64, stride int, y []float64)

// dot4 sets out[j] = Σ_i x[i]·y[j·stride+i] for j = 0..3; y must hold
// 3·stride+len(x) values.
func dot4(x, y []float64, stride int, out *[4]float64) {
	if useAVX2 && len(x) > 0 {
		_ = y[3*stride+len(x)-1]
		if useAVX512 {
			dot4AVX512(x, &y[0], stride, out)
		} else {
			dot4AVX2(x, &y[0], stride, out)
		}
		return
	}
	dot4Generic(x, y, stride, out)
}

// axpy4 adds Σ_j r[j]·x[j·stride : j·stride+len(y)] to y; x must hold
// 3·stride+len(y) values.
func axpy4(r *[4]float64, x []float64, stride int, y []float64) {
	if useAVX2 && len(y) > 0 {
		_ = x[3*stride+len(y)-1]
		if useAVX512 {
			axpy4AVX512(r, &x[0], stride, y)
		} else {
			axpy4AVX2(r, &x[0], stride, y)
		}
		return
	}
	axpy4Generic(r, x, stride, y)
}

//go:noescape
func quadAVX2(x []float64, out *float64)

// quad writes x[a]·x[b] for b ≤ a, row after row, into out[:len(x)·(len(x)+1)/2].
// pad is scratch of at least len(x)+3 values, and out must have 3 spare
// values past its rows (they are overwritten).
func quad(x, out, pad []float64) {
	d := len(x)
	if useAVX2 && d > 0 {
		_ = out[d*(d+1)/2+2]
		p := pad[:(d+3)&^3]
		copy(p, x)
		clear(p[d:])
		quadAVX2(p[:d], &out[0])
		return
	}
	quadGeneric(x, out)
}

//go:noescape
func dot4x2AVX512(f *float64, fstride int, v *float64, vstride int, n int, out *[8]float64)

// dot4x2 sets out[2t+c] = f[t·fstride : t·fstride+n] · v[c·vstride : c·vstride+n]
// for four rows t of f and two rows c of v. n must be a multiple of 8.
func dot4x2(f []float64, fstride int, v []float64, vstride, n int, out *[8]float64) {
	if useAVX512 && n > 0 {
		_ = f[3*fstride+n-1]
		_ = v[vstride+n-1]
		dot4x2AVX512(&f[0], fstride, &v[0], vstride, n, out)
		return
	}
	dot4x2Generic(f, fstride, v, vstride, n, out)
}

//go:noescape
func axpy4x2AVX512(r *[8]float64, f *float64, fstride int, s *float64, sstride int, n int)

// axpy4x2 adds Σ_t r[2t+c]·f[t·fstride : t·fstride+n] to s[c·sstride :
// c·sstride+n] for four rows t of f and two rows c of s. n must be a
// multiple of 8.
func axpy4x2(r *[8]float64, f []float64, fstride int, s []float64, sstride, n int) {
	if useAVX512 && n > 0 {
		_ = f[3*fstride+n-1]
		_ = s[sstride+n-1]
		axpy4x2AVX512(r, &f[0], fstride, &s[0], sstride, n)
		return
	}
	axpy4x2Generic(r, f, fstride, s, sstride, n)
}

//go:noescape
func gemvT32AVX512(x []float64, mt *float64, chunks int, out *[32]float64)

// gemvT32 sets out[c] = Σ_a x[a]·mt[a·32+c] for c < k ≤ 32; mt holds
// len(x) rows of 32 values (the vectors to take dot products with, as
// columns, zero past k).
func gemvT32(x, mt []float64, k int, out *[32]float64) {
	if useAVX512 && len(x) > 0 && k > 0 {
		_ = mt[len(x)*32-1]
		gemvT32AVX512(x, &mt[0], (min(k, 32)+7)/8, out)
		return
	}
	gemvT32Generic(x, mt, out)
}

//go:noescape
func quadCircAVX512(xx *float64, d int, out *float64)

// quadCirc writes the circulant products of x (len(x) = d, a positive
// multiple of 8): out[s·d+i] = x[i]·x[(i+s) mod d] for s = 0..d/2 and
// i < d. Rows 0..d/2−1 and the first half of row d/2 hold every product
// x_a·x_b (a ≥ b) once, in the d(d+1)/2 first values; the second half of
// row d/2 repeats the first, so out must have d/2 spare values past them.
// pad is scratch of at least 2d values.
func quadCirc(x, out, pad []float64) {
	d := len(x)
	if useAVX512 {
		_ = out[(d/2+1)*d-1]
		xx := pad[:2*d]
		copy(xx, x)
		copy(xx[d:], x)
		quadCircAVX512(&xx[0], d, &out[0])
		return
	}
	quadCircGeneric(x, out)
}
