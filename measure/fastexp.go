package measure

import "math"

// expTable[j] = 2^(j/64).
var expTable = func() [64]float64 {
	var t [64]float64
	for j := range t {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return t
}()

// expNeg returns e^x for x ≤ 0 with a relative error below 1e-15 (a few
// ulps), about four times faster than math.Exp: x = (64k + j)·ln2/64 + r
// with |r| ≤ ln2/128, e^x = 2^k · 2^(j/64) · p(r), p the degree-5 Taylor
// polynomial of e^r (truncation error below |r|⁶/6! ≈ 4·10⁻¹⁷). Kernel
// matrices evaluate it n² times.
func expNeg(x float64) float64 {
	const (
		inv   = 64 / math.Ln2
		ln2hi = 0x1.62e42feep-7 // ln2/64 truncated to 32 bits of mantissa (exact literal): kf·ln2hi is exact
		ln2lo = math.Ln2/64 - ln2hi
	)
	if !(x > -700) { // NaN, −Inf, underflow and subnormal results
		return math.Exp(x)
	}
	kf := math.Floor(x*inv + 0.5)
	r := (x - kf*ln2hi) - kf*ln2lo
	k := int64(kf)
	j := k & 63
	m := k >> 6 // floor division (arithmetic shift)
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	v := expTable[j] * p
	return math.Float64frombits(math.Float64bits(v) + uint64(m)<<52)
}
