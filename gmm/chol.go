package gmm

import "math"

// cholesky writes the lower Cholesky factor of the d×d symmetric matrix a
// into l (upper triangle zeroed) and returns log det a. It reports false when
// a is not numerically positive definite. The hot paths of EM call it once
// per component and iteration, so it is allocation-free; gonum's
// mat.Cholesky serves the non-hot closed forms.
func cholesky(a, l []float64, d int) (logdet float64, ok bool) {
	for i := range d {
		for j := 0; j <= i; j++ {
			s := a[i*d+j]
			for k := range j {
				s -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if !(s > 0) || math.IsInf(s, 0) {
					return 0, false
				}
				r := math.Sqrt(s)
				l[i*d+i] = r
				logdet += 2 * math.Log(r)
			} else {
				l[i*d+j] = s / l[j*d+j]
			}
		}
		for j := i + 1; j < d; j++ {
			l[i*d+j] = 0
		}
	}
	return logdet, true
}

// invLower writes the inverse of the lower-triangular d×d matrix l into out.
func invLower(l, out []float64, d int) {
	for i := range out[:d*d] {
		out[i] = 0
	}
	for j := range d {
		out[j*d+j] = 1 / l[j*d+j]
		for i := j + 1; i < d; i++ {
			var s float64
			for k := j; k < i; k++ {
				s -= l[i*d+k] * out[k*d+j]
			}
			out[i*d+j] = s / l[i*d+i]
		}
	}
}
