//go:build !purego

package gmm

type kernelVariant struct {
	name string
	set  func() (restore func())
}

// kernelVariants lists the kernel sets this processor can run, so that
// each is tested against the portable code.
func kernelVariants() []kernelVariant {
	a2, a512 := useAVX2, useAVX512
	restore := func() { useAVX2, useAVX512 = a2, a512 }
	vs := []kernelVariant{{"generic", func() func() { useAVX2, useAVX512 = false, false; return restore }}}
	if a2 {
		vs = append(vs, kernelVariant{"avx2", func() func() { useAVX512 = false; return restore }})
	}
	if a512 {
		vs = append(vs, kernelVariant{"avx512", func() func() { return restore }})
	}
	return vs
}
