package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The ensemble weights meet their constraints and equal numpy's least-norm
// solution Aᵀ(AAᵀ)⁻¹e₁ (numpy.linalg.solve, float64, k = 1…10, J = 1).
func TestEnsembleWeights(t *testing.T) {
	numpy3 := []float64{0.5471742285863217, 0.41494270487134705, 0.3047497684422008,
		0.20680049161629377, 0.11701365452587797, 0.03321260657482317,
		-0.0459328276011729, -0.12130943157830809, -0.19354534372306753, -0.26310585171431633}
	for _, d := range []int{1, 2, 3, 5, 10} {
		w, err := ensembleWeights(d, 10)
		if err != nil {
			t.Fatal(err)
		}
		var sum, bias float64
		for i, wk := range w {
			k := float64(i + 1)
			lg, _ := math.Lgamma(k + 2/float64(d))
			lk, _ := math.Lgamma(k)
			sum += wk
			bias += wk * math.Exp(lg-lk)
		}
		near(t, "Σw", sum, 1, 1e-12)
		near(t, "Σw·Γ(k+2/d)/Γ(k)", bias, 0, 1e-12)
		if d == 3 {
			for i := range w {
				near(t, "w_k (3-D)", w[i], numpy3[i], 1e-12)
			}
		}
	}
	if _, err := ensembleWeights(3, 1); err == nil {
		t.Error("one neighbour accepted for an ensemble")
	}
}

// The ensemble entropy and KL against the Gaussians' closed forms, with
// fixed seeds; tolerances are about three standard deviations of the
// estimate (measured over 300 replicates at n = 1,000, scaled to the n
// here).
func TestKNNEnsembleGaussians(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 7))
	v := []float64{1, 2, 3}
	x := gaussRows(rng, 3000, []float64{0, 0, 0}, v)
	r, err := KLEntropyOpt(x, KNNEntropyOptions{Method: "ensemble", CI: KNNInterval{Resamples: 20, Seed: 1, BiasAware: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.5 * math.Log(math.Pow(2*math.Pi*math.E, 3)*v[0]*v[1]*v[2])
	near(t, "ensemble H (3-D)", r.Value, want, 0.1)
	if r.Settings["method"] != "ensemble" || r.ApproximateCI() != "" {
		t.Errorf("settings %v", r.Settings)
	}
	if !r.CI95.Contains(r.Value) {
		t.Errorf("interval %v excludes the estimate %g", r.CI95, r.Value)
	}
	// auto picks the ensemble in 3-D and the fixed-k estimator in 12-D
	// (marked approximate there).
	a, err := KLEntropyOpt(x, KNNEntropyOptions{CI: KNNInterval{Resamples: 20, Seed: 1, BiasAware: true}})
	if err != nil || a.Value != r.Value {
		t.Errorf("auto in 3-D: %g (%v), ensemble %g", a.Value, err, r.Value)
	}
	h12, err := KLEntropyOpt(gauss(rng, 500, 12, 0, 1), KNNEntropyOptions{CI: KNNInterval{Resamples: 10, Seed: 1}})
	if err != nil || h12.Settings["method"] != "fixed-k" || h12.ApproximateCI() == "" {
		t.Errorf("auto in 12-D: %v, %v", h12.Settings, err)
	}

	// KL: mean shift (KL = ‖μ‖²/2 = 1) and a broader Q
	// (d/2·(σ²_P/σ²_Q − 1 − log(σ²_P/σ²_Q)) = 0.2897 for σ²_Q = 2 in 3-D).
	for _, tc := range []struct {
		name    string
		muP, vQ []float64
		want    float64
		tol     float64
	}{
		{"mean shift", []float64{1, 1, 0}, []float64{1, 1, 1}, 1, 0.15},
		{"Q broader", []float64{0, 0, 0}, []float64{2, 2, 2}, 1.5 * (0.5 - 1 - math.Log(0.5)), 0.1},
	} {
		p := gaussRows(rng, 2000, tc.muP, []float64{1, 1, 1})
		q := gaussRows(rng, 2000, []float64{0, 0, 0}, tc.vQ)
		r, err := KLDivergenceOpt(p, q, KNNKLOptions{Method: "ensemble", CI: KNNInterval{Resamples: 20, Seed: 2}})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "ensemble KL, "+tc.name, r.Value, tc.want, tc.tol)
		if r.ApproximateCI() == "" {
			t.Errorf("%s: the k-NN KL interval is not marked approximate", tc.name)
		}
	}
	if _, err := KLEntropyOpt(x[:8], KNNEntropyOptions{Method: "ensemble"}); err == nil {
		t.Error("ensemble on 8 points accepted")
	}
	if _, err := KLDivergenceOpt(x, x, KNNKLOptions{Method: "nonsense"}); err == nil {
		t.Error("unknown method accepted")
	}
}
