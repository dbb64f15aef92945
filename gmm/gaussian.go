package gmm

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// GaussianEntropy is the differential entropy in nats of N(μ, Σ) for a d×d
// row-major covariance: ½·log det(2πe·Σ).
func GaussianEntropy(cov []float64, d int) (float64, error) {
	var ch mat.Cholesky
	if len(cov) != d*d {
		return 0, fmt.Errorf("covariance has %d entries, want %d", len(cov), d*d)
	}
	if !ch.Factorize(mat.NewSymDense(d, append([]float64(nil), cov...))) {
		return 0, ErrNotPositiveDefinite
	}
	return 0.5*float64(d)*(1+log2Pi) + 0.5*ch.LogDet(), nil
}

// GaussianKL is KL(N(μ0,Σ0) ‖ N(μ1,Σ1)) in nats:
// ½[tr(Σ1⁻¹Σ0) + (μ1−μ0)ᵀΣ1⁻¹(μ1−μ0) − d + log det Σ1 − log det Σ0].
func GaussianKL(mu0, cov0, mu1, cov1 []float64) (float64, error) {
	d := len(mu0)
	if len(mu1) != d || len(cov0) != d*d || len(cov1) != d*d {
		return 0, fmt.Errorf("gaussian KL: shapes disagree (d=%d)", d)
	}
	var c0, c1 mat.Cholesky
	if !c0.Factorize(mat.NewSymDense(d, append([]float64(nil), cov0...))) {
		return 0, fmt.Errorf("gaussian KL: first %w", ErrNotPositiveDefinite)
	}
	if !c1.Factorize(mat.NewSymDense(d, append([]float64(nil), cov1...))) {
		return 0, fmt.Errorf("gaussian KL: second %w", ErrNotPositiveDefinite)
	}
	var s mat.Dense
	if err := c1.SolveTo(&s, mat.NewDense(d, d, append([]float64(nil), cov0...))); err != nil {
		return 0, fmt.Errorf("gaussian KL: %w", err)
	}
	diff := make([]float64, d)
	for i := range d {
		diff[i] = mu1[i] - mu0[i]
	}
	var v mat.VecDense
	if err := c1.SolveVecTo(&v, mat.NewVecDense(d, diff)); err != nil {
		return 0, fmt.Errorf("gaussian KL: %w", err)
	}
	maha := mat.Dot(&v, mat.NewVecDense(d, diff))
	kl := 0.5 * (mat.Trace(&s) + maha - float64(d) + c1.LogDet() - c0.LogDet())
	if math.IsNaN(kl) {
		return 0, fmt.Errorf("gaussian KL: not a number")
	}
	return kl, nil
}
