// Package quant holds the block formats of GGUF weight tensors and the
// kernels that compute with them in place: the engine side of the built-in
// generative model M (the student engine of the reverse-bottleneck
// pipeline, package llama), which must run the quantised files the papers'
// generators are published in without expanding them to float32.
//
// Formats ([Type]) follow the GGML numbering and byte layouts: f32, f16,
// bf16, q8_0, q4_0, q4_1, q5_0, q5_1 (blocks of 32 values with an f16
// scale, and for the _1 types an f16 offset), and the k-quants q4_K, q5_K,
// q6_K (super-blocks of 256 values with 6- or 8-bit sub-block scales) and
// q8_K (the activation format of the k-quants). [Dequantize] expands
// blocks to float32; [Quantize] encodes float32 into any of these formats
// with simple round-to-nearest rules (used for tests and for writing
// files: the error of each format is bounded by half a quantisation step
// of its block, not minimised as llama.cpp's searched quantisers do).
//
// Products read the weight blocks directly. A float32 activation vector is
// quantised once ([Act]): to int8 blocks of 32 with a float32 scale and
// block sum for the 32-block types, to int8 super-blocks of 256 with
// 16-value partial sums for the k-quants, or kept as float32 for f32, f16
// and bf16 weights. [DotRow] then multiplies one weight row by it, with
// the integer products summed exactly in int32 and one float multiply-add
// per (sub-)block; [MatVec] and [MatMul] do whole matrices. On amd64 with
// AVX2, FMA and F16C the products of f32, f16, q8_0, q4_0, q5_0, q4_K, q5_K
// and q6_K are assembly (the other types use the portable loops); the purego
// build tag (or another architecture) selects the portable Go loops, which
// compute the same integer sums and differ from the assembly only in the
// order of the float additions (bounds in the tests) — for q4_K, q5_K and
// q6_K not even there: both give the same bits.
package quant
