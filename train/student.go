package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/progress"
)

// Shape is the architecture of a student trained from scratch. The
// vocabulary comes from the tokenizer of Options.Base (or
// Options.Tokenizer).
type Shape struct {
	Dim    int // residual width
	Hidden int // SwiGLU width; 0: llama2.c's rule, 2/3 of 4·Dim rounded up to a multiple of 4
	Layers int // transformer blocks
	Heads  int // query heads
	// KVHeads is the number of key/value heads (Heads when 0).
	KVHeads int
	// Context is the context window in tokens (the base model's when 0,
	// 256 without a base model).
	Context int
}

// Options configure the training of one student with the built-in engine.
type Options struct {
	// Base supplies the tokenizer and, unless Scratch is set, the
	// pretrained weights that are fine-tuned. It is never modified: the
	// student is a copy.
	Base *llama.Model
	// Scratch, when not nil, trains a randomly initialised model of this
	// shape (seeded with Seed) instead of fine-tuning Base.
	Scratch *Shape
	// Tokenizer is the tokenizer of a scratch model when Base is nil.
	Tokenizer llama.TextTokenizer
	// Template renders records as training text (AlpacaTemplate when its
	// NoContext is empty).
	Template PromptTemplate
	// FullLoss puts the loss on every token of the sequence; by default
	// only the response (and EOS) is predicted, the prompt being context.
	FullLoss bool

	// Steps is the number of optimiser steps. When 0, Epochs passes over
	// the training records are made (rounded up to whole steps); when both
	// are 0, one epoch.
	Steps  int
	Epochs float64
	// BatchSize is the number of records per step (8 when 0).
	BatchSize int
	// SeqLen is the number of positions per record: longer records are
	// truncated. 0 means the longest record, capped at the context window.
	SeqLen int
	// LR is the peak learning rate (1e-3 when 0); MinLR the final one of
	// the cosine decay (LR/10 when 0); Warmup the number of linear warm-up
	// steps.
	LR, MinLR float64
	Warmup    int
	// WeightDecay is AdamW's decoupled weight decay (matrices and
	// embeddings only).
	WeightDecay float64
	// ClipNorm clips the global gradient norm (1 when 0, negative
	// disables).
	ClipNorm float64
	// Seed fixes the initial weights of a scratch model and the order of
	// the data.
	Seed uint64
	// Workers is the number of goroutines (GOMAXPROCS when ≤ 0); results
	// do not depend on it.
	Workers int
	// EvalEvery records the held-out loss every EvalEvery steps in
	// Result.Curve (0: only the training loss of each step).
	EvalEvery int
	// Out, when set, is the checkpoint written after training: GGUF when
	// it ends in ".gguf", llama2.c (with tok<vocab>.bin beside it) when it
	// ends in ".bin", otherwise a Hugging Face folder (config.json,
	// model.safetensors and the base model's tokenizer files).
	Out string
	// Progress receives one stage per training run, one unit per step.
	Progress progress.Reporter
}

// CurvePoint is one step of training.
type CurvePoint struct {
	Step int     `json:"step"`
	LR   float64 `json:"lr"`
	// Loss is the mean token loss of the step's batch before the update.
	Loss float64 `json:"loss"`
	// EvalLoss is the held-out loss after the step (NaN when not
	// evaluated).
	EvalLoss float64 `json:"eval_loss"`
}

// Loss is the mean token loss of a model on a set of records.
type Loss struct {
	// Mean is the mean cross-entropy (nats) per predicted token.
	Mean float64 `json:"mean"`
	// PPL is exp(Mean).
	PPL float64 `json:"perplexity"`
	// Tokens is the number of predicted tokens.
	Tokens int `json:"tokens"`
}

// Result is the outcome of training and evaluating one student.
type Result struct {
	Seed   uint64  `json:"seed"`
	Steps  int     `json:"steps"`
	Epochs float64 `json:"epochs"` // passes over the training records
	// TrainRecords and TestRecords count the records used.
	TrainRecords int `json:"train_records"`
	TestRecords  int `json:"test_records"`
	// Before is the held-out loss of the initial model.
	Before Loss `json:"before"`
	// Train is R̂_train: the loss of the trained model on its training set.
	Train Loss `json:"train"`
	// Test is R_test: the loss of the trained model on the held-out set.
	Test Loss `json:"test"`
	// Gap is |Test.Mean − Train.Mean|, the empirical generalization gap.
	Gap float64 `json:"gap"`
	// Curve holds every step.
	Curve   []CurvePoint `json:"curve,omitempty"`
	Seconds float64      `json:"seconds"`
	// Checkpoint is the file written, if any.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// Student is a trained model with its result.
type Student struct {
	Model  *llama.Model
	Result Result
}

// defaults fills the zero options.
func (o *Options) defaults() {
	if o.Template.NoContext == "" {
		o.Template = AlpacaTemplate()
	}
	if o.BatchSize == 0 {
		o.BatchSize = 8
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.MinLR == 0 {
		o.MinLR = o.LR / 10
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = 1
	} else if o.ClipNorm < 0 {
		o.ClipNorm = 0
	}
}

// initialModel returns the model training starts from.
func initialModel(opt Options) (*llama.Model, error) {
	base := opt.Base
	if s := opt.Scratch; s != nil {
		tok, ctx := opt.Tokenizer, s.Context
		if base != nil {
			tok = base.Tokenizer
			if ctx == 0 {
				ctx = base.Config.SeqLen
			}
		}
		if tok == nil {
			return nil, fmt.Errorf("scratch model: %w", llama.ErrNoTokenizer)
		}
		if ctx == 0 {
			ctx = 256
		}
		hidden := s.Hidden
		if hidden == 0 {
			hidden = (2*4*s.Dim/3 + 3) / 4 * 4
		}
		kv := s.KVHeads
		if kv == 0 {
			kv = s.Heads
		}
		cfg := llama.Config{Dim: s.Dim, HiddenDim: hidden, NLayers: s.Layers, NHeads: s.Heads, NKVHeads: kv,
			VocabSize: tok.VocabSize(), SeqLen: ctx, SharedClassifier: true}
		m, err := llama.NewRandomModel(cfg, tok, opt.Seed)
		if err != nil {
			return nil, fmt.Errorf("scratch model: %w", err)
		}
		return m, nil
	}
	if base == nil {
		return nil, errors.New("no base model to fine-tune (set Options.Base, or Options.Scratch to train from scratch)")
	}
	if base.Tokenizer == nil {
		return nil, fmt.Errorf("base model: %w", llama.ErrNoTokenizer)
	}
	m, err := base.Clone()
	if err != nil {
		return nil, fmt.Errorf("copy base model: %w", err)
	}
	return m, nil
}

// seqLenOf returns the positions per row: the longest sequence minus one
// (rows predict every token after the first), capped at the context.
func seqLenOf(want, context int, sets ...[]llama.Sequence) int {
	if want > 0 {
		return want
	}
	n := 1
	for _, set := range sets {
		for _, s := range set {
			n = max(n, len(s.Tokens)-1)
		}
	}
	return min(n, context)
}

// Train fine-tunes a copy of opt.Base (or trains a scratch model) on the
// train records and evaluates it on the held-out test records (typically
// the real test split): the loss before training, the loss on the training
// set (R̂_train) and on the test set (R_test) after training, and the gap
// between them. test may be empty (no test loss, NaN gap).
func Train(ctx context.Context, opt Options, train, test []dataset.Record) (*Student, error) {
	start := time.Now()
	opt.defaults()
	m, err := initialModel(opt)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if len(train) == 0 {
		return nil, errors.New("train: no training records")
	}
	trainSeqs, err := opt.Template.Encode(m.Tokenizer, train, !opt.FullLoss)
	if err != nil {
		return nil, fmt.Errorf("train: training records: %w", err)
	}
	testSeqs, err := opt.Template.Encode(m.Tokenizer, test, !opt.FullLoss)
	if err != nil {
		return nil, fmt.Errorf("train: test records: %w", err)
	}
	T := seqLenOf(opt.SeqLen, m.Config.SeqLen, trainSeqs, testSeqs)
	if T > m.Config.SeqLen {
		return nil, fmt.Errorf("train: sequence length %d exceeds the model's context of %d", T, m.Config.SeqLen)
	}
	steps := opt.Steps
	if steps < 0 || opt.Epochs < 0 || math.IsNaN(opt.Epochs) || math.IsInf(opt.Epochs, 0) {
		return nil, fmt.Errorf("train: invalid steps %d or epochs %g", opt.Steps, opt.Epochs)
	}
	if steps == 0 {
		ep := opt.Epochs
		if ep == 0 {
			ep = 1
		}
		steps = max(1, int(math.Ceil(ep*float64(len(trainSeqs))/float64(opt.BatchSize))))
	}
	res := Result{Seed: opt.Seed, Steps: steps, TrainRecords: len(train), TestRecords: len(test),
		Epochs: float64(steps*opt.BatchSize) / float64(len(trainSeqs))}
	ev := evalOptions{seqLen: T, batch: opt.BatchSize, workers: opt.Workers}
	if res.Before, err = lossOf(ctx, m, testSeqs, ev); err != nil {
		return nil, fmt.Errorf("train: initial test loss: %w", err)
	}
	tr, err := llama.NewTrainer(m, trainSeqs, testSeqs, llama.TrainConfig{
		BatchSize: opt.BatchSize, SeqLen: T, Steps: steps, LR: opt.LR, MinLR: opt.MinLR, WarmupSteps: opt.Warmup,
		WeightDecay: opt.WeightDecay, ClipNorm: opt.ClipNorm, Seed: opt.Seed, Workers: opt.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer tr.Close()
	rep := progress.OrNop(opt.Progress)
	rep.Start(fmt.Sprintf("train seed %d", opt.Seed), steps)
	defer rep.Done()
	res.Curve = make([]CurvePoint, 0, steps)
	for i := 0; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", i+1, err)
		}
		sm, err := tr.Step()
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		pt := CurvePoint{Step: sm.Step, LR: sm.LR, Loss: sm.Loss, EvalLoss: math.NaN()}
		if opt.EvalEvery > 0 && len(testSeqs) > 0 && (sm.Step%opt.EvalEvery == 0 || i == steps-1) {
			if pt.EvalLoss, _, err = tr.Evaluate(); err != nil {
				return nil, fmt.Errorf("train: step %d: evaluate: %w", sm.Step, err)
			}
		}
		res.Curve = append(res.Curve, pt)
		rep.Add(1)
	}
	if res.Train, err = lossOf(ctx, m, trainSeqs, ev); err != nil {
		return nil, fmt.Errorf("train: training-set loss: %w", err)
	}
	if res.Test, err = lossOf(ctx, m, testSeqs, ev); err != nil {
		return nil, fmt.Errorf("train: test loss: %w", err)
	}
	res.Gap = Gap(res.Test.Mean, res.Train.Mean)
	if opt.Out != "" {
		if err := save(m, opt.Out); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		res.Checkpoint = opt.Out
	}
	res.Seconds = time.Since(start).Seconds()
	return &Student{Model: m, Result: res}, nil
}

// save writes a checkpoint in the format its extension names.
func save(m *llama.Model, path string) error {
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".gguf":
		err = m.SaveGGUF(path)
	case ".bin":
		err = m.SaveLlama2c(path)
	default:
		err = m.SaveHF(path)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	return nil
}

// EvalOptions control Evaluate.
type EvalOptions struct {
	// Template renders the records (AlpacaTemplate when its NoContext is
	// empty); it must be the one the model was trained with.
	Template PromptTemplate
	// FullLoss scores every token; by default only the responses.
	FullLoss bool
	// SeqLen truncates records (0: the longest, capped at the context).
	SeqLen int
	// BatchSize is the number of records per forward pass (8 when 0).
	BatchSize int
	// Workers is the number of goroutines (GOMAXPROCS when ≤ 0).
	Workers int
}

// Evaluate returns the mean token loss and perplexity of m on recs, each
// record scored on its own (no packing), with the same masking as
// training.
func Evaluate(ctx context.Context, m *llama.Model, recs []dataset.Record, opt EvalOptions) (Loss, error) {
	if m == nil {
		return Loss{}, errors.New("evaluate: nil model")
	}
	if m.Tokenizer == nil {
		return Loss{}, fmt.Errorf("evaluate: %w", llama.ErrNoTokenizer)
	}
	if opt.Template.NoContext == "" {
		opt.Template = AlpacaTemplate()
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 8
	}
	seqs, err := opt.Template.Encode(m.Tokenizer, recs, !opt.FullLoss)
	if err != nil {
		return Loss{}, fmt.Errorf("evaluate: %w", err)
	}
	T := seqLenOf(opt.SeqLen, m.Config.SeqLen, seqs)
	if T > m.Config.SeqLen {
		return Loss{}, fmt.Errorf("evaluate: sequence length %d exceeds the model's context of %d", T, m.Config.SeqLen)
	}
	l, err := lossOf(ctx, m, seqs, evalOptions{seqLen: T, batch: opt.BatchSize, workers: opt.Workers})
	if err != nil {
		return Loss{}, fmt.Errorf("evaluate: %w", err)
	}
	return l, nil
}

type evalOptions struct {
	seqLen, batch, workers int
}

// lossOf scores sequences one row each: inputs are the first T tokens,
// targets the next ones (−1 where the loss mask is off or past the end).
// An empty set gives NaN values.
func lossOf(ctx context.Context, m *llama.Model, seqs []llama.Sequence, o evalOptions) (Loss, error) {
	nan := Loss{Mean: math.NaN(), PPL: math.NaN()}
	if len(seqs) == 0 {
		return nan, nil
	}
	T, B := o.seqLen, min(o.batch, len(seqs))
	ws, err := m.NewTrainWorkspace(B, T, o.workers)
	if err != nil {
		return nan, err
	}
	defer ws.Close()
	inputs, targets := make([]int, B*T), make([]int, B*T)
	var sum float64
	total := 0
	for r0 := 0; r0 < len(seqs); r0 += B {
		if err := ctx.Err(); err != nil {
			return nan, err
		}
		nb := min(B, len(seqs)-r0)
		for b := 0; b < nb; b++ {
			s := seqs[r0+b]
			in, tg := inputs[b*T:(b+1)*T], targets[b*T:(b+1)*T]
			n := min(len(s.Tokens)-1, T)
			for j := 0; j < T; j++ {
				if j < n {
					in[j], tg[j] = s.Tokens[j], s.Tokens[j+1]
					if s.Loss != nil && !s.Loss[j+1] {
						tg[j] = -1
					}
				} else {
					in[j], tg[j] = s.Tokens[len(s.Tokens)-1], -1
				}
			}
		}
		l, n, err := ws.Loss(&llama.Batch{B: nb, T: T, Inputs: inputs[:nb*T], Targets: targets[:nb*T]})
		if err != nil {
			return nan, err
		}
		sum += l * float64(n)
		total += n
	}
	if total == 0 {
		return Loss{Mean: math.NaN(), PPL: math.NaN()}, nil
	}
	mean := sum / float64(total)
	return Loss{Mean: mean, PPL: math.Exp(mean), Tokens: total}, nil
}

// Configuration is one training set of a comparison: fixed records, or a
// real:synthetic mix drawn anew for every seed.
type Configuration struct {
	// Name labels the configuration (e.g. "S_gen", "4:1").
	Name string
	// Train is the training set when Mix is nil.
	Train []dataset.Record
	// Real and Synthetic are the pools of a mix.
	Real, Synthetic []dataset.Record
	// Mix, when not nil, draws the training set with Mix(Real, Synthetic,
	// *Mix) for every seed, with MixOptions.Seed set to the run's seed;
	// the confidence intervals then cover the choice of records too.
	Mix *MixOptions
}

// Summary aggregates the runs of one configuration over seeds. Intervals
// are Student-t 95% intervals over the seeds (see MeanCI).
type Summary struct {
	Name string   `json:"name"`
	Runs []Result `json:"runs"`
	// Mixes holds the mix of every run when the configuration is a mix.
	Mixes     []MixReport `json:"mixes,omitempty"`
	TestLoss  Interval    `json:"test_loss"`
	TestPPL   Interval    `json:"test_perplexity"`
	TrainLoss Interval    `json:"train_loss"`
	Gap       Interval    `json:"gap"`
}

// RunSeeds trains and evaluates one student per seed on the
// configuration (opt.Seed is replaced by each seed; an Out path gets
// "-seed<N>" before its extension) and aggregates the results.
func RunSeeds(ctx context.Context, opt Options, cfg Configuration, test []dataset.Record, seeds []uint64) (*Summary, error) {
	if len(seeds) == 0 {
		return nil, fmt.Errorf("run %q: no seeds", cfg.Name)
	}
	sum := &Summary{Name: cfg.Name}
	var testLoss, testPPL, trainLoss, gap []float64
	for _, seed := range seeds {
		o := opt
		o.Seed = seed
		if opt.Out != "" {
			ext := filepath.Ext(opt.Out)
			o.Out = fmt.Sprintf("%s-seed%d%s", strings.TrimSuffix(opt.Out, ext), seed, ext)
		}
		recs := cfg.Train
		if cfg.Mix != nil {
			mo := *cfg.Mix
			mo.Seed = seed
			var rep MixReport
			var err error
			if recs, rep, err = Mix(cfg.Real, cfg.Synthetic, mo); err != nil {
				return nil, fmt.Errorf("run %q seed %d: %w", cfg.Name, seed, err)
			}
			sum.Mixes = append(sum.Mixes, rep)
		}
		st, err := Train(ctx, o, recs, test)
		if err != nil {
			return nil, fmt.Errorf("run %q seed %d: %w", cfg.Name, seed, err)
		}
		r := st.Result
		sum.Runs = append(sum.Runs, r)
		testLoss = append(testLoss, r.Test.Mean)
		testPPL = append(testPPL, r.Test.PPL)
		trainLoss = append(trainLoss, r.Train.Mean)
		gap = append(gap, r.Gap)
	}
	sum.TestLoss, sum.TestPPL, sum.TrainLoss, sum.Gap = MeanCI(testLoss), MeanCI(testPPL), MeanCI(trainLoss), MeanCI(gap)
	return sum, nil
}

// MarshalJSON writes undefined values (NaN) as null.
func (l Loss) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mean   *float64 `json:"mean"`
		PPL    *float64 `json:"perplexity"`
		Tokens int      `json:"tokens"`
	}{finite(l.Mean), finite(l.PPL), l.Tokens})
}

// MarshalJSON writes undefined values (NaN) as null and leaves out
// EvalLoss when the step was not evaluated.
func (p CurvePoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Step     int      `json:"step"`
		LR       float64  `json:"lr"`
		Loss     *float64 `json:"loss"`
		EvalLoss *float64 `json:"eval_loss,omitempty"`
	}{p.Step, p.LR, finite(p.Loss), finite(p.EvalLoss)})
}

// MarshalJSON writes an undefined gap (NaN) as null.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Gap *float64 `json:"gap"`
	}{plain(r), finite(r.Gap)})
}
