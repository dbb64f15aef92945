package measure

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MMDOptions configures MMD.
type MMDOptions struct {
	Sigma2       float64 // Gaussian σ²; 0 means the median heuristic on the pooled sample
	Permutations int     // label permutations for the p-value; 0 means none
	Seed         uint64
}

// MMD returns the unbiased MMD² between samples x (m points) and y (n
// points) with a Gaussian kernel (Gretton et al. 2012, eq. 3):
// Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1)) − 2Σ k(x_i,y_j)/(mn).
// With Permutations > 0, Settings["p_value"] is (1 + #{MMD²_π ≥ MMD²})/(1 + B)
// over random relabellings of the pooled sample. CI95 is not computed.
func MMD(x, y [][]float64, opt MMDOptions) (Result, error) {
	m, d, err := checkRows("MMD sample x", x, 2)
	if err != nil {
		return Result{}, err
	}
	n, dy, err := checkRows("MMD sample y", y, 2)
	if err != nil {
		return Result{}, err
	}
	if d != dy {
		return Result{}, fmt.Errorf("measure: MMD samples differ in dimension (%d and %d)", d, dy)
	}
	pool := append(append([][]float64{}, x...), y...)
	g, s2, err := Gram(pool, Kernel{Kind: "gaussian", Sigma2: opt.Sigma2}, opt.Seed)
	if err != nil {
		return Result{}, err
	}
	N := m + n
	lab := make([]int, N)
	for i := m; i < N; i++ {
		lab[i] = 1
	}
	stat := func(lab []int) float64 {
		var sxx, syy, sxy float64
		for i := range N {
			for j := range N {
				if i == j {
					continue
				}
				v := g[i*N+j]
				switch {
				case lab[i] == 0 && lab[j] == 0:
					sxx += v
				case lab[i] == 1 && lab[j] == 1:
					syy += v
				default:
					sxy += v
				}
			}
		}
		fm, fn := float64(m), float64(n)
		return sxx/(fm*(fm-1)) + syy/(fn*(fn-1)) - sxy/(fm*fn)
	}
	v := stat(lab)
	set := map[string]any{"sigma2": s2, "m": m, "n": n, "kernel": "gaussian"}
	if opt.Permutations > 0 {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x3141))
		pl := append([]int(nil), lab...)
		ge := 0
		for range opt.Permutations {
			rng.Shuffle(N, func(i, j int) { pl[i], pl[j] = pl[j], pl[i] })
			if stat(pl) >= v-1e-12*math.Abs(v) {
				ge++
			}
		}
		set["p_value"] = float64(1+ge) / float64(1+opt.Permutations)
		set["permutations"] = opt.Permutations
	}
	return Result{Name: "mmd2", Value: v, CI95: nanCI, N: N, Settings: set}, nil
}

// C2STOptions configures ClassifierTwoSample.
type C2STOptions struct {
	Folds  int     // cross-validation folds; 0 means 5
	Ridge  float64 // L2 penalty on the weights (not the intercept); 0 means 1e-3 (negative: none)
	Seed   uint64  // seed of the fold assignment
	MaxIts int     // Newton iterations; 0 means 50
}

// ClassifierTwoSample is the classifier two-sample test (Lopez-Paz & Oquab
// 2017): logistic regression (L2-penalised, Newton–Raphson on standardised
// features) separates x (label 0) from y (label 1); Value is the k-fold
// cross-validated accuracy. Settings["tv_lower_bound"] is max(0, 2·acc − 1):
// for balanced classes any classifier's accuracy is at most (1 + TV(P,Q))/2.
// Settings["p_value"] is the one-sided binomial p-value of acc against 1/2.
// CI95 is the Wilson interval of the accuracy.
func ClassifierTwoSample(x, y [][]float64, opt C2STOptions) (Result, error) {
	m, d, err := checkRows("C2ST sample x", x, 2)
	if err != nil {
		return Result{}, err
	}
	n, dy, err := checkRows("C2ST sample y", y, 2)
	if err != nil {
		return Result{}, err
	}
	if d != dy {
		return Result{}, fmt.Errorf("measure: C2ST samples differ in dimension (%d and %d)", d, dy)
	}
	k := opt.Folds
	if k == 0 {
		k = 5
	}
	if k < 2 || k > m+n {
		return Result{}, fmt.Errorf("measure: C2ST needs 2 ≤ folds ≤ %d (got %d)", m+n, k)
	}
	ridge := opt.Ridge
	if ridge == 0 {
		ridge = 1e-3
	}
	ridge = math.Max(ridge, 0)
	its := opt.MaxIts
	if its == 0 {
		its = 50
	}
	N := m + n
	data := append(append([][]float64{}, x...), y...)
	lab := make([]float64, N)
	for i := m; i < N; i++ {
		lab[i] = 1
	}
	// Stratified folds: shuffle each class and deal round-robin.
	rng := rand.New(rand.NewPCG(opt.Seed, 0xc257))
	fold := make([]int, N)
	for _, r := range [][2]int{{0, m}, {m, N}} {
		idx := make([]int, r[1]-r[0])
		for i := range idx {
			idx[i] = r[0] + i
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for t, i := range idx {
			fold[i] = t % k
		}
	}
	correct := 0
	for f := range k {
		var tr, te []int
		for i := range N {
			if fold[i] == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		if len(te) == 0 {
			continue
		}
		w, mu, sd, err := fitLogistic(data, lab, tr, d, ridge, its)
		if err != nil {
			return Result{}, err
		}
		for _, i := range te {
			z := w[d]
			for j := range d {
				z += w[j] * (data[i][j] - mu[j]) / sd[j]
			}
			if (z > 0) == (lab[i] == 1) {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(N)
	p := 1.0
	if correct > 0 {
		p = 1 - distuv.Binomial{N: float64(N), P: 0.5}.CDF(float64(correct-1))
	}
	z := 1.959963984540054
	den := 1 + z*z/float64(N)
	c := (acc + z*z/(2*float64(N))) / den
	h := z / den * math.Sqrt(acc*(1-acc)/float64(N)+z*z/(4*float64(N)*float64(N)))
	return Result{Name: "c2st", Value: acc, CI95: Interval{c - h, c + h}, N: N,
		Settings: map[string]any{"folds": k, "ridge": ridge, "tv_lower_bound": math.Max(0, 2*acc-1),
			"p_value": p, "balanced": m == n}}, nil
}

// fitLogistic fits L2-penalised logistic regression by Newton–Raphson on the
// rows tr, standardising each feature with the training mean and sd. It
// returns d weights and the intercept (index d).
func fitLogistic(x [][]float64, yv []float64, tr []int, d int, ridge float64, its int) ([]float64, []float64, []float64, error) {
	mu := make([]float64, d)
	sd := make([]float64, d)
	for _, i := range tr {
		for j := range d {
			mu[j] += x[i][j] / float64(len(tr))
		}
	}
	for _, i := range tr {
		for j := range d {
			t := x[i][j] - mu[j]
			sd[j] += t * t / float64(len(tr))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j])
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	p := d + 1
	w := make([]float64, p)
	z := make([]float64, p)
	hess := mat.NewSymDense(p, nil)
	grad := mat.NewVecDense(p, nil)
	for range its {
		hess.Zero()
		grad.Zero()
		hd := hess.RawSymmetric().Data
		for _, i := range tr {
			for j := range d {
				z[j] = (x[i][j] - mu[j]) / sd[j]
			}
			z[d] = 1
			var s float64
			for j := range p {
				s += w[j] * z[j]
			}
			pr := 1 / (1 + math.Exp(-s))
			r := pr - yv[i]
			wt := math.Max(pr*(1-pr), 1e-10)
			for a := range p {
				grad.SetVec(a, grad.AtVec(a)+r*z[a])
				for b := a; b < p; b++ {
					hd[a*p+b] += wt * z[a] * z[b]
				}
			}
		}
		for j := range d {
			grad.SetVec(j, grad.AtVec(j)+ridge*float64(len(tr))*w[j])
			hd[j*p+j] += ridge*float64(len(tr)) + 1e-9
		}
		hd[d*p+d] += 1e-9
		var ch mat.Cholesky
		if !ch.Factorize(hess) {
			return nil, nil, nil, fmt.Errorf("measure: C2ST: singular Hessian")
		}
		var step mat.VecDense
		if err := ch.SolveVecTo(&step, grad); err != nil {
			return nil, nil, nil, fmt.Errorf("measure: C2ST: %w", err)
		}
		var mx float64
		prev := append([]float64(nil), w...)
		for j := range p {
			w[j] -= step.AtVec(j)
			mx = math.Max(mx, math.Abs(step.AtVec(j)))
		}
		for j := range w {
			if math.IsNaN(w[j]) || math.IsInf(w[j], 0) {
				return prev, mu, sd, nil // numerical breakdown: keep the last finite weights
			}
		}
		if mx < 1e-8 {
			break
		}
	}
	return w, mu, sd, nil
}
