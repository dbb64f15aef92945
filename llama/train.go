package llama

import (
	"fmt"
	"math"
)

// Training support: an exact backward pass for the same architecture as
// the inference engine (computed in float64 for stable gradients), and an
// AdamW optimiser. Training works on one token sequence at a time; the
// loss is the mean next-token cross-entropy.

// trainLayerCache holds the activations of one block for every position.
type trainLayerCache struct {
	xIn, xn1, q, k, v, o, xMid, xn2, h1, h3, g []float64
	r1, r2                                     []float64 // inverse RMS per position
	att                                        []float64 // [T][n_heads][T] attention probabilities
}

// trainCache holds every activation of a forward pass over T positions.
type trainCache struct {
	T       int
	tokens  []int
	layers  []trainLayerCache
	xLast   []float64 // residual stream before the final norm [T][dim]
	rF      []float64
	xf      []float64 // final normalised hidden states [T][dim]
	probs   []float64 // softmax of the logits [T][vocab]
	cos     []float64 // [T][rope_dim/2]
	sin     []float64
	ropeIdx [][2]int // index pairs rotated within a head
}

// ropePairs returns the index pairs of a head rotated by RoPE.
func (c Config) ropePairs() [][2]int {
	half := c.ropeDim() / 2
	p := make([][2]int, half)
	for j := range p {
		if c.RopeNeoX {
			p[j] = [2]int{j, j + half}
		} else {
			p[j] = [2]int{2 * j, 2*j + 1}
		}
	}
	return p
}

// mm computes out[t][i] = Σ_j w[i][j] x[t][j] for T rows (w is d×n).
func mm(out, x []float64, w []float32, T, n, d int) {
	for t := 0; t < T; t++ {
		xt := x[t*n : (t+1)*n]
		ot := out[t*d : (t+1)*d]
		for i := range ot {
			wi := w[i*n : (i+1)*n]
			var s float64
			for j, xv := range xt {
				s += float64(wi[j]) * xv
			}
			ot[i] = s
		}
	}
}

// mmBack accumulates dx += wᵀ dout and dw += dout ⊗ x over T rows.
func mmBack(dx, dw []float64, dout, x []float64, w []float32, T, n, d int) {
	for t := 0; t < T; t++ {
		xt := x[t*n : (t+1)*n]
		dt := dout[t*d : (t+1)*d]
		var dxt []float64
		if dx != nil {
			dxt = dx[t*n : (t+1)*n]
		}
		for i, g := range dt {
			if g == 0 {
				continue
			}
			wi := w[i*n : (i+1)*n]
			dwi := dw[i*n : (i+1)*n]
			for j, xv := range xt {
				dwi[j] += g * xv
			}
			for j := range dxt { // empty without dx
				dxt[j] += g * float64(wi[j])
			}
		}
	}
}

func rmsForward(out, r []float64, x []float64, w []float32, T, n int, eps float64) {
	for t := 0; t < T; t++ {
		xt := x[t*n : (t+1)*n]
		var ss float64
		for _, v := range xt {
			ss += v * v
		}
		rt := 1 / math.Sqrt(ss/float64(n)+eps)
		r[t] = rt
		for i, v := range xt {
			out[t*n+i] = float64(w[i]) * v * rt
		}
	}
}

// rmsBack accumulates into dx and dw the gradient of y = w·x·r.
func rmsBack(dx, dw, dy, x, r []float64, w []float32, T, n int) {
	for t := 0; t < T; t++ {
		xt := x[t*n : (t+1)*n]
		dyt := dy[t*n : (t+1)*n]
		rt := r[t]
		var dot float64
		for i, v := range xt {
			dot += dyt[i] * float64(w[i]) * v
			dw[i] += dyt[i] * v * rt
		}
		c := rt * rt * rt / float64(n) * dot
		for i, v := range xt {
			dx[t*n+i] += rt*float64(w[i])*dyt[i] - c*v
		}
	}
}

// trainForward runs the model over tokens (positions 0..T-1), caching
// activations, and returns the mean cross-entropy of predicting targets.
//
// weights, when not nil, gives the weight of each position's loss (the
// mean uses 1/T for every position).
func (m *Model) trainForward(tokens, targets []int, weights []float64) (*trainCache, float64) {
	c := m.Config
	T, dim, hid, V := len(tokens), c.Dim, c.HiddenDim, c.VocabSize
	hs, H := c.HeadSize(), c.NHeads
	qd, kvd := H*hs, c.KVDim()
	kvMul := H / c.NKVHeads
	eps := float64(c.eps())
	tc := &trainCache{T: T, tokens: tokens, ropeIdx: c.ropePairs()}
	half := len(tc.ropeIdx)
	tc.cos = make([]float64, T*half)
	tc.sin = make([]float64, T*half)
	for t := 0; t < T; t++ {
		for j, f := range m.ropeFreq {
			tc.cos[t*half+j] = math.Cos(float64(t) * float64(f))
			tc.sin[t*half+j] = math.Sin(float64(t) * float64(f))
		}
	}
	rope := func(vec []float64, width, t int) {
		for h := 0; h < width/hs; h++ {
			head := vec[h*hs : (h+1)*hs]
			for j, p := range tc.ropeIdx {
				a, b := head[p[0]], head[p[1]]
				cs, sn := tc.cos[t*half+j], tc.sin[t*half+j]
				head[p[0]] = a*cs - b*sn
				head[p[1]] = a*sn + b*cs
			}
		}
	}
	x := make([]float64, T*dim)
	for t, tok := range tokens {
		for i, v := range m.w.tokEmb[tok*dim : (tok+1)*dim] {
			x[t*dim+i] = float64(v)
		}
	}
	scale := 1 / math.Sqrt(float64(hs))
	tc.layers = make([]trainLayerCache, c.NLayers)
	for l := range m.w.layers {
		lw := &m.w.layers[l]
		lc := &tc.layers[l]
		lc.xIn = x
		lc.xn1 = make([]float64, T*dim)
		lc.r1 = make([]float64, T)
		rmsForward(lc.xn1, lc.r1, x, lw.attnNorm, T, dim, eps)
		lc.q = make([]float64, T*qd)
		lc.k = make([]float64, T*kvd)
		lc.v = make([]float64, T*kvd)
		mm(lc.q, lc.xn1, lw.wq, T, dim, qd)
		mm(lc.k, lc.xn1, lw.wk, T, dim, kvd)
		mm(lc.v, lc.xn1, lw.wv, T, dim, kvd)
		for t := 0; t < T; t++ {
			rope(lc.q[t*qd:(t+1)*qd], qd, t)
			rope(lc.k[t*kvd:(t+1)*kvd], kvd, t)
		}
		lc.att = make([]float64, T*H*T)
		lc.o = make([]float64, T*qd)
		for t := 0; t < T; t++ {
			for h := 0; h < H; h++ {
				qh := lc.q[t*qd+h*hs : t*qd+(h+1)*hs]
				g := (h / kvMul) * hs
				a := lc.att[(t*H+h)*T : (t*H+h)*T+t+1]
				mx := math.Inf(-1)
				for j := range a {
					kj := lc.k[j*kvd+g : j*kvd+g+hs]
					var s float64
					for i, qv := range qh {
						s += qv * kj[i]
					}
					a[j] = s * scale
					mx = math.Max(mx, a[j])
				}
				var sum float64
				for j := range a {
					a[j] = math.Exp(a[j] - mx)
					sum += a[j]
				}
				oh := lc.o[t*qd+h*hs : t*qd+(h+1)*hs]
				for j := range a {
					a[j] /= sum
					vj := lc.v[j*kvd+g : j*kvd+g+hs]
					for i := range oh {
						oh[i] += a[j] * vj[i]
					}
				}
			}
		}
		att := make([]float64, T*dim)
		mm(att, lc.o, lw.wo, T, qd, dim)
		lc.xMid = make([]float64, T*dim)
		for i := range att {
			lc.xMid[i] = x[i] + att[i]
		}
		lc.xn2 = make([]float64, T*dim)
		lc.r2 = make([]float64, T)
		rmsForward(lc.xn2, lc.r2, lc.xMid, lw.ffnNorm, T, dim, eps)
		lc.h1 = make([]float64, T*hid)
		lc.h3 = make([]float64, T*hid)
		mm(lc.h1, lc.xn2, lw.w1, T, dim, hid)
		mm(lc.h3, lc.xn2, lw.w3, T, dim, hid)
		lc.g = make([]float64, T*hid)
		for i, z := range lc.h1 {
			lc.g[i] = z / (1 + math.Exp(-z)) * lc.h3[i]
		}
		ffn := make([]float64, T*dim)
		mm(ffn, lc.g, lw.w2, T, hid, dim)
		next := make([]float64, T*dim)
		for i := range next {
			next[i] = lc.xMid[i] + ffn[i]
		}
		x = next
	}
	tc.xLast = x
	tc.xf = make([]float64, T*dim)
	tc.rF = make([]float64, T)
	rmsForward(tc.xf, tc.rF, x, m.w.finalNorm, T, dim, eps)
	tc.probs = make([]float64, T*V)
	mm(tc.probs, tc.xf, m.w.wcls, T, dim, V)
	var loss float64
	for t := 0; t < T; t++ {
		p := tc.probs[t*V : (t+1)*V]
		mx := math.Inf(-1)
		for _, v := range p {
			mx = math.Max(mx, v)
		}
		var sum float64
		for i, v := range p {
			p[i] = math.Exp(v - mx)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
		wt := 1 / float64(T)
		if weights != nil {
			wt = weights[t]
		}
		if wt != 0 {
			loss -= wt * math.Log(p[targets[t]])
		}
	}
	return tc, loss
}

// trainBackward accumulates the gradient of the mean loss into grads
// (laid out like the parameters).
func (m *Model) trainBackward(tc *trainCache, targets []int, weights []float64, grads []float64) {
	c := m.Config
	T, dim, hid, V := tc.T, c.Dim, c.HiddenDim, c.VocabSize
	hs, H := c.HeadSize(), c.NHeads
	qd, kvd := H*hs, c.KVDim()
	kvMul := H / c.NKVHeads
	half := len(tc.ropeIdx)
	gw := layoutWeights64(c, grads)
	dlogits := make([]float64, T*V)
	copy(dlogits, tc.probs)
	for t := 0; t < T; t++ {
		dlogits[t*V+targets[t]]--
		wt := 1 / float64(T)
		if weights != nil {
			wt = weights[t]
		}
		for i := t * V; i < (t+1)*V; i++ {
			dlogits[i] *= wt
		}
	}
	dxf := make([]float64, T*dim)
	mmBack(dxf, gw.wcls, dlogits, tc.xf, m.w.wcls, T, dim, V)
	dx := make([]float64, T*dim)
	rmsBack(dx, gw.finalNorm, dxf, tc.xLast, tc.rF, m.w.finalNorm, T, dim)
	ropeBack := func(vec []float64, width, t int) {
		for h := 0; h < width/hs; h++ {
			head := vec[h*hs : (h+1)*hs]
			for j, p := range tc.ropeIdx {
				a, b := head[p[0]], head[p[1]]
				cs, sn := tc.cos[t*half+j], tc.sin[t*half+j]
				head[p[0]] = a*cs + b*sn
				head[p[1]] = -a*sn + b*cs
			}
		}
	}
	scale := 1 / math.Sqrt(float64(hs))
	for l := c.NLayers - 1; l >= 0; l-- {
		lw := &m.w.layers[l]
		lg := &gw.layers[l]
		lc := &tc.layers[l]
		// FFN residual: x = xMid + W2·g.
		dxMid := append([]float64(nil), dx...)
		dg := make([]float64, T*hid)
		mmBack(dg, lg.w2, dx, lc.g, lw.w2, T, hid, dim)
		dh1 := make([]float64, T*hid)
		dh3 := make([]float64, T*hid)
		for i, z := range lc.h1 {
			sig := 1 / (1 + math.Exp(-z))
			dh3[i] = dg[i] * z * sig
			dh1[i] = dg[i] * lc.h3[i] * sig * (1 + z*(1-sig))
		}
		dxn2 := make([]float64, T*dim)
		mmBack(dxn2, lg.w1, dh1, lc.xn2, lw.w1, T, dim, hid)
		mmBack(dxn2, lg.w3, dh3, lc.xn2, lw.w3, T, dim, hid)
		rmsBack(dxMid, lg.ffnNorm, dxn2, lc.xMid, lc.r2, lw.ffnNorm, T, dim)
		// Attention residual: xMid = xIn + Wo·o.
		dxIn := append([]float64(nil), dxMid...)
		do := make([]float64, T*qd)
		mmBack(do, lg.wo, dxMid, lc.o, lw.wo, T, qd, dim)
		dq := make([]float64, T*qd)
		dk := make([]float64, T*kvd)
		dv := make([]float64, T*kvd)
		da := make([]float64, T)
		for t := 0; t < T; t++ {
			for h := 0; h < H; h++ {
				g := (h / kvMul) * hs
				a := lc.att[(t*H+h)*T : (t*H+h)*T+t+1]
				doh := do[t*qd+h*hs : t*qd+(h+1)*hs]
				var sum float64
				for j := range a {
					vj := lc.v[j*kvd+g : j*kvd+g+hs]
					dvj := dv[j*kvd+g : j*kvd+g+hs]
					var s float64
					for i, d := range doh {
						s += d * vj[i]
						dvj[i] += a[j] * d
					}
					da[j] = s
					sum += a[j] * s
				}
				qh := lc.q[t*qd+h*hs : t*qd+(h+1)*hs]
				dqh := dq[t*qd+h*hs : t*qd+(h+1)*hs]
				for j := range a {
					ds := a[j] * (da[j] - sum) * scale
					kj := lc.k[j*kvd+g : j*kvd+g+hs]
					dkj := dk[j*kvd+g : j*kvd+g+hs]
					for i := range qh {
						dqh[i] += ds * kj[i]
						dkj[i] += ds * qh[i]
					}
				}
			}
		}
		for t := 0; t < T; t++ {
			ropeBack(dq[t*qd:(t+1)*qd], qd, t)
			ropeBack(dk[t*kvd:(t+1)*kvd], kvd, t)
		}
		dxn1 := make([]float64, T*dim)
		mmBack(dxn1, lg.wq, dq, lc.xn1, lw.wq, T, dim, qd)
		mmBack(dxn1, lg.wk, dk, lc.xn1, lw.wk, T, dim, kvd)
		mmBack(dxn1, lg.wv, dv, lc.xn1, lw.wv, T, dim, kvd)
		rmsBack(dxIn, lg.attnNorm, dxn1, lc.xIn, lc.r1, lw.attnNorm, T, dim)
		dx = dxIn
	}
	for t, tok := range tc.tokens {
		e := gw.tokEmb[tok*dim : (tok+1)*dim]
		for i := range e {
			e[i] += dx[t*dim+i]
		}
	}
}

// weights64 mirrors weights for a float64 gradient vector.
// checkTrainTokens validates a training sequence.
func (m *Model) checkTrainTokens(tokens []int) error {
	if !m.Config.isPlainLlama() {
		return fmt.Errorf("train: the float64 reference pass supports only the plain llama architecture, not %s (use the float32 path, NewTrainWorkspace)", m.Config.Family())
	}
	if err := m.Dequantize(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if len(tokens) < 2 {
		return fmt.Errorf("train: need at least 2 tokens, have %d", len(tokens))
	}
	if len(tokens)-1 > m.Config.SeqLen {
		return fmt.Errorf("train: %d positions exceed context of %d", len(tokens)-1, m.Config.SeqLen)
	}
	for _, t := range tokens {
		if t < 0 || t >= m.Config.VocabSize {
			return fmt.Errorf("train: token %d outside vocabulary of %d", t, m.Config.VocabSize)
		}
	}
	return nil
}

// Loss returns the mean cross-entropy (natural log) of predicting
// tokens[1:] from the preceding tokens.
func (m *Model) Loss(tokens []int) (float64, error) {
	if err := m.checkTrainTokens(tokens); err != nil {
		return 0, err
	}
	n := len(tokens) - 1
	_, loss := m.trainForward(tokens[:n], tokens[1:], nil)
	return loss, nil
}

// LossAndGrad returns Loss(tokens) and adds its gradient with respect to
// every parameter to grads (of length len(Params()), same layout).
func (m *Model) LossAndGrad(tokens []int, grads []float64) (float64, error) {
	if err := m.checkTrainTokens(tokens); err != nil {
		return 0, err
	}
	if len(grads) != len(m.params) {
		return 0, fmt.Errorf("train: %d gradients for %d parameters", len(grads), len(m.params))
	}
	n := len(tokens) - 1
	tc, loss := m.trainForward(tokens[:n], tokens[1:], nil)
	m.trainBackward(tc, tokens[1:], nil, grads)
	return loss, nil
}

// AdamW holds the hyper-parameters and moment estimates of the AdamW
// optimiser (Adam with decoupled weight decay).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	m, v []float64
	t    int
}

// NewAdamW returns an optimiser with the usual defaults (β1 0.9, β2 0.999,
// ε 1e-8) for the given learning rate and weight decay.
func NewAdamW(lr, weightDecay float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay}
}

// Step updates params in place using grads.
func (o *AdamW) Step(params []float32, grads []float64) error {
	if len(params) != len(grads) {
		return fmt.Errorf("adamw: %d gradients for %d parameters", len(grads), len(params))
	}
	if o.m == nil {
		o.m = make([]float64, len(params))
		o.v = make([]float64, len(params))
	}
	if len(o.m) != len(params) {
		return fmt.Errorf("adamw: optimiser state for %d parameters, got %d", len(o.m), len(params))
	}
	o.t++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	for i, g := range grads {
		o.m[i] = o.Beta1*o.m[i] + (1-o.Beta1)*g
		o.v[i] = o.Beta2*o.v[i] + (1-o.Beta2)*g*g
		p := float64(params[i])
		p -= o.LR * (o.m[i]/bc1/(math.Sqrt(o.v[i]/bc2)+o.Eps) + o.WeightDecay*p)
		params[i] = float32(p)
	}
	return nil
}

// TrainStep computes the gradient of the loss on tokens, applies one AdamW
// step to the model's parameters and returns the loss before the update.
// The model must not be used concurrently while training.
func (m *Model) TrainStep(opt *AdamW, tokens []int) (float64, error) {
	grads := make([]float64, len(m.params))
	loss, err := m.LossAndGrad(tokens, grads)
	if err != nil {
		return 0, err
	}
	return loss, opt.Step(m.params, grads)
}
