package llama

import (
	"math"
	"math/rand/v2"
)

// InitRandom sets every weight from a seeded normal distribution with the
// given standard deviation (0.02 when std ≤ 0) and the RMSNorm weights to 1,
// the usual initialisation for training from scratch. Output projections
// (attention output and feed-forward down) are scaled by 1/sqrt(2·layers)
// as in GPT-2. Equal seeds give equal weights.
func (m *Model) InitRandom(seed uint64, std float64) {
	if std <= 0 {
		std = 0.02
	}
	m.mustF32()
	rng := rand.New(rand.NewPCG(seed, 0x6c6c616d61))
	fill := func(s []float32, sd float64) {
		for i := range s {
			s[i] = float32(rng.NormFloat64() * sd)
		}
	}
	res := std / math.Sqrt(2*float64(max(m.Config.NLayers, 1)))
	fill(m.w.tokEmb, std)
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		ones(lw.attnNorm)
		fill(lw.wq, std)
		fill(lw.wk, std)
		fill(lw.wv, std)
		fill(lw.wo, res)
		ones(lw.ffnNorm)
		fill(lw.w1, std)
		fill(lw.w2, res)
		fill(lw.w3, std)
	}
	ones(m.w.finalNorm)
	if !m.Config.SharedClassifier {
		fill(m.w.wcls, std)
	}
}

func ones(s []float32) {
	for i := range s {
		s[i] = 1
	}
}
