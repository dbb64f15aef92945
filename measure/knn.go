package measure

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// kthSmallest keeps the k smallest values seen (insertion into a sorted
// slice; k is small).
type kbest struct{ v []float64 }

func (b *kbest) push(x float64, k int) {
	if len(b.v) == k && x >= b.v[k-1] {
		return
	}
	i := len(b.v)
	if i < k {
		b.v = append(b.v, x)
	} else {
		i = k - 1
	}
	for i > 0 && b.v[i-1] > x {
		b.v[i] = b.v[i-1]
		i--
	}
	b.v[i] = x
}

func maxNorm(a, b []float64) float64 {
	var m float64
	for i := range a {
		if t := math.Abs(a[i] - b[i]); t > m {
			m = t
		}
	}
	return m
}

// PCA projects the rows of x on their first d principal components
// (centred, exact SVD). d ≥ the dimension returns the centred data rotated.
func PCA(x [][]float64, d int) ([][]float64, error) {
	n, p, err := checkRows("PCA input", x, 1)
	if err != nil {
		return nil, err
	}
	if d < 1 {
		return nil, fmt.Errorf("measure: PCA dimension must be positive (got %d)", d)
	}
	d = min(d, p, n)
	m := mat.NewDense(n, p, nil)
	mean := make([]float64, p)
	for _, r := range x {
		for j, v := range r {
			mean[j] += v / float64(n)
		}
	}
	for i, r := range x {
		for j, v := range r {
			m.Set(i, j, v-mean[j])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDThinV) {
		return nil, fmt.Errorf("measure: PCA: SVD did not converge")
	}
	var v mat.Dense
	svd.VTo(&v)
	var proj mat.Dense
	proj.Mul(m, v.Slice(0, p, 0, d))
	out := make([][]float64, n)
	for i := range out {
		out[i] = append([]float64(nil), proj.RawRowView(i)...)
	}
	return out, nil
}

// KSGOptions configures KSG.
type KSGOptions struct {
	K      int // neighbours; 0 means 3
	PCADim int // if > 0, reduce X and Y separately to this many principal components first
	// Raw skips the standardisation of every coordinate to unit variance
	// (done by default, after PCA: the max-norm is not scale invariant and
	// Kraskov et al. recommend comparable scales).
	Raw bool
}

// KSG estimates the mutual information I(X;Y) in nats between paired rows
// with Kraskov et al.'s estimator 1 (max-norm in the joint space):
// ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩, n_x counting the points strictly
// closer than the k-th joint neighbour in the X marginal. O(N²). CI95 is
// mean ± 1.96·sd/√N of the per-point terms (an approximation: the terms are
// not independent). Duplicate points (e.g. identical texts) give ε_i = 0
// and bias the estimate; deduplicate or add tiny noise first.
func KSG(x, y [][]float64, opt KSGOptions) (Result, error) {
	k := opt.K
	if k == 0 {
		k = 3
	}
	if k < 1 {
		return Result{}, fmt.Errorf("measure: KSG k must be positive (got %d)", k)
	}
	n, _, err := checkRows("KSG x", x, k+1)
	if err != nil {
		return Result{}, err
	}
	if _, _, err := checkRows("KSG y", y, k+1); err != nil {
		return Result{}, err
	}
	if len(y) != n {
		return Result{}, fmt.Errorf("measure: KSG needs paired samples (x has %d rows, y has %d)", n, len(y))
	}
	if opt.PCADim > 0 {
		if x, err = PCA(x, opt.PCADim); err != nil {
			return Result{}, err
		}
		if y, err = PCA(y, opt.PCADim); err != nil {
			return Result{}, err
		}
	}
	if !opt.Raw {
		x, y = standardize(x), standardize(y)
	}
	dx := make([]float64, n)
	dy := make([]float64, n)
	terms := make([]float64, n)
	var b kbest
	for i := range n {
		b.v = b.v[:0]
		for j := range n {
			if j == i {
				continue
			}
			dx[j] = maxNorm(x[i], x[j])
			dy[j] = maxNorm(y[i], y[j])
			b.push(math.Max(dx[j], dy[j]), k)
		}
		eps := b.v[k-1]
		nx, ny := 0, 0
		for j := range n {
			if j == i {
				continue
			}
			if dx[j] < eps {
				nx++
			}
			if dy[j] < eps {
				ny++
			}
		}
		terms[i] = mathext.Digamma(float64(nx+1)) + mathext.Digamma(float64(ny+1))
	}
	m, sd := meanSD(terms)
	v := mathext.Digamma(float64(k)) + mathext.Digamma(float64(n)) - m
	h := 1.96 * sd / math.Sqrt(float64(n))
	return Result{Name: "ksg-mi", Value: v, CI95: [2]float64{v - h, v + h}, N: n,
		Settings: map[string]any{"k": k, "pca_dim": opt.PCADim, "standardized": !opt.Raw, "unit": "nats", "norm": "max"}}, nil
}

// standardize returns a copy with every column scaled to unit variance
// (constant columns are left as they are).
func standardize(x [][]float64) [][]float64 {
	n, d := len(x), len(x[0])
	mean := make([]float64, d)
	sd := make([]float64, d)
	for _, r := range x {
		for j, v := range r {
			mean[j] += v / float64(n)
		}
	}
	for _, r := range x {
		for j, v := range r {
			sd[j] += (v - mean[j]) * (v - mean[j]) / float64(n)
		}
	}
	out := make([][]float64, n)
	for i, r := range x {
		out[i] = make([]float64, d)
		for j, v := range r {
			s := math.Sqrt(sd[j])
			if s == 0 {
				s = 1
			}
			out[i][j] = (v - mean[j]) / s
		}
	}
	return out
}

func meanSD(v []float64) (float64, float64) {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	if len(v) < 2 {
		return m, 0
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}

// logUnitBall is log of the volume of the Euclidean unit ball in d dimensions.
func logUnitBall(d int) float64 {
	lg, _ := math.Lgamma(float64(d)/2 + 1)
	return float64(d)/2*math.Log(math.Pi) - lg
}

// kthDists returns, for every row of a, the Euclidean distance to its k-th
// nearest neighbour in b (excluding itself when self is true).
func kthDists(a, b [][]float64, k int, self bool) []float64 {
	out := make([]float64, len(a))
	var kb kbest
	for i := range a {
		kb.v = kb.v[:0]
		for j := range b {
			if self && i == j {
				continue
			}
			kb.push(sqDist(a[i], b[j]), k)
		}
		out[i] = math.Sqrt(kb.v[k-1])
	}
	return out
}

// KLEntropy estimates the differential entropy in nats with the
// Kozachenko–Leonenko k-NN estimator: ψ(N) − ψ(k) + log V_d + (d/N)·Σ log r_i,
// r_i the Euclidean distance to the k-th neighbour and V_d the volume of the
// unit ball. k = 0 means 3. Duplicate points (r_i = 0) are an error. CI95 is
// the estimate ± 1.96·d·sd(log r)/√N (approximate).
func KLEntropy(x [][]float64, k int) (Result, error) {
	if k == 0 {
		k = 3
	}
	if k < 1 {
		return Result{}, fmt.Errorf("measure: k-NN entropy k must be positive (got %d)", k)
	}
	n, d, err := checkRows("entropy sample", x, k+1)
	if err != nil {
		return Result{}, err
	}
	r := kthDists(x, x, k, true)
	lr := make([]float64, n)
	for i, v := range r {
		if v == 0 {
			return Result{}, fmt.Errorf("measure: k-NN entropy: point %d has %d duplicates (distance 0)", i, k)
		}
		lr[i] = math.Log(v)
	}
	m, sd := meanSD(lr)
	fd := float64(d)
	v := mathext.Digamma(float64(n)) - mathext.Digamma(float64(k)) + logUnitBall(d) + fd*m
	h := 1.96 * fd * sd / math.Sqrt(float64(n))
	return Result{Name: "knn-entropy", Value: v, CI95: [2]float64{v - h, v + h}, N: n,
		Settings: map[string]any{"k": k, "dim": d, "unit": "nats"}}, nil
}

// KLDivergence estimates KL(P‖Q) in nats from x ~ P (n points) and y ~ Q
// (m points) with Wang, Kulkarni & Verdú (2009), eq. 5:
// (d/n)·Σ log(ν_k(i)/ρ_k(i)) + log(m/(n−1)), ρ_k the distance to the k-th
// neighbour in x∖{x_i} and ν_k the distance to the k-th neighbour in y.
// k = 0 means 3. CI95 as KLEntropy (approximate).
func KLDivergence(x, y [][]float64, k int) (Result, error) {
	if k == 0 {
		k = 3
	}
	if k < 1 {
		return Result{}, fmt.Errorf("measure: k-NN KL k must be positive (got %d)", k)
	}
	n, d, err := checkRows("KL sample P", x, k+1)
	if err != nil {
		return Result{}, err
	}
	m, dy, err := checkRows("KL sample Q", y, k)
	if err != nil {
		return Result{}, err
	}
	if dy != d {
		return Result{}, fmt.Errorf("measure: KL samples differ in dimension (%d and %d)", d, dy)
	}
	rho := kthDists(x, x, k, true)
	nu := kthDists(x, y, k, false)
	t := make([]float64, n)
	for i := range t {
		if rho[i] == 0 || nu[i] == 0 {
			return Result{}, fmt.Errorf("measure: k-NN KL: point %d has a zero neighbour distance (duplicates)", i)
		}
		t[i] = math.Log(nu[i] / rho[i])
	}
	mm, sd := meanSD(t)
	fd := float64(d)
	v := fd*mm + math.Log(float64(m)/float64(n-1))
	h := 1.96 * fd * sd / math.Sqrt(float64(n))
	return Result{Name: "knn-kl", Value: v, CI95: [2]float64{v - h, v + h}, N: n,
		Settings: map[string]any{"k": k, "dim": d, "m": m, "unit": "nats"}}, nil
}
