package embed

import (
	"errors"
	"fmt"
	"math/rand/v2"

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
	for range max(q, 0) {
		qy := orth(y)
		a.MulT(z, qy)
		qz := orth(z)
		a.Mul(y, qz)
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

// orth returns an orthonormal basis of the columns of y (thin Q of its QR).
func orth(y *mat.Dense) *mat.Dense {
	r, c := y.Dims()
	var qr mat.QR
	qr.Factorize(y)
	var q mat.Dense
	qr.QTo(&q)
	return mat.DenseCopyOf(q.Slice(0, r, 0, c))
}
