package llama

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Example is one text training record: the model learns to produce
// Response after Prompt.
type Example struct {
	Prompt, Response string
}

// Sequence is one tokenized training record. Loss[i] tells whether token
// i is predicted in the loss (Loss[0] is ignored: the first token has no
// context); nil means every token after the first.
type Sequence struct {
	Tokens []int
	Loss   []bool
}

// EncodeExamples tokenizes records as BOS, the prompt (with the usual
// dummy-prefix space), the response (raw, so include its leading space)
// and EOS. With responseOnly the loss covers only the response tokens and
// EOS; otherwise every token after BOS.
func EncodeExamples(tok TextTokenizer, exs []Example, responseOnly bool) ([]Sequence, error) {
	if tok == nil {
		return nil, ErrNoTokenizer
	}
	out := make([]Sequence, 0, len(exs))
	for i, ex := range exs {
		p := tok.Encode(ex.Prompt, true, false)
		r := tok.EncodeRaw(ex.Response)
		if eos := tok.EOSID(); eos >= 0 {
			r = append(r, eos)
		}
		s := Sequence{Tokens: append(p, r...)}
		if responseOnly {
			s.Loss = make([]bool, len(s.Tokens))
			for j := len(p); j < len(s.Loss); j++ {
				s.Loss[j] = true
			}
		}
		if len(s.Tokens) < 2 {
			return nil, fmt.Errorf("example %d: fewer than 2 tokens", i)
		}
		out = append(out, s)
	}
	return out, nil
}

// TrainConfig controls a training run.
type TrainConfig struct {
	// BatchSize sequences of SeqLen positions per step.
	BatchSize, SeqLen int
	// Steps is the number of optimiser steps of Run.
	Steps int
	// LR is the peak learning rate, MinLR the final one of the cosine
	// decay, WarmupSteps the length of the linear warm-up.
	LR, MinLR   float64
	WarmupSteps int
	// AdamW settings (β1 0.9, β2 0.95, ε 1e-8 when zero). WeightDecay
	// applies to matrices and embeddings, never to RMSNorm weights.
	Beta1, Beta2, Eps, WeightDecay float64
	// ClipNorm clips the global gradient norm (0 disables clipping).
	ClipNorm float64
	// Pack concatenates the records into one stream cut into rows of
	// SeqLen+1 tokens; otherwise each record fills one row (truncated to
	// SeqLen+1 tokens) and the rest of the row is padding without loss.
	Pack bool
	// EvalEvery evaluates the held-out set every EvalEvery steps and after
	// the last step (0: only after the last step, when an eval set is given).
	EvalEvery int
	// Seed fixes the order of the data; equal seeds give equal runs.
	Seed uint64
	// Workers is the number of goroutines (GOMAXPROCS when ≤ 0); results
	// do not depend on it.
	Workers int
	// OnStep, when not nil, is called after every step with its metrics.
	OnStep func(StepMetrics)
}

// StepMetrics describes one training step.
type StepMetrics struct {
	Step     int     // 1-based step number
	LR       float64 // learning rate used
	Loss     float64 // mean training loss of the batch (before the update)
	GradNorm float64 // global gradient norm before clipping
	Tokens   int     // positions with a target in the batch
	// EvalLoss and EvalPPL are the held-out loss and perplexity, NaN when
	// not evaluated at this step.
	EvalLoss, EvalPPL float64
	Elapsed           time.Duration // time since the trainer was created
}

// Trainer runs full-parameter training of a model with the float32
// batched pass, AdamW, gradient clipping and a warm-up + cosine schedule.
type Trainer struct {
	Model *Model
	cfg   TrainConfig
	sched CosineSchedule
	ws    *TrainWorkspace
	grads []float32
	opt   *AdamW32

	train, eval [][2][]int // rows: inputs, targets (length SeqLen each)
	order       []int
	pos, epoch  int
	batch       Batch
	step        int
	start       time.Time
}

func errLen(what string, got, want int) error {
	return fmt.Errorf("%s: %d values for %d parameters", what, got, want)
}

// NewRandomModel returns a model of shape cfg with seeded random weights
// (see [Model.InitRandom] with the default standard deviation).
func NewRandomModel(cfg Config, tok TextTokenizer, seed uint64) (*Model, error) {
	if tok != nil && tok.VocabSize() != cfg.VocabSize {
		return nil, fmt.Errorf("tokenizer has %d tokens, config %d", tok.VocabSize(), cfg.VocabSize)
	}
	m, err := NewModel(cfg, tok)
	if err != nil {
		return nil, err
	}
	m.InitRandom(seed, 0)
	return m, nil
}

// NewTrainer prepares training of m on train, evaluating on eval (may be
// empty). The model's weights are updated in place by Step and Run.
func NewTrainer(m *Model, train, eval []Sequence, cfg TrainConfig) (*Trainer, error) {
	if m == nil {
		return nil, errors.New("trainer: nil model")
	}
	if cfg.SeqLen <= 0 {
		cfg.SeqLen = m.Config.SeqLen
	}
	if cfg.BatchSize <= 0 || cfg.SeqLen > m.Config.SeqLen {
		return nil, fmt.Errorf("trainer: batch %d×%d invalid for context %d", cfg.BatchSize, cfg.SeqLen, m.Config.SeqLen)
	}
	if cfg.Steps < 0 || cfg.WarmupSteps < 0 || cfg.EvalEvery < 0 {
		return nil, fmt.Errorf("trainer: negative steps, warm-up or eval interval")
	}
	if !(cfg.LR > 0) || cfg.MinLR < 0 || cfg.MinLR > cfg.LR || cfg.WeightDecay < 0 || cfg.ClipNorm < 0 {
		return nil, fmt.Errorf("trainer: invalid learning rate %g / %g, weight decay %g or clip %g", cfg.LR, cfg.MinLR, cfg.WeightDecay, cfg.ClipNorm)
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.95
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 || cfg.Eps < 0 {
		return nil, fmt.Errorf("trainer: invalid AdamW β1 %g, β2 %g or ε %g", cfg.Beta1, cfg.Beta2, cfg.Eps)
	}
	t := &Trainer{Model: m, cfg: cfg, start: time.Now()}
	var err error
	if t.train, err = buildRows(train, m.Config.VocabSize, cfg.SeqLen, cfg.Pack, cfg.Seed); err != nil {
		return nil, fmt.Errorf("trainer: training data: %w", err)
	}
	if len(t.train) == 0 {
		return nil, errors.New("trainer: no training rows")
	}
	if t.eval, err = buildRows(eval, m.Config.VocabSize, cfg.SeqLen, cfg.Pack, cfg.Seed); err != nil {
		return nil, fmt.Errorf("trainer: eval data: %w", err)
	}
	t.sched = CosineSchedule{Peak: cfg.LR, Min: cfg.MinLR, Warmup: cfg.WarmupSteps, Total: cfg.Steps}
	if t.ws, err = m.NewTrainWorkspace(cfg.BatchSize, cfg.SeqLen, cfg.Workers); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	t.grads = make([]float32, len(m.params))
	t.opt = &AdamW32{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay, Decay: decayMask(m)}
	n := cfg.BatchSize * cfg.SeqLen
	t.batch = Batch{B: cfg.BatchSize, T: cfg.SeqLen, Inputs: make([]int, n), Targets: make([]int, n)}
	t.order = make([]int, len(t.train))
	t.shuffle()
	return t, nil
}

// Close releases the trainer's worker goroutines.
func (t *Trainer) Close() { t.ws.Close() }

// decayMask marks every parameter except the normalisation weights and
// biases and the other biases.
func decayMask(m *Model) []bool {
	marks := make([]float32, len(m.params))
	w := layoutWeights(m.Config, marks)
	for l := range w.layers {
		lw := &w.layers[l]
		for _, t := range [][]float32{lw.attnNorm, lw.attnNormB, lw.bq, lw.bk, lw.bv, lw.bo, lw.ffnNorm, lw.ffnNormB, lw.b1, lw.b2} {
			ones(t)
		}
	}
	ones(w.finalNorm)
	ones(w.finalNormB)
	mask := make([]bool, len(marks))
	for i, v := range marks {
		mask[i] = v == 0
	}
	return mask
}

// buildRows turns sequences into training rows of T inputs and T targets
// (−1 where there is no loss). Packing shuffles the records with seed
// and concatenates them.
func buildRows(seqs []Sequence, vocab, T int, pack bool, seed uint64) ([][2][]int, error) {
	for i, s := range seqs {
		if s.Loss != nil && len(s.Loss) != len(s.Tokens) {
			return nil, fmt.Errorf("sequence %d: %d loss flags for %d tokens", i, len(s.Loss), len(s.Tokens))
		}
		for _, tok := range s.Tokens {
			if tok < 0 || tok >= vocab {
				return nil, fmt.Errorf("sequence %d: token %d outside vocabulary of %d", i, tok, vocab)
			}
		}
	}
	target := func(s Sequence, j int) int {
		if j == 0 || (s.Loss != nil && !s.Loss[j]) {
			return -1
		}
		return s.Tokens[j]
	}
	var rows [][2][]int
	if !pack {
		for _, s := range seqs {
			if len(s.Tokens) < 2 {
				continue
			}
			in, tg := make([]int, T), make([]int, T)
			n := min(len(s.Tokens)-1, T)
			for j := 0; j < T; j++ {
				if j < n {
					in[j], tg[j] = s.Tokens[j], target(s, j+1)
				} else {
					in[j], tg[j] = s.Tokens[len(s.Tokens)-1], -1
				}
			}
			rows = append(rows, [2][]int{in, tg})
		}
		return rows, nil
	}
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0x7061636b))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var toks, tgts []int
	for _, i := range order {
		s := seqs[i]
		for j, tok := range s.Tokens {
			toks = append(toks, tok)
			tgts = append(tgts, target(s, j))
		}
	}
	// Row r covers stream positions [r·T, r·T+T] (inputs are the first T,
	// targets the last T); the final partial row is padded.
	for off := 0; off+1 < len(toks); off += T {
		in, tg := make([]int, T), make([]int, T)
		for j := 0; j < T; j++ {
			if off+j+1 < len(toks) {
				in[j], tg[j] = toks[off+j], tgts[off+j+1]
			} else {
				in[j], tg[j] = toks[len(toks)-1], -1
			}
		}
		rows = append(rows, [2][]int{in, tg})
	}
	return rows, nil
}

// shuffle draws the row order of the current epoch.
func (t *Trainer) shuffle() {
	for i := range t.order {
		t.order[i] = i
	}
	rng := rand.New(rand.NewPCG(t.cfg.Seed, uint64(t.epoch)))
	rng.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
}

// nextBatch fills the batch with the next rows of the shuffled epoch.
func (t *Trainer) nextBatch() *Batch {
	T := t.cfg.SeqLen
	for b := 0; b < t.cfg.BatchSize; b++ {
		if t.pos == len(t.order) {
			t.epoch++
			t.pos = 0
			t.shuffle()
		}
		r := t.train[t.order[t.pos]]
		t.pos++
		copy(t.batch.Inputs[b*T:(b+1)*T], r[0])
		copy(t.batch.Targets[b*T:(b+1)*T], r[1])
	}
	return &t.batch
}

// Step runs one training step (forward, backward, clipping, AdamW with
// the scheduled learning rate) and returns its metrics (without
// evaluation; see Run).
func (t *Trainer) Step() (StepMetrics, error) {
	b := t.nextBatch()
	loss, n, err := t.ws.LossAndGrad(b, t.grads)
	if err != nil {
		return StepMetrics{}, err
	}
	norm := ClipGradNorm(t.grads, t.cfg.ClipNorm)
	lr := t.sched.At(t.step)
	if math.IsNaN(loss) || math.IsInf(norm, 0) || math.IsNaN(norm) {
		return StepMetrics{}, fmt.Errorf("trainer: step %d: loss %g, gradient norm %g", t.step+1, loss, norm)
	}
	if err := t.opt.Step(t.Model.params, t.grads, lr); err != nil {
		return StepMetrics{}, err
	}
	t.step++
	return StepMetrics{Step: t.step, LR: lr, Loss: loss, GradNorm: norm, Tokens: n,
		EvalLoss: math.NaN(), EvalPPL: math.NaN(), Elapsed: time.Since(t.start)}, nil
}

// Evaluate returns the mean loss per target token on the held-out rows
// and the perplexity exp(loss). It returns NaN values when there is no
// held-out data.
func (t *Trainer) Evaluate() (loss, ppl float64, err error) {
	T, B := t.cfg.SeqLen, t.cfg.BatchSize
	var sum float64
	total := 0
	for r0 := 0; r0 < len(t.eval); r0 += B {
		nb := min(B, len(t.eval)-r0)
		b := Batch{B: nb, T: T, Inputs: t.batch.Inputs[:nb*T], Targets: t.batch.Targets[:nb*T]}
		for i := 0; i < nb; i++ {
			copy(b.Inputs[i*T:], t.eval[r0+i][0])
			copy(b.Targets[i*T:], t.eval[r0+i][1])
		}
		l, n, err := t.ws.Loss(&b)
		if err != nil {
			return 0, 0, err
		}
		sum += l * float64(n)
		total += n
	}
	if total == 0 {
		return math.NaN(), math.NaN(), nil
	}
	loss = sum / float64(total)
	return loss, math.Exp(loss), nil
}

// Run performs the configured number of steps, evaluating every
// EvalEvery steps and after the last one, calling OnStep after each step,
// and returns the metrics of the last step.
func (t *Trainer) Run() (StepMetrics, error) {
	var last StepMetrics
	for i := 0; i < t.cfg.Steps; i++ {
		sm, err := t.Step()
		if err != nil {
			return last, err
		}
		if len(t.eval) > 0 && ((t.cfg.EvalEvery > 0 && sm.Step%t.cfg.EvalEvery == 0) || i == t.cfg.Steps-1) {
			if sm.EvalLoss, sm.EvalPPL, err = t.Evaluate(); err != nil {
				return last, err
			}
		}
		if t.cfg.OnStep != nil {
			t.cfg.OnStep(sm)
		}
		last = sm
	}
	return last, nil
}
