package llama

import "math"

// CosineSchedule is a learning-rate schedule with linear warm-up followed
// by cosine decay: step s (counted from 0) gets Peak·(s+1)/Warmup while
// s < Warmup, then Min + (Peak−Min)·(1+cos(π·p))/2 with
// p = (s−Warmup)/(Total−Warmup) clamped to [0, 1].
type CosineSchedule struct {
	Peak, Min     float64
	Warmup, Total int
}

// At returns the learning rate of step s.
func (c CosineSchedule) At(s int) float64 {
	if s < c.Warmup {
		return c.Peak * float64(s+1) / float64(c.Warmup)
	}
	span := c.Total - c.Warmup
	if span <= 0 {
		return c.Min
	}
	p := min(max(float64(s-c.Warmup)/float64(span), 0), 1)
	return c.Min + (c.Peak-c.Min)*0.5*(1+math.Cos(math.Pi*p))
}

// ClipGradNorm scales grads in place so that their global L2 norm is at
// most maxNorm (scale maxNorm/(norm+1e-6), as PyTorch's clip_grad_norm_)
// and returns the norm before clipping. maxNorm ≤ 0 only measures the
// norm. The squares are summed in index order in float64.
func ClipGradNorm(grads []float32, maxNorm float64) float64 {
	var ss float64
	for _, g := range grads {
		ss += float64(g) * float64(g)
	}
	norm := math.Sqrt(ss)
	if maxNorm > 0 && norm > maxNorm {
		s := float32(maxNorm / (norm + 1e-6))
		for i := range grads {
			grads[i] *= s
		}
	}
	return norm
}

// AdamW32 is the AdamW optimiser (Adam with decoupled weight decay, as
// torch.optim.AdamW) for float32 gradients, with a per-parameter weight
// decay mask.
type AdamW32 struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// Decay marks the parameters that receive weight decay; nil decays
	// every parameter.
	Decay []bool

	m, v []float32
	t    int
}

// Steps returns the number of updates applied so far.
func (o *AdamW32) Steps() int { return o.t }

// Step applies one update with learning rate lr.
func (o *AdamW32) Step(params, grads []float32, lr float64) error {
	if len(params) != len(grads) {
		return errLen("adamw", len(grads), len(params))
	}
	if o.Decay != nil && len(o.Decay) != len(params) {
		return errLen("adamw decay mask", len(o.Decay), len(params))
	}
	if o.m == nil {
		o.m = make([]float32, len(params))
		o.v = make([]float32, len(params))
	}
	if len(o.m) != len(params) {
		return errLen("adamw state", len(o.m), len(params))
	}
	o.t++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	stepSize := float32(lr / bc1)
	invBC2 := float32(1 / math.Sqrt(bc2))
	eps := float32(o.Eps)
	decay := float32(1 - lr*o.WeightDecay)
	mm, vv := o.m[:len(params)], o.v[:len(params)]
	grads = grads[:len(params)]
	for i, g := range grads {
		mi := b1*mm[i] + (1-b1)*g
		vi := b2*vv[i] + (1-b2)*g*g
		mm[i], vv[i] = mi, vi
		p := params[i]
		if o.Decay == nil || o.Decay[i] {
			p *= decay
		}
		params[i] = p - stepSize*mi/(float32(math.Sqrt(float64(vi)))*invBC2+eps)
	}
	return nil
}
