package llama

import (
	"fmt"
	"math"
)

// State holds the activations and key/value cache of one sequence. It is
// not safe for concurrent use; create one State per goroutine.
type State struct {
	m *Model

	x      []float32 // residual stream [dim]
	xb     []float32 // normalised / attention output [max(dim, q_dim)]
	xb2    []float32 // [dim]
	hb     []float32 // [hidden]
	hb2    []float32 // [hidden]
	q      []float32 // [q_dim]
	att    []float32 // [n_heads][seq_len]
	logits []float32 // [vocab]

	ropeCos    []float32 // [rope_dim/2] rotation of the current position
	ropeSin    []float32
	ctx        int       // positions held by the cache
	keyCache   []float32 // [n_layers][ctx][kv_dim] (nil with an f16 cache)
	valueCache []float32 // [n_layers][ctx][kv_dim]
	h          *kv16     // the f16 cache (kvcache.go), or nil

	eng *engine // threads and scratch of the matrix products
}

// NewState allocates the buffers needed to run the model on one sequence
// of up to Config.SeqLen positions.
func (m *Model) NewState() *State { return m.NewStateN(m.Config.SeqLen) }

// NewStateN is NewState with a key/value cache for only n positions
// (clamped to [1, Config.SeqLen]), to save memory with long-context models.
func (m *Model) NewStateN(n int) *State { return m.newState(n, m.Threads()) }

// newState is NewStateN with the given number of threads.
func (m *Model) newState(n, threads int) *State {
	c := m.Config
	n = min(max(n, 1), c.SeqLen)
	qd := c.NHeads * c.HeadSize()
	kvd := c.KVDim()
	s := &State{
		m:       m,
		x:       make([]float32, c.Dim),
		xb:      make([]float32, max(c.Dim, qd)),
		xb2:     make([]float32, c.Dim),
		hb:      make([]float32, c.HiddenDim),
		hb2:     make([]float32, c.HiddenDim),
		q:       make([]float32, qd),
		att:     make([]float32, c.NHeads*n),
		logits:  make([]float32, c.VocabSize),
		ctx:     n,
		ropeCos: make([]float32, len(m.ropeFreq)),
		ropeSin: make([]float32, len(m.ropeFreq)),
	}
	if m.KVCacheType() == GGMLTypeF16 {
		s.h = newKV16(c.NLayers, n, kvd)
	} else {
		s.keyCache = make([]float32, c.NLayers*n*kvd)
		s.valueCache = make([]float32, c.NLayers*n*kvd)
	}
	s.eng = newEngine(s, threads)
	return s
}

// Hidden returns the final normalised hidden state computed by the last
// call to Forward (valid until the next call).
func (s *State) Hidden() []float32 { return s.x }

// Forward runs the transformer on token at position pos (positions must be
// fed in order 0, 1, 2, ... for one sequence; the cache entries for
// positions > pos are ignored). It returns the logits over the vocabulary,
// valid until the next call. The returned slice is owned by the State.
func (s *State) Forward(token, pos int) ([]float32, error) {
	if err := s.forwardHidden(token, pos); err != nil {
		return nil, err
	}
	s.linear(s.logits, s.x, &s.m.inf.wcls)
	return s.logits, nil
}

// ForwardNoLogits is Forward without the classifier, for prompt tokens
// whose logits are not needed. The final hidden state is still available
// through Hidden.
func (s *State) ForwardNoLogits(token, pos int) error {
	return s.forwardHidden(token, pos)
}

func (s *State) forwardHidden(token, pos int) error {
	m := s.m
	c := &m.Config
	if token < 0 || token >= c.VocabSize {
		return fmt.Errorf("token %d outside vocabulary of %d", token, c.VocabSize)
	}
	if pos < 0 || pos >= s.ctx {
		return fmt.Errorf("position %d outside context of %d", pos, s.ctx)
	}
	dim := c.Dim
	hs := c.HeadSize()
	qd := c.NHeads * hs
	eps := c.eps()

	rope := !c.LearnedPos
	if rope {
		for j, f := range m.ropeFreq {
			val := float32(pos) * f
			s.ropeCos[j] = float32(math.Cos(float64(val)))
			s.ropeSin[j] = float32(math.Sin(float64(val)))
		}
	}
	x := s.x
	m.inf.embedRow(x, token)
	if c.LearnedPos {
		addTo(x, m.inf.posEmb[pos*dim:(pos+1)*dim])
	}
	xb := s.xb[:dim]
	for l := range m.inf.layers {
		lw := &m.inf.layers[l]
		s.norm(xb, x, lw.attnNorm, lw.attnNormB, eps)

		k, v := s.kvSlot(l, pos, nil, nil)
		q := s.q
		s.linear(q, xb, &lw.wq)
		s.linearSame(k, xb, &lw.wk)
		s.linearSame(v, xb, &lw.wv)
		if c.QKVBias {
			addTo(q, lw.bq)
			addTo(k, lw.bk)
			addTo(v, lw.bv)
		}
		if rope {
			s.rope(q)
			s.rope(k)
		}

		// Multi-head attention over positions 0..pos. The sums run in
		// position order with one accumulator, like the reference.
		xo := s.xb[:qd]
		s.kvPut(l, pos, k, v)
		keys, vals := s.kvPrefix(l, pos+1, nil, nil)
		attendRow(c, q, keys, vals, s.att[:c.NHeads*(pos+1)], xo, pos+1)
		s.linear(s.xb2, xo, &lw.wo)
		if c.OutBias {
			addTo(s.xb2, lw.bo)
		}
		for i := range x {
			x[i] += s.xb2[i]
		}

		s.norm(xb, x, lw.ffnNorm, lw.ffnNormB, eps)
		if c.GELU {
			// GELU feed-forward with biases.
			s.linear(s.hb, xb, &lw.w1)
			addTo(s.hb, lw.b1)
			geluInPlace(s.hb)
			s.linear(xb, s.hb, &lw.w2)
			addTo(xb, lw.b2)
		} else {
			// SwiGLU feed-forward.
			s.linear(s.hb, xb, &lw.w1)
			s.linearSame(s.hb2, xb, &lw.w3)
			hb2 := s.hb2[:len(s.hb)]
			for i, g := range s.hb {
				e := exp32(-g)
				g *= 1 / (1 + e)
				s.hb[i] = g * hb2[i]
			}
			s.linear(xb, s.hb, &lw.w2)
		}
		for i := range x {
			x[i] += xb[i]
		}
	}
	s.norm(x, x, m.inf.finalNorm, m.inf.finalNormB, eps)
	return nil
}

// norm applies the model's normalisation (RMSNorm, or LayerNorm with
// bias b) to x, writing out (out may alias x).
func (s *State) norm(out, x, w, b []float32, eps float32) {
	if s.m.Config.LayerNorm {
		layernorm(out, x, w, b, eps)
		return
	}
	rmsnorm(out, x, w, eps)
}

// layernorm writes w·(x − mean)/sqrt(var + eps) + b to out (out may
// alias x); the variance is the biased one, as in PyTorch.
func layernorm(out, x, w, b []float32, eps float32) {
	n := len(x)
	var mean float32
	for _, v := range x {
		mean += v
	}
	mean /= float32(n)
	var vr float32
	for _, v := range x {
		d := v - mean
		vr += d * d
	}
	vr /= float32(n)
	r := float32(1 / math.Sqrt(float64(vr+eps)))
	w, b, out = w[:n], b[:n], out[:n]
	for i, v := range x {
		out[i] = w[i]*((v-mean)*r) + b[i]
	}
}

// geluC is sqrt(2/π) of the tanh approximation of GELU.
const geluC = 0.7978845608028654

// geluInPlace applies the tanh-approximated GELU,
// 0.5·x·(1 + tanh(c·(x + 0.044715·x³))) = x·σ(2c·(x + 0.044715·x³)).
func geluInPlace(x []float32) {
	for i, v := range x {
		u := 2 * geluC * (v + 0.044715*v*v*v)
		x[i] = v / (1 + exp32(-u))
	}
}

// addTo adds b to a element-wise (len(b) ≥ len(a)).
func addTo(a, b []float32) {
	b = b[:len(a)]
	for i, v := range b {
		a[i] += v
	}
}

// rope rotates each head of vec (query or key projection) by the angles
// of the current position.
func (s *State) rope(vec []float32) {
	c := &s.m.Config
	hs := c.HeadSize()
	cs, sn := s.ropeCos, s.ropeSin
	half := len(cs)
	for h := 0; h+hs <= len(vec); h += hs {
		head := vec[h : h+hs]
		if c.RopeNeoX {
			for j := 0; j < half; j++ {
				v0, v1 := head[j], head[j+half]
				head[j] = v0*cs[j] - v1*sn[j]
				head[j+half] = v0*sn[j] + v1*cs[j]
			}
			continue
		}
		for j := 0; j < half; j++ {
			v0, v1 := head[2*j], head[2*j+1]
			head[2*j] = v0*cs[j] - v1*sn[j]
			head[2*j+1] = v0*sn[j] + v1*cs[j]
		}
	}
}

// rmsnorm writes weight * x / sqrt(mean(x²) + eps) to out (out may alias x).
func rmsnorm(out, x, weight []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	ss /= float32(len(x))
	ss += eps
	ss = float32(1 / math.Sqrt(float64(ss)))
	weight = weight[:len(x)]
	out = out[:len(x)]
	for i, v := range x {
		out[i] = weight[i] * (ss * v)
	}
}

// dot returns Σ a[i]·b[i] summed in index order (len(b) ≥ len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy adds a·x to y element-wise (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// matmul computes out[i] = Σ_j w[i*n+j]·x[j] for i < d. Four rows are
// processed together so that each x[j] load feeds four independent
// multiply-adds (eight rows spill registers and run slower), while
// each row keeps a single accumulator summed in index order.
func matmul(out, x, w []float32, n, d int) {
	x = x[:n]
	out = out[:d]
	w = w[:n*d]
	i := 0
	for ; i+4 <= d; i += 4 {
		w0 := w[i*n:][:len(x)]
		w1 := w[(i+1)*n:][:len(x)]
		w2 := w[(i+2)*n:][:len(x)]
		w3 := w[(i+3)*n:][:len(x)]
		var s0, s1, s2, s3 float32
		for j, xv := range x {
			s0 += w0[j] * xv
			s1 += w1[j] * xv
			s2 += w2[j] * xv
			s3 += w3[j] * xv
		}
		out[i], out[i+1], out[i+2], out[i+3] = s0, s1, s2, s3
	}
	for ; i < d; i++ {
		wi := w[i*n:][:len(x)]
		var s float32
		for j, xv := range x {
			s += wi[j] * xv
		}
		out[i] = s
	}
}
