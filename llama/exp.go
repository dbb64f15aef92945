package llama

import "math"

// expTableBits is log2 of the size of the 2^(i/N) table used by exp32.
const expTableBits = 6

// expTable[i] = 2^(i/64).
var expTable = func() (t [1 << expTableBits]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / (1 << expTableBits))
	}
	return
}()

// exp32 returns e^x rounded to float32. It evaluates the exponential in
// float64 with a table-driven method whose relative error (≈3e-16) is far
// below float32 resolution, so the result equals float32(math.Exp(x)) except
// in astronomically rare rounding ties, at a fraction of the cost.
func exp32(x float32) float32 {
	const (
		n       = 1 << expTableBits
		invLn2N = n / math.Ln2
		ln2hi   = 6.93147180369123816490e-01 / n // high part of ln2/n (trailing zeros)
		ln2lo   = 1.90821492927058770002e-10 / n
		shifter = 0x1.8p52
	)
	if !(x > -87 && x < 88) { // outside the normal range (or NaN): exact path
		return float32(math.Exp(float64(x)))
	}
	xd := float64(x)
	kf := xd*invLn2N + shifter
	kf -= shifter // round to nearest integer
	k := int64(kf)
	r := xd - kf*ln2hi - kf*ln2lo
	// e^r for |r| ≤ ln2/128 by a degree-5 Taylor polynomial.
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	t := expTable[k&(n-1)]
	// Multiply by 2^(k>>6) through the exponent bits.
	bits := math.Float64bits(t*p) + uint64(k>>expTableBits)<<52
	return float32(math.Float64frombits(bits))
}
