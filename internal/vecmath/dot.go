package vecmath

// DotGo is the portable inner product Σ a[i]·b[i] over len(a) terms (b at
// least as long): four accumulators over blocks of four, the rest into
// the first, summed as (s0+s1)+(s2+s3). measure and gmm use it where no
// assembly kernel runs.
func DotGo(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
