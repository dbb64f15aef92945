package vecmath

import "math"

// expTable[i] = 2^(i/64).
var expTable = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return
}()

// ExpNeg returns e^u for u in (−700, 0] to within about 2 ulp of
// math.Exp, several times faster (see exp). Outside that range (positive,
// NaN, −Inf, results near underflow) it defers to math.Exp. Kernel
// matrices and the E-step of mixtures evaluate it n² times.
func ExpNeg(u float64) float64 {
	if !(u > -700 && u <= 0) {
		return math.Exp(u)
	}
	return exp(u)
}

// Exp32 returns e^x rounded to float32. Its float64 value (see exp) is
// far more accurate than float32 resolution, so the result equals
// float32(math.Exp(x)) except in astronomically rare rounding ties.
// Outside (−87, 88), where float32 results are subnormal or overflow, and
// for NaN it defers to math.Exp. Softmax, SiLU and attention in llama use
// it.
func Exp32(x float32) float32 {
	if !(x > -87 && x < 88) {
		return float32(math.Exp(float64(x)))
	}
	return float32(exp(float64(x)))
}

// exp returns e^u for u in (−700, 700) with a relative error of about
// 2 ulp: u = k·ln2/64 + r with |r| ≤ ln2/128, e^u = 2^(k/64)·e^r,
// 2^(k/64) from a table and the binary exponent, e^r from a degree-6
// Taylor polynomial (truncation below 1e-19). The caller checks the range.
func exp(u float64) float64 {
	const (
		invLn2x64 = 64 / math.Ln2
		ln2hi     = 6.93147180369123816490e-01 / 64 // ln2/64, high part (trailing zeros)
		ln2lo     = 1.90821492927058770002e-10 / 64
		shifter   = 0x1.8p52
	)
	kf := u*invLn2x64 + shifter
	kf -= shifter // round to the nearest integer
	k := int64(kf)
	r := u - kf*ln2hi - kf*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	t := expTable[k&63]
	// Scale by 2^(k>>6) through the exponent bits (|k>>6| ≤ 1011 keeps it normal).
	return math.Float64frombits(math.Float64bits(t*p) + uint64(k>>6)<<52)
}
