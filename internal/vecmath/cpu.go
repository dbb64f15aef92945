package vecmath

import "golang.org/x/sys/cpu"

// HasAVX2FMA reports AVX2 with fused multiply-add, the level of the
// 4-lane float64 kernels; HasAVX512 the 8-lane ones (AVX-512F on top).
// Both are false off amd64.
var (
	HasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	HasAVX512  = HasAVX2FMA && cpu.X86.HasAVX512F
)
