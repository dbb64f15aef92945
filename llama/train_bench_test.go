package llama

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep260K measures one float32 forward+backward pass on a
// stories260K-shaped model with a batch of 8×256 tokens and reports tokens/s.
func BenchmarkTrainStep260K(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			m, err := NewModel(stories260KConfig, nil)
			if err != nil {
				b.Fatal(err)
			}
			m.InitRandom(1, 0.02)
			batch := randomBatch(rand.New(rand.NewPCG(1, 1)), 8, 256, 512, nil)
			ws, err := m.NewTrainWorkspace(8, 256, workers)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			grads := make([]float32, len(m.params))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := ws.LossAndGrad(batch, grads); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*8*256)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkTrainStepGPT2 measures one float32 forward+backward pass of a
// GPT-2 124M-shaped model cut to one block (dim 768, 12
// heads, vocabulary 50257) on 8×256 tokens, 2 workers: the shapes of
// bench/train's gpt2-124m preset, small enough to profile with
// -cpuprofile.
func BenchmarkTrainStepGPT2(b *testing.B) {
	cfg, err := FamilyConfig(Config{Dim: 768, HiddenDim: 3072, NLayers: 1, NHeads: 12, NKVHeads: 12, VocabSize: 50257,
		SeqLen: 1024, SharedClassifier: true}, ArchGPT2)
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewModel(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	m.InitRandom(1, 0.02)
	batch := randomBatch(rand.New(rand.NewPCG(1, 1)), 8, 256, cfg.VocabSize, nil)
	ws, err := m.NewTrainWorkspace(8, 256, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	grads := make([]float32, len(m.params))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := ws.LossAndGrad(batch, grads); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8*256)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGemmGPT2MLP measures the float32 product of GPT-2's first MLP
// matrix on a batch of 8×256 positions (2048×768 by 768×3072, 9.66 GFLOP)
// as the training pass runs it (packed kernel, 2 workers), in GFLOP/s;
// bench/train/gemm_torch.py times the same product in PyTorch.
func BenchmarkGemmGPT2MLP(b *testing.B) {
	const M, K, N = 2048, 768, 3072
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, out := randVec(rng, M*K, 1), randVec(rng, K*N, 1), make([]float32, M*N)
	pool := newWorkPool(2)
	defer pool.close()
	t := gemmTask{c: out, ldc: N, a: x, sai: K, sak: 1, b: w, ldb: N, n: N, K: K,
		packs: [][]float32{make([]float32, gemmPackLen), make([]float32, gemmPackLen)}}
	pool.do(M, 4, &t)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pool.do(M, 4, &t)
	}
	b.ReportMetric(2*M*K*N*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
