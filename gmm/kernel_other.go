//go:build !amd64 || purego

package gmm

func dot(x, y []float64) float64 { return dotGeneric(x, y) }

func axpy(a float64, x, y []float64) { axpyGeneric(a, x, y) }

func dot4(x, y []float64, stride int, out *[4]float64) { dot4Generic(x, y, stride, out) }

func axpy4(r *[4]float64, x []float64, stride int, y []float64) { axpy4Generic(r, x, stride, y) }

func quad(x, out, pad []float64) { quadGeneric(x, out) }

func quadCirc(x, out, pad []float64) { quadCircGeneric(x, out) }

func dot4x2(f []float64, fstride int, v []float64, vstride, n int, out *[8]float64) {
	dot4x2Generic(f, fstride, v, vstride, n, out)
}

func axpy4x2(r *[8]float64, f []float64, fstride int, s []float64, sstride, n int) {
	axpy4x2Generic(r, f, fstride, s, sstride, n)
}

func gemvT32(x, mt []float64, k int, out *[32]float64) { gemvT32Generic(x, mt, out) }
