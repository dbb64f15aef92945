package measure

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The streaming biased HSIC equals tr(KHLH)/(n−1)² from the kernel
// matrices, for both kernels and sizes around the block size, and does not
// depend on GOMAXPROCS.
func TestHSICStreamMatchesGram(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{2, 5, 31, 32, 33, 97, 300} {
		x := gauss(rng, n, 3, 0, 1)
		y := make([][]float64, n)
		for i := range y {
			y[i] = []float64{x[i][0] + 0.5*rng.NormFloat64(), rng.NormFloat64()}
		}
		for _, k := range []Kernel{{Sigma2: 0.7}, {Kind: "linear"}} {
			kx, _, _ := Gram(x, k, 0)
			ly, _, _ := Gram(y, k, 0)
			want := HSICBiased(kx, ly, n)
			fx, _, _ := kernelOf(x, k, 0)
			fy, _, _ := kernelOf(y, k, 0)
			got := hsicBiasedStream(x, y, fx, fy) / float64((n-1)*(n-1))
			if math.Abs(got-want) > 1e-12*math.Max(math.Abs(want), 1e-3) {
				t.Errorf("n %d kernel %q: stream %.15g, Gram %.15g", n, k.Kind, got, want)
			}
			r, err := HSIC(x, y, HSICOptions{KernelX: k, KernelY: k})
			if err != nil || r.Value != got {
				t.Errorf("HSIC() = %v, %v; want the streaming value", r.Value, err)
			}
		}
	}
	x := gauss(rng, 200, 4, 0, 1)
	y := gauss(rng, 200, 2, 0, 1)
	prev := runtime.GOMAXPROCS(1)
	one, _ := HSIC(x, y, HSICOptions{})
	runtime.GOMAXPROCS(3)
	three, _ := HSIC(x, y, HSICOptions{})
	runtime.GOMAXPROCS(prev)
	if one.Value != three.Value {
		t.Errorf("HSIC depends on GOMAXPROCS: %v vs %v", one.Value, three.Value)
	}
}
