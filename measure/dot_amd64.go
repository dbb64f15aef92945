//go:build !purego

package measure

import (
	"github.com/ggmi-dev/ggmi/internal/vecmath"
	"gonum.org/v1/gonum/floats"
)

// haveAVX2FMA selects the AVX2 kernels, haveAVX512 the 8-lane dot4x2
// kernel (variables, so that tests can turn them off).
var haveAVX2FMA, haveAVX512 = vecmath.HasAVX2FMA, vecmath.HasAVX512

// dotFast is the inner product of a and b[:len(a)]: AVX2/FMA assembly when
// the CPU has it, gonum's SSE2 kernel otherwise. The summation order is
// fixed for a given CPU, so results do not depend on goroutines.
func dotFast(a, b []float64) float64 {
	if haveAVX2FMA {
		return vecmath.DotAVX2(a, b[:len(a)])
	}
	return floats.Dot(a, b)
}

// dot4AVX2 sets out[r] = a_r·b over n elements.
//
//go:noescape
func dot4AVX2(a0, a1, a2, a3, b *float64, n int, out *[4]float64)

// dot4 sets out[r] = a[r]·b for the up to four rows a (every row at least
// len(b) long); missing rows give 0. Each product is summed in the same
// order whichever slot it occupies, so a pair's value does not depend on
// its neighbours.
func dot4(a [][]float64, b []float64, out *[4]float64) {
	n := len(b)
	if n == 0 || len(a) == 0 {
		*out = [4]float64{}
		return
	}
	if haveAVX2FMA {
		p := [4]*float64{&a[0][0], &a[0][0], &a[0][0], &a[0][0]}
		for r := 1; r < len(a) && r < 4; r++ {
			p[r] = &a[r][0]
		}
		_ = a[min(len(a), 4)-1][n-1] // bounds: every row holds n values
		dot4AVX2(p[0], p[1], p[2], p[3], &b[0], n, out)
		for r := len(a); r < 4; r++ {
			out[r] = 0
		}
		return
	}
	for r := range 4 {
		out[r] = 0
		if r < len(a) {
			out[r] = floats.Dot(a[r][:n], b)
		}
	}
}

// syrk4x8AVX512 adds a 4×8 tile of UᵀU to acc (see dot_amd64.s).
//
//go:noescape
func syrk4x8AVX512(p, q *float64, stride, m int, acc *float64, accStride int)

// syrk4x8AVX2 adds a 4×8 tile of UᵀU to acc (see dot_amd64.s).
//
//go:noescape
func syrk4x8AVX2(p, q *float64, stride, m int, acc *float64, accStride int)

// syrkTile adds acc[(p0+k)·ds + q0 + j] += Σ_{i<m} u[i·ds+p0+k]·u[i·ds+q0+j]
// for k < 4 and j < 8: a tile of UᵀU for the row-major m×ds matrix u, its
// sums held in registers over the rows. Every index touched must lie
// inside u and acc.
func syrkTile(u []float64, ds, m, p0, q0 int, acc []float64) {
	if m <= 0 {
		return
	}
	_ = u[(m-1)*ds+max(p0+3, q0+7)] // bounds of the last row
	_ = acc[(p0+3)*ds+q0+7]         // and of the tile
	switch {
	case haveAVX512:
		syrk4x8AVX512(&u[p0], &u[q0], ds*8, m, &acc[p0*ds+q0], ds*8)
	case haveAVX2FMA:
		syrk4x8AVX2(&u[p0], &u[q0], ds*8, m, &acc[p0*ds+q0], ds*8)
	default:
		syrkTileGo(u, ds, m, p0, q0, acc)
	}
}
