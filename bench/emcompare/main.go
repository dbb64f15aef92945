// Command emcompare times ggmi's EM (package gmm) against scikit-learn's
// GaussianMixture on the same data in one run, and prints the median times,
// their ratio, the iterations and the final mean log-likelihoods side by
// side. Run it through bench/em.sh, which installs scikit-learn.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/gmm"
)

type shape struct{ n, d, k int }

type pyResult struct {
	MedianMS      float64 `json:"median_ms"`
	Iterations    float64 `json:"iterations"`
	LowerBound    float64 `json:"lower_bound"`
	LogLikelihood float64 `json:"log_likelihood"`
	Threads       int     `json:"threads"`
}

func main() {
	reps := flag.Int("reps", 15, "repetitions per measurement (the median is reported)")
	python := flag.String("python", "/usr/bin/python3", "Python with scikit-learn")
	script := flag.String("script", "bench/em_sklearn.py", "the scikit-learn side")
	flag.Parse()
	dir, err := os.MkdirTemp("", "emcompare")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	threads := runtime.GOMAXPROCS(0)
	fmt.Printf("EM, %d repetitions each, medians; same data and settings (k-means init, tol 1e-3, max_iter 100, reg_covar 1e-6)\n", *reps)
	fmt.Printf("%-18s %-8s %12s %12s %8s %10s %10s %12s %12s\n", "shape", "threads", "ggmi ms", "sklearn ms", "ratio", "ggmi it", "skl it", "ggmi ll", "sklearn ll")
	for _, s := range []shape{{200, 2, 6}, {10000, 16, 10}} {
		x := appB(1, s.n, s.d, s.k)
		path := filepath.Join(dir, fmt.Sprintf("x_%d_%d.csv", s.n, s.d))
		if err := writeCSV(path, x, s.d); err != nil {
			fail(err)
		}
		for _, th := range []int{1, threads} {
			goMS, goIt, goLL := timeGo(x, s, th, *reps)
			py, err := timePython(*python, *script, path, s.k, th, *reps)
			if err != nil {
				fail(err)
			}
			fmt.Printf("%-18s %-8d %12.3f %12.3f %7.1f× %10.1f %10.1f %12.5f %12.5f\n",
				fmt.Sprintf("n=%d d=%d K=%d", s.n, s.d, s.k), th, goMS, py.MedianMS, py.MedianMS/goMS, goIt, py.Iterations, goLL, py.LogLikelihood)
			if th == threads {
				break
			}
		}
	}
}

func timeGo(x []float64, s shape, workers, reps int) (ms, iters, ll float64) {
	prev := runtime.GOMAXPROCS(workers)
	defer runtime.GOMAXPROCS(prev)
	var times []float64
	for r := range reps {
		t := time.Now()
		f, err := gmm.FitEM(x, s.d, gmm.FitOptions{Components: s.k, Seed: uint64(r), Workers: workers})
		elapsed := time.Since(t)
		if err != nil {
			fail(err)
		}
		times = append(times, float64(elapsed.Microseconds())/1000)
		iters += float64(f.Iterations)
		ll += f.Model.MeanLogProb(x) // outside the timing, like sklearn's score
	}
	sort.Float64s(times)
	return times[len(times)/2], iters / float64(reps), ll / float64(reps)
}

func timePython(python, script, path string, k, threads, reps int) (pyResult, error) {
	cmd := exec.Command(python, script, path, strconv.Itoa(k), strconv.Itoa(reps))
	t := strconv.Itoa(threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+t, "OPENBLAS_NUM_THREADS="+t, "MKL_NUM_THREADS="+t)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return pyResult{}, fmt.Errorf("%s %s: %w", python, script, err)
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("parse python output %q: %w", strings.TrimSpace(string(out)), err)
	}
	return r, nil
}

// appB draws n points from a mixture built by App. B's recipe in d
// dimensions: K equally weighted components, means uniform in [0,10)^d,
// covariances A·Aᵀ + 1e-3·I with A uniform in [0,1)^{d×d}.
func appB(seed uint64, n, d, k int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
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
	m, err := gmm.New(w, mu, cov)
	if err != nil {
		fail(err)
	}
	x, _ := m.Sample(rng, n)
	return x
}

func writeCSV(path string, x []float64, d int) error {
	var b strings.Builder
	for i := 0; i < len(x); i += d {
		for a := range d {
			if a > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(x[i+a], 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "emcompare:", err)
	os.Exit(1)
}
