//go:build !purego

package measure

// syrkKernels lists syrkTile's code paths that this CPU can run, for
// tests.
func syrkKernels() []struct {
	name string
	fn   func(u []float64, ds, m, p0, q0 int, acc []float64)
} {
	type k = struct {
		name string
		fn   func(u []float64, ds, m, p0, q0 int, acc []float64)
	}
	with := func(avx512, avx2 bool) func(u []float64, ds, m, p0, q0 int, acc []float64) {
		return func(u []float64, ds, m, p0, q0 int, acc []float64) {
			s512, s2 := haveAVX512, haveAVX2FMA
			haveAVX512, haveAVX2FMA = avx512, avx2
			defer func() { haveAVX512, haveAVX2FMA = s512, s2 }()
			syrkTile(u, ds, m, p0, q0, acc)
		}
	}
	out := []k{{"portable", with(false, false)}}
	if haveAVX2FMA {
		out = append(out, k{"avx2", with(false, true)})
	}
	if haveAVX512 {
		out = append(out, k{"avx512", with(true, true)})
	}
	return out
}
