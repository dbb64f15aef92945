//go:build !purego

package vecmath

// DotAVX2 returns Σ a[i]·b[i] over len(a) terms with AVX2 fused
// multiply-adds: four accumulators of four lanes over blocks of 16, then
// blocks of 4 into the first, a fixed reduction, and the last len(a) mod 4
// terms one by one. It requires HasAVX2FMA and len(b) ≥ len(a); the
// callers (measure, gmm) choose it and keep their own portable fallback.
//
//go:noescape
func DotAVX2(a, b []float64) float64
