// Package vecmath holds the numeric plumbing that several ggmi packages
// share: which vector instructions the processor has (HasAVX2FMA,
// HasAVX512, used by measure, gmm, llama and llama/quant), the float64
// inner product in AVX2 assembly (DotAVX2) and in portable Go (DotGo) for
// measure and gmm, and the fast e^x (ExpNeg for kernel matrices and EM,
// Exp32 for llama's softmax and activations). The other assembly kernels
// stay with the packages they serve.
package vecmath
