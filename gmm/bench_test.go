package gmm

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkFitEM times the two shapes the speed goals name: 200 points in 2-D
// with 6 components, and 10,000 points in 16-D with 10 components, with
// scikit-learn's defaults (k-means init, tol 1e-3, max_iter 100).
func BenchmarkFitEM(b *testing.B) {
	for _, c := range []struct{ n, d, k int }{{200, 2, 6}, {10000, 16, 10}} {
		b.Run(fmt.Sprintf("n%d_d%d_k%d", c.n, c.d, c.k), func(b *testing.B) {
			x := appBData(b, 1, c.n, c.d, c.k)
			b.ResetTimer()
			var iters int
			for i := 0; i < b.N; i++ {
				f, err := FitEM(x, c.d, FitOptions{Components: c.k, Seed: uint64(i)})
				if err != nil {
					b.Fatal(err)
				}
				iters += f.Iterations
			}
			b.ReportMetric(float64(iters)/float64(b.N), "iters/op")
		})
	}
}

// appBData draws n points from a mixture built by the App. B recipe: equal
// weights, means uniform in [0,10)^d, covariances A·Aᵀ + 1e-3·I with A
// uniform in [0,1)^{d×d}.
func appBData(t testing.TB, seed uint64, n, d, k int) []float64 {
	rng := rngFor(seed)
	w := make([]float64, k)
	mu := make([][]float64, k)
	cov := make([][]float64, k)
	for j := range k {
		w[j] = 1
		mu[j] = make([]float64, d)
		for a := range d {
			mu[j][a] = 10 * rng.Float64()
		}
		a := make([]float64, d*d)
		for q := range a {
			a[q] = rng.Float64()
		}
		c := make([]float64, d*d)
		for r := range d {
			for s := range d {
				for q := range d {
					c[r*d+s] += a[r*d+q] * a[s*d+q]
				}
			}
			c[r*d+r] += 1e-3
		}
		cov[j] = c
	}
	m := mustNew(t, w, mu, cov)
	x, _ := m.Sample(rng, n)
	return x
}

func BenchmarkKMeans(b *testing.B) {
	x := appBData(b, 1, 10000, 16, 10)
	tm := newTeam(runtime.GOMAXPROCS(0))
	defer tm.close()
	b.Run("pp", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			kmeansPP(rngFor(uint64(i)), x, 10000, 16, 10, tm, nil)
		}
	})
	b.Run("lloyd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			kmeans(rngFor(uint64(i)), x, 10000, 16, 10, tm, nil)
		}
	})
}
