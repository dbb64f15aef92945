//go:build amd64 && !purego

package llama

import "github.com/ggmi-dev/ggmi/internal/vecmath"

// hasSIMD reports whether the AVX2+FMA kernels can be used: the CPU
// supports AVX2 and FMA and the OS saves the YMM registers
// (vecmath.HasAVX2FMA).
var hasSIMD = vecmath.HasAVX2FMA

// gemvTavx sets s[j] = Σ_{i<rows} x[i]·m[i*ld+j] for j < n (n a multiple
// of 8).
//
//go:noescape
func gemvTavx(s, x, m *float32, rows, n, ld int)

// gemv8avx adds Σ_{j<n} p[j]·m[j*ld : j*ld+8] to o[0:8].
//
//go:noescape
func gemv8avx(o, p, m *float32, n, ld int)

// geravx adds x[i]·y[j] to d[i*ld+j] for i < rows, j < n (n a multiple
// of 8).
//
//go:noescape
func geravx(d, x, y *float32, rows, n, ld int)

// expSubSumAVX sets x[j] = exp(x[j]−mx) for j < n (a multiple of 8) with
// a vector polynomial (relative error ≈ 1e-7) and returns their sum.
//
//go:noescape
func expSubSumAVX(x *float32, n int, mx float32) float32

// scaleMaxAVX multiplies x[:n] (n a positive multiple of 8) by s and
// returns its maximum.
//
//go:noescape
func scaleMaxAVX(x *float32, n int, s float32) float32

// scaleAVX multiplies x[:n] (n a multiple of 8) by s.
//
//go:noescape
func scaleAVX(x *float32, n int, s float32)

// gemm4x16avx sets (or, with acc, adds to) c[i*ldc+j] the sum
// Σ_{k<K} a[i*sai+k*sak]·b[k*ldb+j] for i < 4, j < 16.
//
//go:noescape
func gemm4x16avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool)

// gemm4x8avx is gemm4x16avx for 8 columns.
//
//go:noescape
func gemm4x8avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool)
