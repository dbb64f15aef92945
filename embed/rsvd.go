package embed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Operator is a linear map given by its products, so that sparse matrices
// can be decomposed without being densified.
type Operator interface {
	// Dims returns the number of rows and columns.
	Dims() (r, c int)
	// Mul sets dst (r×l) to A·b, b being c×l.
	Mul(dst *mat.Dense, b *mat.Dense)
	// MulT sets dst (c×l) to Aᵀ·b, b being r×l.
	MulT(dst *mat.Dense, b *mat.Dense)
}

// DenseOperator adapts a gonum matrix to Operator.
type DenseOperator struct{ M mat.Matrix }

// Dims implements Operator.
func (d DenseOperator) Dims() (int, int) { return d.M.Dims() }

// Mul implements Operator.
func (d DenseOperator) Mul(dst, b *mat.Dense) { dst.Mul(d.M, b) }

// MulT implements Operator.
func (d DenseOperator) MulT(dst, b *mat.Dense) { dst.Mul(d.M.T(), b) }

// RSVDOptions tunes RandomizedSVD.
type RSVDOptions struct {
	Oversample int    // extra sketch columns; 0 means 10
	PowerIters int    // power iterations; 0 means 4, negative means none
	Seed       uint64 // seed of the Gaussian sketch
}

// RandomizedSVD returns an approximate rank-k SVD A ≈ U·diag(S)·Vᵀ of the
// operator (Halko, Martinsson & Tropp 2011): a Gaussian sketch Y = AΩ,
// power iterations Y = (AAᵀ)^q AΩ with QR re-orthonormalisation after each
// product, Q = qr(Y), the exact SVD of the small matrix B = QᵀA, and U = QÛ.
// k is clamped to min(r, c). U is r×k, V is c×k.
func RandomizedSVD(a Operator, k int, opt RSVDOptions) (u *mat.Dense, s []float64, v *mat.Dense, err error) {
	return RandomizedSVDContext(context.Background(), a, k, opt)
}

// RandomizedSVDContext is RandomizedSVD that checks ctx between the
// products with the operator and returns its error once it is done.
func RandomizedSVDContext(ctx context.Context, a Operator, k int, opt RSVDOptions) (u *mat.Dense, s []float64, v *mat.Dense, err error) {
	r, c := a.Dims()
	if r == 0 || c == 0 {
		return nil, nil, nil, errors.New("embed: randomized SVD of an empty matrix")
	}
	if k < 1 {
		return nil, nil, nil, fmt.Errorf("embed: randomized SVD rank must be positive (got %d)", k)
	}
	k = min(k, r, c)
	p := opt.Oversample
	if p <= 0 {
		p = 10
	}
	l := min(k+p, r, c)
	q := opt.PowerIters
	if q == 0 {
		q = 4
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	omega := mat.NewDense(c, l, nil)
	for i := range c {
		for j := range l {
			omega.Set(i, j, rng.NormFloat64())
		}
	}
	y := mat.NewDense(r, l, nil)
	a.Mul(y, omega)
	z := mat.NewDense(c, l, nil)
	// Each power iteration orthonormalises the short side only (z has the
	// columns' dimension): span(Aᵀ·orth(y)) = span(Aᵀy), so skipping the
	// QR of the tall y changes only rounding, and z's conditioning (at most
	// that of AᵀA on the sketch) is what its QR removes.
	for range max(q, 0) {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		a.MulT(z, y)
		qz := orth(z)
		a.Mul(y, qz)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	qm := orth(y)
	// B = QᵀA, computed as (AᵀQ)ᵀ.
	a.MulT(z, qm)
	var svd mat.SVD
	if !svd.Factorize(z.T(), mat.SVDThin) {
		return nil, nil, nil, errors.New("embed: SVD of the sketch did not converge")
	}
	vals := svd.Values(nil)
	var ub, vb mat.Dense
	svd.UTo(&ub)
	svd.VTo(&vb)
	var uf mat.Dense
	uf.Mul(qm, &ub)
	u = mat.DenseCopyOf(uf.Slice(0, r, 0, k))
	v = mat.DenseCopyOf(vb.Slice(0, c, 0, k))
	return u, vals[:k], v, nil
}

// orth returns an orthonormal basis of the columns of y (the thin Q of its
// Householder QR, y having at least as many rows as columns). Only the c
// columns are formed (LAPACK dgeqrf + dorgqr): the full r×r Q of a tall
// sketch would cost O(r²) memory.
func orth(y *mat.Dense) *mat.Dense {
	r, c := y.Dims()
	if r >= 8*c {
		if q, ok := cholQR2(y); ok {
			return q
		}
	}
	a := mat.DenseCopyOf(y)
	if r < c {
		var qr mat.QR
		qr.Factorize(y)
		var q mat.Dense
		qr.QTo(&q)
		return mat.DenseCopyOf(q.Slice(0, r, 0, c))
	}
	g := a.RawMatrix()
	tau := make([]float64, c)
	work := []float64{0}
	lapack64.Geqrf(g, tau, work, -1)
	work = make([]float64, max(int(work[0]), 1))
	lapack64.Geqrf(g, tau, work, len(work))
	work = work[:1]
	lapack64.Orgqr(g, tau, work, -1)
	work = make([]float64, max(int(work[0]), 1))
	lapack64.Orgqr(g, tau, work, len(work))
	return a
}

// cholQR2 orthonormalises the columns of a tall y by Cholesky QR applied
// twice (Yamamoto et al. 2015): Q = Y·R⁻¹ with RᵀR = YᵀY, BLAS-3 products
// instead of Householder's BLAS-2 reflections. It reports false when a
// Gram matrix is not numerically positive definite (the caller falls back
// to Householder QR).
func cholQR2(y *mat.Dense) (*mat.Dense, bool) {
	q := mat.DenseCopyOf(y)
	for range 2 {
		var g mat.SymDense
		g.SymOuterK(1, q.T())
		var ch mat.Cholesky
		if !ch.Factorize(&g) || ch.Cond() > 1e14 {
			return nil, false
		}
		var u mat.TriDense
		ch.UTo(&u)
		blas64.Trsm(blas.Right, blas.NoTrans, 1, u.RawTriangular(), q.RawMatrix())
	}
	return q, true
}
