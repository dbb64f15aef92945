//go:build !amd64 || purego

package llama

import "unsafe"

// hasSIMD reports whether vector kernels are available (never on this
// platform or with the purego tag).
const hasSIMD = false

// The vector kernels are never called without SIMD support; these
// portable versions keep the package complete.

func gemvTavx(s, x, m *float32, rows, n, ld int) {
	ss := unsafe.Slice(s, n)
	xs := unsafe.Slice(x, rows)
	ms := unsafe.Slice(m, (rows-1)*ld+n)
	for j := range ss {
		var a float32
		for i, xv := range xs {
			a += xv * ms[i*ld+j]
		}
		ss[j] = a
	}
}

func gemv8avx(o, p, m *float32, n, ld int) {
	out := unsafe.Slice(o, 8)
	ps := unsafe.Slice(p, n)
	ms := unsafe.Slice(m, (n-1)*ld+8)
	for j, pj := range ps {
		for i := range out {
			out[i] += pj * ms[j*ld+i]
		}
	}
}

func geravx(d, x, y *float32, rows, n, ld int) {
	ds := unsafe.Slice(d, (rows-1)*ld+n)
	xs := unsafe.Slice(x, rows)
	ys := unsafe.Slice(y, n)
	for i, xv := range xs {
		for j, yv := range ys {
			ds[i*ld+j] += xv * yv
		}
	}
}

func expSubSumAVX(x *float32, n int, mx float32) float32 {
	var sum float32
	for i, v := range unsafe.Slice(x, n) {
		e := exp32(v - mx)
		unsafe.Slice(x, n)[i] = e
		sum += e
	}
	return sum
}

func scaleMaxAVX(x *float32, n int, s float32) float32 {
	xs := unsafe.Slice(x, n)
	mx := xs[0] * s
	for i := range xs {
		xs[i] *= s
		mx = max(mx, xs[i])
	}
	return mx
}

func scaleAVX(x *float32, n int, s float32) {
	for i := range unsafe.Slice(x, n) {
		unsafe.Slice(x, n)[i] *= s
	}
}

func gemm4x16avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool) {
	gemm4xNgo(c, ldc, a, sai, sak, b, ldb, K, 16, acc)
}

func gemm4x8avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool) {
	gemm4xNgo(c, ldc, a, sai, sak, b, ldb, K, 8, acc)
}

func gemm4xNgo(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K, n int, acc bool) {
	cs := unsafe.Slice(c, 3*ldc+n)
	as := unsafe.Slice(a, 3*sai+(K-1)*sak+1)
	bs := unsafe.Slice(b, (K-1)*ldb+n)
	for i := 0; i < 4; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for k := 0; k < K; k++ {
				s += as[i*sai+k*sak] * bs[k*ldb+j]
			}
			if acc {
				cs[i*ldc+j] += s
			} else {
				cs[i*ldc+j] = s
			}
		}
	}
}
