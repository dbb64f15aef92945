// Command train measures the training throughput of ggmi's float32
// batched training path on a model of the stories260K shapes (dim 64,
// hidden 172, 5 layers, 8 heads, 4 key/value heads, vocabulary 512) with
// batches of 8×256 random tokens, AdamW and gradient clipping, the same
// work as torch_train.py. It prints one JSON line with the median step
// time and tokens/s over the timed steps.
//
//	go run ./bench/train -threads 1 -steps 20
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/ggmi-dev/ggmi/llama"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run() error {
	threads := flag.Int("threads", 1, "worker goroutines (and GOMAXPROCS)")
	steps := flag.Int("steps", 20, "timed steps")
	warmup := flag.Int("warmup", 3, "untimed warm-up steps")
	batch := flag.Int("batch", 8, "sequences per batch")
	seq := flag.Int("seq", 256, "positions per sequence")
	dim := flag.Int("dim", 64, "model width")
	hidden := flag.Int("hidden", 172, "feed-forward width")
	layers := flag.Int("layers", 5, "transformer blocks")
	heads := flag.Int("heads", 8, "query heads")
	kvHeads := flag.Int("kv-heads", 4, "key/value heads")
	vocab := flag.Int("vocab", 512, "vocabulary size")
	ctx := flag.Int("ctx", 0, "context length of the model (seq when 0)")
	arch := flag.String("arch", "llama", "model family: llama or gpt2")
	preset := flag.String("preset", "", "gpt2-124m: the GPT-2 small shapes (overrides the shape flags)")
	seed := flag.Uint64("seed", 1, "seed of the weights and data")
	checkBin := flag.String("check-bin", "", "print the loss of a llama2.c checkpoint on a fixed sequence (as torch_train.py --check-bin) and exit")
	flag.Parse()
	if *checkBin != "" {
		return check(*checkBin)
	}
	if *threads < 1 || *steps < 1 || *warmup < 0 {
		return fmt.Errorf("need threads ≥ 1, steps ≥ 1 and warmup ≥ 0")
	}
	runtime.GOMAXPROCS(*threads)
	switch *preset {
	case "":
	case "gpt2-124m":
		*arch, *dim, *hidden, *layers, *heads, *kvHeads, *vocab, *ctx = llama.ArchGPT2, 768, 3072, 12, 12, 12, 50257, 1024
	default:
		return fmt.Errorf("unknown preset %q (known: gpt2-124m)", *preset)
	}
	if *ctx == 0 {
		*ctx = *seq
	}
	cfg, err := llama.FamilyConfig(llama.Config{Dim: *dim, HiddenDim: *hidden, NLayers: *layers, NHeads: *heads,
		NKVHeads: *kvHeads, VocabSize: *vocab, SeqLen: *ctx, SharedClassifier: true}, *arch)
	if err != nil {
		return err
	}
	m, err := llama.NewRandomModel(cfg, nil, *seed)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	data := make([]llama.Sequence, *batch)
	for i := range data {
		toks := make([]int, *seq+1)
		for j := range toks {
			toks[j] = rng.IntN(*vocab)
		}
		data[i] = llama.Sequence{Tokens: toks}
	}
	total := *warmup + *steps
	tr, err := llama.NewTrainer(m, data, nil, llama.TrainConfig{
		BatchSize: *batch, SeqLen: *seq, Steps: total, LR: 1e-3, MinLR: 1e-3,
		Beta1: 0.9, Beta2: 0.95, WeightDecay: 0.1, ClipNorm: 1, Seed: *seed, Workers: *threads,
	})
	if err != nil {
		return err
	}
	defer tr.Close()
	var times, cpus []float64
	var first, last float64
	for i := 0; i < total; i++ {
		t0, c0 := time.Now(), cpuSeconds()
		sm, err := tr.Step()
		if err != nil {
			return err
		}
		dt, dc := time.Since(t0).Seconds(), cpuSeconds()-c0
		fmt.Fprintf(os.Stderr, "ggmi step %d/%d: %.2f s wall, %.2f s CPU, loss %.4f\n", i+1, total, dt, dc, sm.Loss)
		if i >= *warmup {
			times, cpus = append(times, dt), append(cpus, dc)
		}
		if i == 0 {
			first = sm.Loss
		}
		last = sm.Loss
	}
	med := median(times)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"impl": "ggmi", "go": runtime.Version(), "arch": cfg.Family(), "params": len(m.Params()), "threads": *threads, "steps": *steps,
		"batch": *batch, "seq": *seq, "median_step_s": med, "median_step_cpu_s": median(cpus),
		"tokens_per_s": float64(*batch**seq) / med, "first_loss": first, "last_loss": last,
	})
}

// median returns the median of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return m
}

// cpuSeconds returns the user and system CPU time of the process so far
// (all threads): on a shared machine it shows how much of a step's wall
// time the process actually ran.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// check prints the mean cross-entropy of the checkpoint at path on the
// fixed sequence that torch_train.py --check-bin scores, computed by the
// batched float32 training pass, to show that both programs implement
// the same model.
func check(path string) error {
	m, err := llama.Load(path)
	if err != nil {
		return err
	}
	const n = 64
	toks := make([]int, n+1)
	toks[0] = 1
	for i := 1; i <= n; i++ {
		toks[i] = (i*37 + 11) % m.Config.VocabSize
	}
	ws, err := m.NewTrainWorkspace(1, n, 1)
	if err != nil {
		return err
	}
	defer ws.Close()
	loss, _, err := ws.Loss(&llama.Batch{B: 1, T: n, Inputs: toks[:n], Targets: toks[1:]})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"impl": "ggmi", "check_loss": loss})
}
