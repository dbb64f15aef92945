// Package vecmath holds the numeric plumbing that several ggmi packages
// share: which vector instructions the processor has and a fast e^x for
// non-positive arguments. The assembly kernels that use the features stay
// with the packages they serve (measure, gmm, llama).
package vecmath
