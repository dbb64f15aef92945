package gmm_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ggmi-dev/ggmi/gmm"
)

// Fit a two-component mixture to data drawn from a known one and compare
// the Monte-Carlo KL divergence with the closed form of each component.
func Example() {
	truth, _ := gmm.New(
		[]float64{0.3, 0.7},
		[][]float64{{0, 0}, {6, 3}},
		[][]float64{{1, 0.5, 0.5, 1}, {2, 0, 0, 0.5}},
	)
	rng := rand.New(rand.NewPCG(1, 2))
	x, _ := truth.Sample(rng, 5000)
	fit, err := gmm.FitEM(x, 2, gmm.FitOptions{Components: 2, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	kl := gmm.KL(rng, truth, fit.Model, 20000)
	fmt.Printf("converged: %v, KL(truth‖fit) < 0.01: %v\n", fit.Converged, kl.Value < 0.01)
	h, _ := gmm.GaussianEntropy([]float64{1, 0.5, 0.5, 1}, 2)
	fmt.Printf("entropy of the first component: %.4f nats\n", h)
	// Output:
	// converged: true, KL(truth‖fit) < 0.01: true
	// entropy of the first component: 2.6940 nats
}
