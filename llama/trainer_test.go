package llama

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCosineSchedule(t *testing.T) {
	s := CosineSchedule{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}
	cases := []struct {
		step int
		want float64
	}{
		{0, 0.25}, {1, 0.5}, {3, 1}, {4, 1}, {9, 0.55}, {14, 0.1}, {30, 0.1},
		// a fifth of the decay: 0.1 + 0.9·(1+cos(π/5))/2
		{6, 0.1 + 0.45*(1+math.Cos(math.Pi/5))},
	}
	for _, c := range cases {
		if got := s.At(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("At(%d) = %.15g, want %.15g", c.step, got, c.want)
		}
	}
	if got := (CosineSchedule{Peak: 2, Min: 0, Total: 10}).At(0); got != 2 {
		t.Errorf("no warm-up: At(0) = %g, want 2", got)
	}
	if got := (CosineSchedule{Peak: 2, Min: 0.5, Warmup: 3, Total: 3}).At(5); got != 0.5 {
		t.Errorf("warm-up only: At(5) = %g, want 0.5", got)
	}
}

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		name     string
		in       []float32
		max      float64
		wantNorm float64
		want     []float32
	}{
		{"clipped", []float32{3, 4}, 1, 5, []float32{0.6 * 5 / (5 + 1e-6), 0.8 * 5 / (5 + 1e-6)}},
		{"below", []float32{3, 4}, 10, 5, []float32{3, 4}},
		{"disabled", []float32{3, -4}, 0, 5, []float32{3, -4}},
		{"zero", []float32{0, 0, 0}, 1, 0, []float32{0, 0, 0}},
		{"many", []float32{1, 1, 1, 1}, 1, 2, []float32{0.5 * 2 / (2 + 1e-6), 0.5 * 2 / (2 + 1e-6), 0.5 * 2 / (2 + 1e-6), 0.5 * 2 / (2 + 1e-6)}},
	}
	for _, c := range cases {
		g := append([]float32(nil), c.in...)
		if n := ClipGradNorm(g, c.max); math.Abs(n-c.wantNorm) > 1e-12 {
			t.Errorf("%s: norm %g, want %g", c.name, n, c.wantNorm)
		}
		for i := range g {
			if math.Abs(float64(g[i]-c.want[i])) > 1e-7 {
				t.Errorf("%s: grads %v, want %v", c.name, g, c.want)
				break
			}
		}
	}
}

func TestAdamW32(t *testing.T) {
	// First step by hand: m̂ = g, v̂ = g², so the update is lr·g/(|g|+ε).
	o := &AdamW32{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, Decay: []bool{true, false}}
	p := []float32{1, 1}
	if err := o.Step(p, []float32{0.5, -2}, 0.1); err != nil {
		t.Fatal(err)
	}
	want := []float64{1*(1-0.1*0.1) - 0.1, 1 + 0.1}
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > 1e-6 {
			t.Errorf("param %d: %g, want %g", i, p[i], want[i])
		}
	}
	// Several steps agree with the float64 optimiser (same decoupled decay).
	rng := rand.New(rand.NewPCG(1, 1))
	p32 := make([]float32, 50)
	p64 := make([]float32, 50)
	for i := range p32 {
		p32[i] = float32(rng.NormFloat64())
		p64[i] = p32[i]
	}
	a32 := &AdamW32{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	a64 := NewAdamW(1e-2, 0.01)
	for step := 0; step < 5; step++ {
		g32 := make([]float32, 50)
		g64 := make([]float64, 50)
		for i := range g32 {
			g32[i] = float32(rng.NormFloat64())
			g64[i] = float64(g32[i])
		}
		if err := a32.Step(p32, g32, 1e-2); err != nil {
			t.Fatal(err)
		}
		if err := a64.Step(p64, g64); err != nil {
			t.Fatal(err)
		}
	}
	for i := range p32 {
		if math.Abs(float64(p32[i]-p64[i])) > 1e-5 {
			t.Fatalf("param %d: float32 AdamW %g, float64 AdamW %g", i, p32[i], p64[i])
		}
	}
	if err := o.Step(make([]float32, 3), make([]float32, 2), 0.1); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if err := o.Step(make([]float32, 3), make([]float32, 3), 0.1); err == nil {
		t.Error("decay mask of the wrong length accepted")
	}
}

// storyCorpus returns n short fixed sentences built from templates.
func storyCorpus(n int) []Example {
	names := []string{"Tom", "Lily", "Ben", "Sue"}
	things := []string{"ball", "cat", "cake", "tree"}
	feels := []string{"happy", "sad", "big", "red"}
	var exs []Example
	for i := 0; len(exs) < n; i++ {
		name, thing, feel := names[i%4], things[(i/4)%4], feels[(i/16)%4]
		exs = append(exs, Example{
			Prompt:   fmt.Sprintf("%s saw a %s.", name, thing),
			Response: fmt.Sprintf(" The %s was %s. %s liked the %s.", thing, feel, name, thing),
		})
	}
	return exs
}

func toyTrainModel(t testing.TB, seed uint64) *Model {
	t.Helper()
	cfg := Config{Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 262, SeqLen: 64, SharedClassifier: true}
	tok := tinyModel(t, Config{Dim: 8, HiddenDim: 8, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 262, SeqLen: 8, SharedClassifier: true}, 1).sp()
	m, err := NewRandomModel(cfg, tok, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrainerLossFalls trains a tiny random model on 64 short stories
// (packed and padded, whole text and response only) and requires the
// held-out loss to fall below half of its starting value.
func TestTrainerLossFalls(t *testing.T) {
	exs := storyCorpus(72)
	for _, c := range []struct {
		name         string
		pack, respOn bool
	}{
		{"packed whole text", true, false},
		{"padded response only", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := toyTrainModel(t, 1)
			seqs, err := EncodeExamples(m.sp(), exs, c.respOn)
			if err != nil {
				t.Fatal(err)
			}
			var evals []float64
			tr, err := NewTrainer(m, seqs[:64], seqs[64:], TrainConfig{
				BatchSize: 8, SeqLen: 64, Steps: 100, LR: 1e-2, MinLR: 1e-3, WarmupSteps: 10,
				WeightDecay: 0.01, ClipNorm: 1, Pack: c.pack, EvalEvery: 25, Seed: 3, Workers: 2,
				OnStep: func(s StepMetrics) {
					if !math.IsNaN(s.EvalLoss) {
						evals = append(evals, s.EvalLoss)
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			start, ppl, err := tr.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ppl-math.Exp(start)) > 1e-9*ppl {
				t.Errorf("perplexity %g is not exp(loss %g)", ppl, start)
			}
			last, err := tr.Run()
			if err != nil {
				t.Fatal(err)
			}
			if len(evals) != 4 {
				t.Fatalf("evaluated %d times, want 4 (every 25 of 100 steps)", len(evals))
			}
			if !(last.EvalLoss < 0.5*start) {
				t.Errorf("held-out loss went from %.3f to %.3f (want < 50%%)", start, last.EvalLoss)
			}
			t.Logf("held-out loss %.3f → %.3f (ppl %.2f), train loss %.3f, %v", start, last.EvalLoss, last.EvalPPL, last.Loss, last.Elapsed)
		})
	}
}

// TestResponseMask checks that with responseOnly the loss covers exactly
// the response tokens (and EOS): the trainer's loss on one padded row
// equals the inference engine's cross-entropy of the response.
func TestResponseMask(t *testing.T) {
	m := loadBin(t)
	ex := Example{Prompt: "Once upon a time, there was a dog.", Response: " The dog was happy."}
	seqs, err := EncodeExamples(m.sp(), []Example{ex}, true)
	if err != nil {
		t.Fatal(err)
	}
	s := seqs[0]
	p := m.sp().Encode(ex.Prompt, true, false)
	rows, err := buildRows(seqs, m.Config.VocabSize, 32, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	cnt := 0
	for j, tg := range rows[0][1] {
		in := j+1 >= len(p) && j+1 < len(s.Tokens)
		if (tg >= 0) != in {
			t.Fatalf("position %d: target %d, response position %v", j, tg, in)
		}
		if tg >= 0 {
			cnt++
		}
	}
	if cnt != len(s.Tokens)-len(p) {
		t.Fatalf("%d targets, want %d", cnt, len(s.Tokens)-len(p))
	}
	ws, err := m.NewTrainWorkspace(1, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	loss, n, err := ws.Loss(&Batch{B: 1, T: 32, Inputs: rows[0][0], Targets: rows[0][1]})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := m.LogProbTokens(p, s.Tokens[len(p):])
	if err != nil {
		t.Fatal(err)
	}
	want := -lp.Sum / float64(len(s.Tokens)-len(p))
	if n != cnt || math.Abs(loss-want) > 1e-4*want {
		t.Errorf("masked loss %g over %d tokens, inference cross-entropy of the response %g over %d", loss, n, want, cnt)
	}
	full, err := EncodeExamples(m.sp(), []Example{ex}, false)
	if err != nil {
		t.Fatal(err)
	}
	if full[0].Loss != nil {
		t.Error("whole-text encoding carries a loss mask")
	}
}

// TestTrainerDeterminism runs short trainings: equal seeds give equal
// weights for 1 and 2 workers, another seed gives other weights.
func TestTrainerDeterminism(t *testing.T) {
	exs := storyCorpus(24)
	run := func(seed uint64, workers int) []float32 {
		m := toyTrainModel(t, 9)
		seqs, err := EncodeExamples(m.sp(), exs, false)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, seqs, nil, TrainConfig{BatchSize: 4, SeqLen: 32, Steps: 6, LR: 3e-3, WarmupSteps: 2,
			WeightDecay: 0.1, ClipNorm: 0.5, Pack: true, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		last, err := tr.Run()
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(last.EvalLoss) {
			t.Errorf("eval loss %g without eval data", last.EvalLoss)
		}
		return m.Params()
	}
	a, b, c := run(1, 1), run(1, 2), run(2, 2)
	same := func(x, y []float32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("1 and 2 workers give different weights")
	}
	if same(a, c) {
		t.Error("seeds 1 and 2 give identical weights")
	}
}

func TestTrainerErrors(t *testing.T) {
	m := toyTrainModel(t, 1)
	good := []Sequence{{Tokens: []int{1, 5, 6, 7}}}
	ok := TrainConfig{BatchSize: 2, SeqLen: 8, Steps: 1, LR: 1e-3}
	cases := []struct {
		name string
		data []Sequence
		edit func(*TrainConfig)
	}{
		{"zero batch", good, func(c *TrainConfig) { c.BatchSize = 0 }},
		{"too long", good, func(c *TrainConfig) { c.SeqLen = 65 }},
		{"zero lr", good, func(c *TrainConfig) { c.LR = 0 }},
		{"min above peak", good, func(c *TrainConfig) { c.MinLR = 1 }},
		{"negative steps", good, func(c *TrainConfig) { c.Steps = -1 }},
		{"beta2 one", good, func(c *TrainConfig) { c.Beta2 = 1 }},
		{"negative clip", good, func(c *TrainConfig) { c.ClipNorm = -1 }},
		{"no data", nil, func(c *TrainConfig) {}},
		{"bad token", []Sequence{{Tokens: []int{1, 999}}}, func(c *TrainConfig) {}},
		{"mask length", []Sequence{{Tokens: []int{1, 2, 3}, Loss: []bool{true}}}, func(c *TrainConfig) {}},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		if tr, err := NewTrainer(m, c.data, nil, cfg); err == nil {
			tr.Close()
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := NewTrainer(nil, good, nil, ok); err == nil {
		t.Error("nil model accepted")
	}
	if _, err := EncodeExamples(nil, nil, false); err == nil {
		t.Error("EncodeExamples without tokenizer accepted")
	}
	if _, err := NewRandomModel(Config{Dim: 8, HiddenDim: 8, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 10, SeqLen: 8}, m.sp(), 1); err == nil {
		t.Error("tokenizer of another vocabulary size accepted")
	}
	ws, err := m.NewTrainWorkspace(2, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	grads := make([]float32, len(m.Params()))
	bad := []*Batch{
		nil,
		{B: 2, T: 8, Inputs: make([]int, 16), Targets: make([]int, 15)},
		{B: 3, T: 8, Inputs: make([]int, 24), Targets: make([]int, 24)},
		{B: 1, T: 4, Inputs: make([]int, 4), Targets: make([]int, 4)},
		{B: 1, T: 8, Inputs: []int{0, 0, 0, 0, 0, 0, 0, 262}, Targets: make([]int, 8)},
		{B: 1, T: 8, Inputs: make([]int, 8), Targets: []int{0, 0, 0, 0, 0, 0, 0, 262}},
		{B: 0, T: 8},
	}
	for i, b := range bad {
		if _, _, err := ws.LossAndGrad(b, grads); err == nil {
			t.Errorf("bad batch %d accepted", i)
		}
	}
	if _, _, err := ws.LossAndGrad(&Batch{B: 1, T: 8, Inputs: make([]int, 8), Targets: make([]int, 8)}, grads[:3]); err == nil {
		t.Error("short gradient vector accepted")
	}
	for _, shape := range [][2]int{{0, 8}, {1, 0}, {1, 65}} {
		if _, err := m.NewTrainWorkspace(shape[0], shape[1], 1); err == nil {
			t.Errorf("workspace %v accepted", shape)
		}
	}
	// A batch without targets has zero loss and gradient.
	empty := &Batch{B: 1, T: 8, Inputs: make([]int, 8), Targets: []int{-1, -1, -1, -1, -1, -1, -1, -1}}
	grads[0] = 1
	loss, n, err := ws.LossAndGrad(empty, grads)
	if err != nil || loss != 0 || n != 0 || grads[0] != 0 {
		t.Errorf("empty batch: loss %g, %d targets, grads[0] %g, err %v", loss, n, grads[0], err)
	}
}

// TestTrainStepDoesNotAllocate checks that steps after the first allocate
// nothing.
func TestTrainStepDoesNotAllocate(t *testing.T) {
	m := toyTrainModel(t, 1)
	seqs, err := EncodeExamples(m.sp(), storyCorpus(16), false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, seqs, nil, TrainConfig{BatchSize: 4, SeqLen: 32, Steps: 100, LR: 1e-3, ClipNorm: 1, Pack: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%g allocations per step", n)
	}
}
