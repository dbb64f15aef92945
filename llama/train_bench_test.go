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
