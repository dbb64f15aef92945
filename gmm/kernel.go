package gmm

import "github.com/ggmi-dev/ggmi/internal/vecmath"

// dotGeneric is the portable dot product (vecmath.DotGo, four
// accumulators wide).
func dotGeneric(x, y []float64) float64 { return vecmath.DotGo(x, y) }

// axpyGeneric adds a·x to y.
func axpyGeneric(a float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// dot4Generic is the portable dot4.
func dot4Generic(x, y []float64, stride int, out *[4]float64) {
	for j := range 4 {
		out[j] = dotGeneric(x, y[j*stride:j*stride+len(x)])
	}
}

// axpy4Generic is the portable axpy4.
func axpy4Generic(r *[4]float64, x []float64, stride int, y []float64) {
	n := len(y)
	x0, x1, x2, x3 := x[:n], x[stride:stride+n], x[2*stride:2*stride+n], x[3*stride:3*stride+n]
	for i := range y {
		y[i] += (r[0]*x0[i] + r[1]*x1[i]) + (r[2]*x2[i] + r[3]*x3[i])
	}
}

// quadGeneric is the portable quad.
func quadGeneric(x, out []float64) {
	q := 0
	for a, xa := range x {
		row := out[q : q+a+1]
		for b := range row {
			row[b] = xa * x[b]
		}
		q += a + 1
	}
}

// quadCircGeneric is the portable quadCirc.
func quadCircGeneric(x, out []float64) {
	d := len(x)
	for s := 0; s <= d/2; s++ {
		row := out[s*d : (s+1)*d]
		for i := range row {
			j := i + s
			if j >= d {
				j -= d
			}
			row[i] = x[i] * x[j]
		}
	}
}

// circIndex is the position of x_a·x_b among the circulant products of
// quadCirc in d dimensions (d even).
func circIndex(a, b, d int) int {
	s := a - b
	if s < 0 {
		s += d
	}
	i := b // x_i·x_{i+s}
	if s > d/2 {
		s, i = d-s, a
	} else if s == d/2 {
		i = min(a, b)
	}
	return s*d + i
}

// dot4x2Generic is the portable dot4x2.
func dot4x2Generic(f []float64, fstride int, v []float64, vstride, n int, out *[8]float64) {
	for t := range 4 {
		for c := range 2 {
			out[2*t+c] = dot(f[t*fstride:t*fstride+n], v[c*vstride:c*vstride+n])
		}
	}
}

// axpy4x2Generic is the portable axpy4x2.
func axpy4x2Generic(r *[8]float64, f []float64, fstride int, s []float64, sstride, n int) {
	for c := range 2 {
		rc := [4]float64{r[c], r[2+c], r[4+c], r[6+c]}
		axpy4(&rc, f, fstride, s[c*sstride:c*sstride+n])
	}
}

// gemvT32Generic is the portable gemvT32.
func gemvT32Generic(x, mt []float64, out *[32]float64) {
	*out = [32]float64{}
	for a, xa := range x {
		row := mt[a*32 : a*32+32]
		for c := range out {
			out[c] += xa * row[c]
		}
	}
}

// transpose32 writes the k ≤ 32 rows of length d in rows (row-major) as the
// columns of a d×32 matrix, zero-padded.
func transpose32(rows []float64, k, d int, mt []float64) {
	clear(mt[:d*32])
	for c := range k {
		for a := range d {
			mt[a*32+c] = rows[c*d+a]
		}
	}
}
