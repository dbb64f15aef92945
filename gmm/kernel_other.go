//go:build !amd64 || purego

package gmm

func dot(x, y []float64) float64 { return dotGeneric(x, y) }

func axpy(a float64, x, y []float64) { axpyGeneric(a, x, y) }

func dot4(x, y []float64, stride int, out *[4]float64) { dot4Generic(x, y, stride, out) }

func axpy4(r *[4]float64, x []float64, stride int, y []float64) { axpy4Generic(r, x, stride, y) }

func quad(x, out, pad []float64) { quadGeneric(x, out) }
