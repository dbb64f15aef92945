package gmm

import (
	"math"
	"math/rand/v2"
)

// Estimate is a Monte-Carlo estimate: the sample mean of N independent
// terms and its standard error (sample standard deviation / √N).
type Estimate struct {
	Value float64 `json:"value"`
	SE    float64 `json:"se"`
	N     int     `json:"n"`
}

// MeanSE summarises independent terms as an [Estimate].
func MeanSE(v []float64) Estimate {
	n := len(v)
	if n == 0 {
		return Estimate{Value: math.NaN(), SE: math.NaN()}
	}
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(n)
	if n == 1 {
		return Estimate{Value: mean, SE: math.Inf(1), N: 1}
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return Estimate{Value: mean, SE: math.Sqrt(ss / float64(n-1) / float64(n)), N: n}
}

// KLTerms returns the terms log p(x_i) − log q(x_i) of the Monte-Carlo KL
// estimator, given both log-densities at points drawn from P.
func KLTerms(logp, logq []float64) []float64 {
	t := make([]float64, len(logp))
	for i := range logp {
		t[i] = logp[i] - logq[i]
	}
	return t
}

// TVTerms returns the terms (1 − q(x_i)/p(x_i))₊ of the Monte-Carlo total
// variation estimator, given both log-densities at points drawn from P.
// Their mean estimates TV(P,Q) = ∫(p − q)₊ without bias, and every term lies
// in [0, 1].
func TVTerms(logp, logq []float64) []float64 {
	t := make([]float64, len(logp))
	for i := range logp {
		r := 1 - math.Exp(logq[i]-logp[i])
		if r > 0 {
			t[i] = r
		}
	}
	return t
}

// EntropyTerms returns −log p(x_i), whose mean estimates the differential
// entropy of P when the points are drawn from P.
func EntropyTerms(logp []float64) []float64 {
	t := make([]float64, len(logp))
	for i, v := range logp {
		t[i] = -v
	}
	return t
}

// KL estimates KL(P‖Q) = E_P[log p − log q] from n draws of P.
func KL(rng *rand.Rand, p, q *Mixture, n int) Estimate {
	x, _ := p.Sample(rng, n)
	return MeanSE(KLTerms(p.LogProbs(x, nil), q.LogProbs(x, nil)))
}

// TV estimates the total variation distance E_P[(1 − q/p)₊] from n draws of P.
func TV(rng *rand.Rand, p, q *Mixture, n int) Estimate {
	x, _ := p.Sample(rng, n)
	return MeanSE(TVTerms(p.LogProbs(x, nil), q.LogProbs(x, nil)))
}

// Entropy estimates the differential entropy −E_P[log p] in nats from n
// draws of P.
func Entropy(rng *rand.Rand, p *Mixture, n int) Estimate {
	x, _ := p.Sample(rng, n)
	return MeanSE(EntropyTerms(p.LogProbs(x, nil)))
}
