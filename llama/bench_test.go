package llama

import "testing"

// BenchmarkGreedyStories260K measures single-sequence greedy generation
// over the full 512-token context of stories260K and reports tokens/s.
func BenchmarkGreedyStories260K(b *testing.B) {
	m := loadBin(b)
	st := m.NewState()
	prompt := []int{m.sp().BOS}
	opt := GenerateOptions{MaxTokens: 256, IgnoreEOS: true}
	b.ReportAllocs()
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		g, err := m.generate(st, prompt, opt, nil)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(g.Tokens)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGenerateBatch measures the throughput of GenerateBatch with
// eight sampled sequences of 128 tokens and GOMAXPROCS workers.
func BenchmarkGenerateBatch(b *testing.B) {
	m := loadBin(b)
	reqs := make([]BatchRequest, 8)
	for i := range reqs {
		reqs[i] = BatchRequest{Prompt: "Once upon a time", Options: GenerateOptions{
			SampleOptions: SampleOptions{Temperature: 0.8, TopP: 0.9, Seed: uint64(i)},
			MaxTokens:     128, IgnoreEOS: true,
		}}
	}
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		out, err := m.GenerateBatch(reqs, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range out {
			tokens += len(g.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
