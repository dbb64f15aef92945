package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

// countingReporter records progress events.
type countingReporter struct {
	mu     sync.Mutex
	stages []string
	totals []int
	added  int
	done   int
}

func (c *countingReporter) Start(stage string, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stages, c.totals = append(c.stages, stage), append(c.totals, total)
}
func (c *countingReporter) Add(n int) { c.mu.Lock(); c.added += n; c.mu.Unlock() }
func (c *countingReporter) Done()     { c.mu.Lock(); c.done++; c.mu.Unlock() }

func tinyOptions(t *testing.T) Options {
	return Options{
		Tokenizer: byteTokenizer(t),
		Scratch:   &Shape{Dim: 32, Layers: 2, Heads: 4, Context: 128},
		Template:  CompactTemplate(),
		Steps:     30, BatchSize: 8, LR: 3e-3, Warmup: 3, WeightDecay: 0.01, Seed: 11,
	}
}

// Training a tiny model from scratch (byte tokenizer, fixed seed) lowers
// the training and held-out losses, and the run is reproducible whatever
// the number of workers.
func TestScratchTrainingLowersLoss(t *testing.T) {
	opt := tinyOptions(t)
	opt.EvalEvery = 10
	rep := &countingReporter{}
	opt.Progress = rep
	train, test := storyRecords(16, 0), storyRecords(8, 3)
	st, err := Train(context.Background(), opt, train, test)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Result
	t.Logf("before %.4f, first batch %.4f, last batch %.4f, train %.4f, test %.4f (ppl %.2f), gap %.4f, %.2fs",
		r.Before.Mean, r.Curve[0].Loss, r.Curve[len(r.Curve)-1].Loss, r.Train.Mean, r.Test.Mean, r.Test.PPL, r.Gap, r.Seconds)
	if !(r.Test.Mean < r.Before.Mean-1) || !(r.Curve[len(r.Curve)-1].Loss < r.Curve[0].Loss-1) || !(r.Train.Mean < r.Before.Mean-1) {
		t.Fatalf("loss did not fall: %+v", r)
	}
	if !near(r.Gap, math.Abs(r.Test.Mean-r.Train.Mean), 1e-12) || !near(r.Test.PPL, math.Exp(r.Test.Mean), 1e-9) {
		t.Fatalf("gap %v or perplexity %v inconsistent", r.Gap, r.Test.PPL)
	}
	if r.Steps != 30 || len(r.Curve) != 30 || !near(r.Epochs, 30*8/16.0, 1e-12) || r.TrainRecords != 16 || r.TestRecords != 8 {
		t.Fatalf("bookkeeping %+v", r)
	}
	if math.IsNaN(r.Curve[9].EvalLoss) || !math.IsNaN(r.Curve[10].EvalLoss) || math.IsNaN(r.Curve[29].EvalLoss) {
		t.Fatal("held-out loss not recorded every 10 steps")
	}
	if len(rep.stages) != 1 || rep.totals[0] != 30 || rep.added != 30 || rep.done != 1 {
		t.Fatalf("progress %+v", rep)
	}
	// The token counts: only responses (and EOS) are scored.
	var want int
	for _, rec := range test {
		want += len(rec.Output) + 1
	}
	if r.Test.Tokens != want {
		t.Fatalf("%d scored test tokens, want %d (responses and EOS)", r.Test.Tokens, want)
	}
	// Same seed, other worker count: the same numbers.
	opt.Workers, opt.Progress = 1, nil
	st2, err := Train(context.Background(), opt, train, test)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Result.Test != r.Test || st2.Result.Train != r.Train {
		t.Fatalf("runs differ: %+v vs %+v", st2.Result.Test, r.Test)
	}
	// Evaluate agrees with the result.
	l, err := Evaluate(context.Background(), st.Model, test, EvalOptions{Template: CompactTemplate()})
	if err != nil || !near(l.Mean, r.Test.Mean, 1e-6) {
		t.Fatalf("Evaluate %+v vs %+v (%v)", l, r.Test, err)
	}
	// FullLoss scores the prompt too.
	full, err := Evaluate(context.Background(), st.Model, test, EvalOptions{Template: CompactTemplate(), FullLoss: true})
	if err != nil || full.Tokens <= l.Tokens {
		t.Fatalf("full loss %+v vs %+v (%v)", full, l, err)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("result JSON: %v", err)
	}
}

// A configuration over seeds: a 1:1 mix drawn per seed, aggregated with
// Student-t intervals that match the runs.
func TestRunSeedsMix(t *testing.T) {
	opt := tinyOptions(t)
	opt.Steps = 6
	real, syn := storyRecords(12, 0), storyRecords(12, 40)
	for i := range syn {
		syn[i].ID = "s" + syn[i].ID
	}
	cfg := Configuration{Name: "1:1", Real: real, Synthetic: syn,
		Mix: &MixOptions{Real: 1, Synthetic: 1, Budget: 400, Count: opt.Template.TokenCounter(opt.Tokenizer)}}
	test := storyRecords(6, 100)
	opt.Out = filepath.Join(t.TempDir(), "student.bin")
	sum, err := RunSeeds(context.Background(), opt, cfg, test, []uint64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 3 || len(sum.Mixes) != 3 || sum.Name != "1:1" {
		t.Fatalf("summary %+v", sum)
	}
	var losses []float64
	for i, r := range sum.Runs {
		losses = append(losses, r.Test.Mean)
		if r.Seed != uint64(i+1) || !strings.HasSuffix(r.Checkpoint, "student-seed"+string(rune('1'+i))+".bin") {
			t.Fatalf("run %d: seed %d checkpoint %s", i, r.Seed, r.Checkpoint)
		}
		m := sum.Mixes[i]
		if m.RealTokens > 200 || m.SyntheticTokens > 200 || m.RealTokens < 150 || m.SyntheticTokens < 150 {
			t.Fatalf("mix %+v", m)
		}
	}
	want := MeanCI(losses)
	if sum.TestLoss != want || sum.TestLoss.N != 3 || !(sum.TestLoss.Lo < sum.TestLoss.Mean) || math.IsNaN(sum.Gap.Hi) {
		t.Fatalf("aggregate %+v, want %+v", sum.TestLoss, want)
	}
	// The checkpoints load back.
	m, err := llama.Load(sum.Runs[0].Checkpoint)
	if err != nil || m.Tokenizer == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if _, err := RunSeeds(context.Background(), opt, cfg, test, nil); err == nil {
		t.Fatal("no seeds accepted")
	}
}

func TestTrainErrors(t *testing.T) {
	ctx := context.Background()
	train := storyRecords(4, 0)
	cases := []struct {
		name  string
		opt   func(*Options)
		train []dataset.Record
		want  string
	}{
		{"no base", func(o *Options) { o.Scratch, o.Tokenizer = nil, nil }, train, "no base model"},
		{"no tokenizer", func(o *Options) { o.Tokenizer = nil }, train, "tokenizer"},
		{"no records", func(o *Options) {}, nil, "no training records"},
		{"no response", func(o *Options) {}, []dataset.Record{{ID: "x", Instruction: "Hi"}}, "no response"},
		{"sequence too long", func(o *Options) { o.SeqLen = 1000 }, train, "exceeds"},
		{"bad shape", func(o *Options) { o.Scratch = &Shape{Dim: 30, Layers: 1, Heads: 4} }, train, "scratch model"},
		{"negative steps", func(o *Options) { o.Steps = -1 }, train, "invalid steps"},
		{"bad epochs", func(o *Options) { o.Steps, o.Epochs = 0, math.NaN() }, train, "invalid steps"},
		{"bad learning rate", func(o *Options) { o.LR = -1 }, train, "learning rate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := tinyOptions(t)
			c.opt(&opt)
			_, err := Train(ctx, opt, c.train, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cctx, tinyOptions(t), train, train); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := Evaluate(ctx, nil, train, EvalOptions{}); err == nil {
		t.Fatal("nil model evaluated")
	}
}

// Fine-tuning stories260K on a few records: the training loss falls, the
// base model is left untouched, the GGUF checkpoint reloads with the same
// held-out loss, and the student answers the test records for the judge.
func TestFineTuneStories260K(t *testing.T) {
	base := stories260K(t)
	before := append([]float32(nil), base.Params()...)
	train, test := storyRecords(8, 0), storyRecords(4, 3)
	out := filepath.Join(t.TempDir(), "student.gguf")
	opt := Options{Base: base, Steps: 12, BatchSize: 4, LR: 2e-3, Warmup: 2, Seed: 5, Out: out}
	trainBefore, err := Evaluate(context.Background(), base, train, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Train(context.Background(), opt, train, test)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Result
	t.Logf("train loss %.4f → %.4f, test %.4f → %.4f (ppl %.2f), gap %.4f, %.2fs",
		trainBefore.Mean, r.Train.Mean, r.Before.Mean, r.Test.Mean, r.Test.PPL, r.Gap, r.Seconds)
	if !(r.Train.Mean < trainBefore.Mean) || !(r.Test.Mean < r.Before.Mean) {
		t.Fatalf("fine-tuning did not lower the losses: %+v (train before %v)", r, trainBefore)
	}
	for i, p := range base.Params() {
		if p != before[i] {
			t.Fatalf("base parameter %d changed", i)
		}
	}
	m, err := llama.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Evaluate(context.Background(), m, test, EvalOptions{})
	if err != nil || !near(l.Mean, r.Test.Mean, 1e-4) {
		t.Fatalf("reloaded checkpoint: %+v vs %+v (%v)", l, r.Test, err)
	}
	b, err := llm.NewBuiltin(st.Model, llm.BuiltinOptions{Name: "student", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	items, err := Answers(context.Background(), b, test, AnswerOptions{Config: "FT", GroupBy: "category", MaxTokens: 24, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for i, it := range items {
		if it.ID != test[i].ID || it.Reference != test[i].Output || it.Config != "FT" || it.Group != test[i].Category {
			t.Fatalf("item %+v", it)
		}
		if it.Answer != "" {
			answered++
		}
		t.Logf("%s: %q", it.ID, it.Answer)
	}
	if answered == 0 {
		t.Fatal("the student answered nothing")
	}
}

// Epochs become whole steps: 2 epochs of 12 records in batches of 8 are
// ceil(24/8) = 3 steps; no steps and no epochs mean one epoch (2 steps).
func TestEpochs(t *testing.T) {
	for _, c := range []struct {
		epochs float64
		steps  int
	}{{2, 3}, {0, 2}, {0.1, 1}} {
		opt := tinyOptions(t)
		opt.Steps, opt.Epochs = 0, c.epochs
		st, err := Train(context.Background(), opt, storyRecords(12, 0), nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Result.Steps != c.steps || !math.IsNaN(st.Result.Test.Mean) || !math.IsNaN(st.Result.Gap) {
			t.Fatalf("epochs %v: %+v", c.epochs, st.Result)
		}
		b, err := json.Marshal(st.Result)
		if err != nil || !strings.Contains(string(b), `"gap":null`) {
			t.Fatalf("JSON %s %v", b, err)
		}
	}
}
