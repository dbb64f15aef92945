package measure

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Kernel chooses a kernel: "gaussian" (default) or "linear". For the
// Gaussian kernel k(x, y) = exp(−‖x − y‖²/(2σ²)); Sigma2 = 0 means the median
// heuristic σ² = 0.5·median‖x_i − x_j‖² over pairs i < j, exact over all
// rows up to MedianRows (0 means DefaultMedianRows) and over a seeded
// subsample of MedianRows rows above.
type Kernel struct {
	Kind       string
	Sigma2     float64
	MedianRows int
}

// DefaultMedianRows is the number of rows up to which the median heuristic
// uses every pair (about 5·10⁷ pairs; one pass over them plus a sampled
// bracket, no n² memory).
const DefaultMedianRows = 10000

// MedianSigma2 returns 0.5·median‖x_i − x_j‖² over all pairs i < j when x
// has at most DefaultMedianRows rows, else over a seeded subsample of that
// many rows. A zero median (many equal points) falls back to the mean, then
// to 1.
func MedianSigma2(x [][]float64, seed uint64) float64 {
	return MedianSigma2Rows(x, seed, 0)
}

func medianRows(r int) int {
	if r <= 0 {
		return DefaultMedianRows
	}
	return r
}

// MedianSigma2Rows is MedianSigma2 with the exact-up-to row count given
// (0 means DefaultMedianRows).
func MedianSigma2Rows(x [][]float64, seed uint64, maxRows int) float64 {
	if maxRows <= 0 {
		maxRows = DefaultMedianRows
	}
	rows := x
	if len(x) > maxRows {
		rng := rand.New(rand.NewPCG(seed, 77))
		idx := rng.Perm(len(x))[:maxRows]
		rows = pickRows(x, idx)
	}
	m, mean := medianPairSqDist(rows, seed)
	if m <= 0 {
		m = mean
	}
	if !(m > 0) {
		return 1
	}
	return 0.5 * m
}

// medianPairSqDist returns the median (mean of the two middle values for an
// even count) and the mean of ‖x_i − x_j‖² (pairSqDist) over pairs i < j. Up to 2·10⁶
// pairs they are stored and sorted; above, a seeded sample of pairs brackets
// the two middle ranks, one pass over all pairs counts the values below the
// bracket and keeps those inside it, and the order statistics are selected
// from the kept values (exact; the bracket is widened and the pass repeated
// in the unlikely case it misses).
func medianPairSqDist(x [][]float64, seed uint64) (float64, float64) {
	n := len(x)
	sq := make([]float64, n)
	for i, r := range x {
		sq[i] = dotFast(r, r)
	}
	dist := func(a, b int) float64 { return pairSqDist(x, sq, a, b) }
	np := n * (n - 1) / 2
	if np == 0 {
		return 0, 0
	}
	lo, hi := (np-1)/2, np/2 // 0-based middle ranks
	if np <= 2_000_000 {
		d := make([]float64, 0, np)
		var sum float64
		for a := range n {
			for b := a + 1; b < n; b++ {
				v := dist(a, b)
				d = append(d, v)
				sum += v
			}
		}
		slices.Sort(d)
		return 0.5 * (d[lo] + d[hi]), sum / float64(np)
	}
	// Bracket from a sample of pairs.
	rng := rand.New(rand.NewPCG(seed, 0x3ed1))
	const ns = 200_000
	s := make([]float64, ns)
	for i := range s {
		a := rng.IntN(n)
		b := rng.IntN(n - 1)
		if b >= a {
			b++
		}
		s[i] = dist(a, b)
	}
	slices.Sort(s)
	for width := 0.01; ; width *= 4 {
		qlo, qhi := math.Inf(-1), math.Inf(1)
		if width < 0.5 {
			qlo = Quantile(s, 0.5-width)
			qhi = Quantile(s, 0.5+width)
		}
		below := make([]int, n)
		sums := make([]float64, n)
		kept := make([][]float64, n)
		parallelRows(n, func(a int) {
			var c int
			var sm float64
			var k []float64
			for b := a + 1; b < n; b++ {
				v := dist(a, b)
				sm += v
				if v < qlo {
					c++
				} else if v <= qhi {
					k = append(k, v)
				}
			}
			below[a], sums[a], kept[a] = c, sm, k
		})
		var nb int
		var sum float64
		var all []float64
		for a := range n {
			nb += below[a]
			sum += sums[a]
			all = append(all, kept[a]...)
		}
		if nb <= lo && hi < nb+len(all) {
			slices.Sort(all)
			return 0.5 * (all[lo-nb] + all[hi-nb]), sum / float64(np)
		}
	}
}

// pairSqDist is ‖x_a − x_b‖² computed as Gram does, sq_a + sq_b − 2·x_a·x_b
// clamped at 0 (sq the squared norms): the median heuristic sees the same
// distances as the kernel.
func pairSqDist(x [][]float64, sq []float64, a, b int) float64 {
	return math.Max(sq[a]+sq[b]-2*dotFast(x[a], x[b]), 0)
}

// MaxGram is the largest sample for which an n×n kernel matrix is built
// (16,384 points: 2 GiB of float64).
const MaxGram = 1 << 14

// Gram returns the kernel matrix of x (n×n, row-major) and the σ² used
// (0 for the linear kernel).
func Gram(x [][]float64, k Kernel, seed uint64) ([]float64, float64, error) {
	n := len(x)
	if n > MaxGram {
		return nil, 0, fmt.Errorf("measure: %d points need a %d×%d kernel matrix (limit %d points; use HSICRFF or subsample)", n, n, n, MaxGram)
	}
	if k.Kind != "" && k.Kind != "gaussian" && k.Kind != "linear" {
		return nil, 0, fmt.Errorf("measure: unknown kernel %q (want gaussian or linear)", k.Kind)
	}
	sq := make([]float64, n)
	for i, r := range x {
		sq[i] = dotFast(r, r)
	}
	if k.Kind == "linear" {
		return gramFill(x, func(i, j int, d float64) float64 { return d }), 0, nil
	}
	s2 := k.Sigma2
	if s2 == 0 {
		s2 = MedianSigma2Rows(x, seed, k.MedianRows)
	}
	if s2 < 0 || math.IsNaN(s2) || math.IsInf(s2, 0) {
		return nil, 0, fmt.Errorf("measure: kernel σ² must be positive (got %g)", s2)
	}
	c := -1 / (2 * s2)
	return gramFill(x, func(i, j int, d float64) float64 {
		if i == j {
			return 1
		}
		return expNeg(math.Max(sq[i]+sq[j]-2*d, 0) * c)
	}), s2, nil
}

// gramFill returns the symmetric n×n matrix (row-major) with entries
// f(i, j, x_i·x_j) for i ≤ j, mirrored. Rows are dealt to GOMAXPROCS
// goroutines in interleaved blocks; every entry is computed on its own, so
// the matrix does not depend on the number of goroutines.
func gramFill(x [][]float64, f func(i, j int, d float64) float64) []float64 {
	n := len(x)
	g := make([]float64, n*n)
	parallelRows(n, func(i int) {
		xi := x[i]
		row := g[i*n : (i+1)*n]
		for j := i; j < n; j++ {
			row[j] = f(i, j, dotFast(xi, x[j]))
		}
	})
	// Mirror the upper triangle in cache-friendly tiles.
	const t = 64
	for bi := 0; bi < n; bi += t {
		for bj := bi; bj < n; bj += t {
			for i := bi; i < min(bi+t, n); i++ {
				for j := max(bj, i+1); j < min(bj+t, n); j++ {
					g[j*n+i] = g[i*n+j]
				}
			}
		}
	}
	return g
}

// parallelRows calls f(i) for i in [0, n) on GOMAXPROCS goroutines, rows
// dealt in interleaved blocks of 16 (triangular loops shrink with i).
func parallelRows(n int, f func(i int)) {
	w := min(runtime.GOMAXPROCS(0), max(n/32, 1))
	if w <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	const blk = 16
	var wg sync.WaitGroup
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := k * blk; b < n; b += w * blk {
				for i := b; i < min(b+blk, n); i++ {
					f(i)
				}
			}
		}()
	}
	wg.Wait()
}

// gramRowMeans returns the row means of a symmetric n×n matrix and its
// grand mean (row sums added in order: deterministic).
func gramRowMeans(k []float64, n int) ([]float64, float64) {
	row := make([]float64, n)
	parallelRows(n, func(i int) {
		var s float64
		for _, v := range k[i*n : (i+1)*n] {
			s += v
		}
		row[i] = s / float64(n)
	})
	var all float64
	for _, v := range row {
		all += v
	}
	return row, all / float64(n)
}

// center returns HKH for a symmetric n×n matrix.
func center(k []float64, n int) []float64 {
	row, all := gramRowMeans(k, n)
	c := make([]float64, n*n)
	for i := range n {
		for j := range n {
			c[i*n+j] = k[i*n+j] - row[i] - row[j] + all
		}
	}
	return c
}

// centredDot returns Σ_ij (HKH)_ij·L_ij = tr(KHLH) without forming HKH:
// entries are centred on the fly, each row is summed on its own and the row
// sums are added in order (deterministic, and accurate because the centred
// terms are small).
func centredDot(k, l []float64, n int) float64 {
	row, all := gramRowMeans(k, n)
	part := make([]float64, n)
	parallelRows(n, func(i int) {
		kr, lr := k[i*n:(i+1)*n], l[i*n:(i+1)*n]
		ri := row[i] - all
		var s float64
		for j, v := range kr {
			s += (v - ri - row[j]) * lr[j]
		}
		part[i] = s
	})
	var t float64
	for _, v := range part {
		t += v
	}
	return t
}

// HSICBiased returns tr(KHLH)/(m−1)² for m×m kernel matrices (row-major).
func HSICBiased(k, l []float64, m int) float64 {
	return centredDot(k, l, m) / float64((m-1)*(m-1))
}

// HSICUnbiased returns Song et al.'s unbiased estimator (NOTES §3), m ≥ 4:
// [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((m−1)(m−2)) − 2·1ᵀK̃L̃1/(m−2)] / (m(m−3)).
func HSICUnbiased(k, l []float64, m int) float64 {
	var tr, sk, sl, cross float64
	for i := range m {
		var rk, rl float64
		for j := range m {
			if i == j {
				continue
			}
			a, b := k[i*m+j], l[i*m+j]
			tr += a * b
			rk += a
			rl += b
		}
		sk += rk
		sl += rl
		cross += rk * rl
	}
	fm := float64(m)
	return (tr + sk*sl/((fm-1)*(fm-2)) - 2*cross/(fm-2)) / (fm * (fm - 3))
}

// HSICOptions configures HSIC.
type HSICOptions struct {
	KernelX, KernelY Kernel
	Unbiased         bool   // Song et al.'s unbiased estimator instead of the biased one
	Normalized       bool   // HSIC(X,Y)/sqrt(HSIC(X,X)·HSIC(Y,Y)) (same estimator)
	Permutations     int    // permutations of Y for the p-value; 0 means none
	Seed             uint64 // seed of the permutations and median subsample
}

// HSIC estimates the Hilbert–Schmidt independence criterion between paired
// rows of x and y. Settings holds the kernels, σ², and with Permutations > 0
// "p_value" = (1 + #{HSIC_π ≥ HSIC})/(1 + B). CI95 is not computed (NaN).
func HSIC(x, y [][]float64, opt HSICOptions) (Result, error) {
	minN := 2
	if opt.Unbiased {
		minN = 4
	}
	n, _, err := checkRows("HSIC x", x, minN)
	if err != nil {
		return Result{}, err
	}
	if _, _, err := checkRows("HSIC y", y, minN); err != nil {
		return Result{}, err
	}
	if len(y) != n {
		return Result{}, fmt.Errorf("measure: HSIC needs paired samples (x has %d rows, y has %d)", n, len(y))
	}
	if !opt.Unbiased && !opt.Normalized && opt.Permutations <= 0 {
		// The plain biased estimate needs no kernel matrix (see
		// hsicBiasedStream): O(n) memory, any n.
		kx, s2x, err := kernelOf(x, opt.KernelX, opt.Seed)
		if err != nil {
			return Result{}, err
		}
		ky, s2y, err := kernelOf(y, opt.KernelY, opt.Seed+1)
		if err != nil {
			return Result{}, err
		}
		v := hsicBiasedStream(x, y, kx, ky) / float64((n-1)*(n-1))
		return Result{Name: "hsic", Value: v, CI95: nanCI, N: n, Settings: map[string]any{
			"kernel_x": kindName(opt.KernelX), "kernel_y": kindName(opt.KernelY),
			"sigma2_x": s2x, "sigma2_y": s2y, "unbiased": false,
		}}, nil
	}
	k, s2x, err := Gram(x, opt.KernelX, opt.Seed)
	if err != nil {
		return Result{}, err
	}
	l, s2y, err := Gram(y, opt.KernelY, opt.Seed+1)
	if err != nil {
		return Result{}, err
	}
	est := HSICBiased
	name := "hsic"
	if opt.Unbiased {
		est = HSICUnbiased
		name = "hsic-unbiased"
	}
	v := est(k, l, n)
	set := map[string]any{
		"kernel_x": kindName(opt.KernelX), "kernel_y": kindName(opt.KernelY),
		"sigma2_x": s2x, "sigma2_y": s2y, "unbiased": opt.Unbiased,
	}
	if opt.Normalized {
		kk, ll := est(k, k, n), est(l, l, n)
		if kk <= 0 || ll <= 0 {
			return Result{}, fmt.Errorf("measure: normalised HSIC undefined (HSIC(X,X) = %g, HSIC(Y,Y) = %g)", kk, ll)
		}
		set["hsic"] = v
		v /= math.Sqrt(kk * ll)
		name += "-normalized"
	}
	if opt.Permutations > 0 {
		set["p_value"], set["permutations"] = permutationP(k, l, n, opt, v), opt.Permutations
	}
	return Result{Name: name, Value: v, CI95: nanCI, N: n, Settings: set}, nil
}

func kindName(k Kernel) string {
	if k.Kind == "" {
		return "gaussian"
	}
	return k.Kind
}

// permutationP permutes the rows and columns of L together. The statistic's
// normalisation does not depend on the permutation, so the raw estimator is
// compared.
func permutationP(k, l []float64, n int, opt HSICOptions, _ float64) float64 {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e37))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	lp := make([]float64, n*n)
	var obs func([]float64) float64
	if opt.Unbiased {
		obs = func(lm []float64) float64 { return HSICUnbiased(k, lm, n) }
	} else {
		kc := center(k, n)
		obs = func(lm []float64) float64 {
			var t float64
			for i := range kc {
				t += kc[i] * lm[i]
			}
			return t
		}
	}
	t0 := obs(l)
	ge := 0
	for range opt.Permutations {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for i := range n {
			pi := perm[i] * n
			for j := range n {
				lp[i*n+j] = l[pi+perm[j]]
			}
		}
		if obs(lp) >= t0-1e-12*math.Abs(t0) {
			ge++
		}
	}
	return float64(1+ge) / float64(1+opt.Permutations)
}

// RFFOptions configures HSICRFF.
type RFFOptions struct {
	Features int     // random features D per side; 0 means 100
	SigmaX2  float64 // σ² of X's Gaussian kernel; 0 means the median heuristic
	SigmaY2  float64
	Seed     uint64
	// MedianRows bounds the rows of the median heuristic's exact pass (0:
	// DefaultMedianRows; a seeded subsample above).
	MedianRows int
}

// HSICRFF approximates the biased Gaussian-kernel HSIC in O(m·D²) with
// random Fourier features z(x) = sqrt(2/D)·cos(Wx + b), W ~ N(0, I/σ²),
// b ~ U[0, 2π] (Rahimi & Recht 2007): K ≈ ZZᵀ, so tr(KHLH) ≈ ‖Z_xᵀHZ_y‖_F².
func HSICRFF(x, y [][]float64, opt RFFOptions) (Result, error) {
	n, dx, err := checkRows("HSIC x", x, 2)
	if err != nil {
		return Result{}, err
	}
	_, dy, err := checkRows("HSIC y", y, 2)
	if err != nil {
		return Result{}, err
	}
	if len(y) != n {
		return Result{}, fmt.Errorf("measure: HSIC needs paired samples (x has %d rows, y has %d)", n, len(y))
	}
	D := opt.Features
	if D <= 0 {
		D = 100
	}
	sx, sy := opt.SigmaX2, opt.SigmaY2
	if sx == 0 {
		sx = MedianSigma2Rows(x, opt.Seed, opt.MedianRows)
	}
	if sy == 0 {
		sy = MedianSigma2Rows(y, opt.Seed+1, opt.MedianRows)
	}
	if !(sx > 0) || !(sy > 0) {
		return Result{}, fmt.Errorf("measure: RFF σ² must be positive (got %g, %g)", sx, sy)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xf00d))
	zx := rffFeatures(x, dx, D, sx, rng)
	zy := rffFeatures(y, dy, D, sy, rng)
	var c mat.Dense
	c.Mul(zx.T(), zy) // D×D, features already centred
	f := mat.Norm(&c, 2)
	v := f * f / float64((n-1)*(n-1))
	return Result{Name: "hsic-rff", Value: v, CI95: nanCI, N: n,
		Settings: map[string]any{"features": D, "sigma2_x": sx, "sigma2_y": sy, "median_rows": medianRows(opt.MedianRows)}}, nil
}

// rffFeatures returns the column-centred n×D random Fourier features.
func rffFeatures(x [][]float64, d, D int, s2 float64, rng *rand.Rand) *mat.Dense {
	n := len(x)
	w := make([]float64, D*d)
	for i := range w {
		w[i] = rng.NormFloat64() / math.Sqrt(s2)
	}
	b := make([]float64, D)
	for i := range b {
		b[i] = rng.Float64() * 2 * math.Pi
	}
	xm := mat.NewDense(n, d, nil)
	for i, r := range x {
		copy(xm.RawRowView(i), r)
	}
	z := mat.NewDense(n, D, nil)
	z.Mul(xm, mat.NewDense(D, d, w).T())
	sc := math.Sqrt(2 / float64(D))
	mean := make([]float64, D)
	for i := range n {
		row := z.RawRowView(i)
		for j := range D {
			row[j] = sc * math.Cos(row[j]+b[j])
			mean[j] += row[j]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := range n {
		row := z.RawRowView(i)
		for j := range row {
			row[j] -= mean[j]
		}
	}
	return z
}
