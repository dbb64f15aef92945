package llama

import (
	"math"
	"math/rand/v2"
	"testing"
)

// stories260KConfig has the shapes of the stories260K checkpoint.
var stories260KConfig = Config{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}

// randomBatch draws B sequences of T random tokens whose targets are the
// next tokens; maskFrom[b] > 0 removes the targets of the first
// maskFrom[b] positions of sequence b.
func randomBatch(rng *rand.Rand, B, T, vocab int, maskFrom []int) *Batch {
	b := &Batch{B: B, T: T, Inputs: make([]int, B*T), Targets: make([]int, B*T)}
	for s := 0; s < B; s++ {
		seq := randomTokens(rng, T+1, vocab)
		copy(b.Inputs[s*T:], seq[:T])
		copy(b.Targets[s*T:], seq[1:])
		if maskFrom != nil {
			for t := 0; t < maskFrom[s] && t < T; t++ {
				b.Targets[s*T+t] = -1
			}
		}
	}
	return b
}

// refBatchLoss computes the masked mean loss of a batch, and its gradient
// when grads is not nil, with the float64 reference pass.
func refBatchLoss(m *Model, b *Batch, grads []float64) float64 {
	cnt := 0
	for _, t := range b.Targets {
		if t >= 0 {
			cnt++
		}
	}
	var loss float64
	for s := 0; s < b.B; s++ {
		in := b.Inputs[s*b.T : (s+1)*b.T]
		tg := make([]int, b.T)
		wt := make([]float64, b.T)
		for t := range tg {
			if v := b.Targets[s*b.T+t]; v >= 0 {
				tg[t], wt[t] = v, 1/float64(cnt)
			}
		}
		tc, l := m.trainForward(in, tg, wt)
		if grads != nil {
			m.trainBackward(tc, tg, wt, grads)
		}
		loss += l
	}
	return loss
}

func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / den)
}

// TestBatchGradMatchesFloat64 compares the float32 batched gradient with
// the float64 reference on stories260K-shaped models, with and without a
// loss mask, for several worker counts.
func TestBatchGradMatchesFloat64(t *testing.T) {
	cases := []struct {
		name     string
		cfg      Config
		std      float64
		B, T     int
		maskFrom []int
		real     bool
	}{
		{"random full", stories260KConfig, 0.1, 2, 24, nil, false},
		{"random masked", stories260KConfig, 0.1, 3, 16, []int{5, 0, 15}, false},
		{"separate classifier odd dims", Config{Dim: 24, HiddenDim: 37, NLayers: 2, NHeads: 6, NKVHeads: 2, VocabSize: 300, SeqLen: 32}, 0.2, 3, 9, []int{2, 8, 0}, false},
		{"neox partial rope", Config{Dim: 32, HiddenDim: 40, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 270, SeqLen: 32, RopeNeoX: true, RopeDim: 4, SharedClassifier: true}, 0.2, 2, 11, nil, false},
		{"stories260K weights", Config{}, 0, 2, 32, []int{4, 0}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m *Model
			if tc.real {
				m = loadBin(t)
			} else {
				var err error
				if m, err = NewModel(tc.cfg, nil); err != nil {
					t.Fatal(err)
				}
				m.InitRandom(7, tc.std)
			}
			rng := rand.New(rand.NewPCG(3, 9))
			b := randomBatch(rng, tc.B, tc.T, m.Config.VocabSize, tc.maskFrom)
			want := make([]float64, len(m.params))
			wantLoss := refBatchLoss(m, b, want)
			var first []float32
			for _, workers := range []int{1, 2, 3} {
				ws, err := m.NewTrainWorkspace(tc.B, tc.T, workers)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, len(m.params))
				loss, _, err := ws.LossAndGrad(b, got)
				ws.Close()
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(loss-wantLoss) > 1e-5*math.Max(1, wantLoss) {
					t.Errorf("workers %d: loss %.8g, float64 reference %.8g", workers, loss, wantLoss)
				}
				e := relErr(got, want)
				if !(e < 1e-3) {
					t.Errorf("workers %d: gradient relative error %.3g", workers, e)
				}
				if workers == 1 {
					t.Logf("loss %.6f (float64 %.6f), gradient relative error %.2g", loss, wantLoss, e)
				}
				if first == nil {
					first = got
				} else {
					for i := range got {
						if got[i] != first[i] {
							t.Fatalf("workers %d: gradient %d = %g differs from 1 worker (%g)", workers, i, got[i], first[i])
						}
					}
				}
			}
		})
	}
}

// TestBatchGradFiniteDifference checks the float32 batched gradient of a
// masked loss against central differences of the float64 loss.
func TestBatchGradFiniteDifference(t *testing.T) {
	cfg := Config{Dim: 16, HiddenDim: 20, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 64, SeqLen: 16, SharedClassifier: true}
	m, err := NewModel(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(5, 0.3)
	rng := rand.New(rand.NewPCG(1, 2))
	b := randomBatch(rng, 2, 7, cfg.VocabSize, []int{3, 1})
	ws, err := m.NewTrainWorkspace(2, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	grads := make([]float32, len(m.params))
	if _, _, err := ws.LossAndGrad(b, grads); err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for k := 0; k < 200; k++ {
		i := rng.IntN(len(m.params))
		orig := m.params[i]
		const h = 1e-3
		m.params[i] = orig + h
		up := float64(m.params[i])
		lp := refBatchLoss(m, b, nil)
		m.params[i] = orig - h
		down := float64(m.params[i])
		lm := refBatchLoss(m, b, nil)
		m.params[i] = orig
		num := (lp - lm) / (up - down)
		an := float64(grads[i])
		if math.Abs(num-an) > 2e-3*math.Max(math.Abs(num), math.Abs(an))+2e-6 {
			t.Errorf("param %d: analytic %g, numeric %g", i, an, num)
		}
		if an != 0 {
			nonzero++
		}
	}
	if nonzero < 100 {
		t.Errorf("only %d of 200 sampled gradients are non-zero", nonzero)
	}
}
