package llama

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchConfig is a ~134M-parameter Llama (the shape of the issue's
// side-by-side figures): dim 768, 12 blocks, FFN 2048, vocabulary 32000.
var benchConfig = Config{Dim: 768, HiddenDim: 2048, NLayers: 12, NHeads: 12, NKVHeads: 12, VocabSize: 32000, SeqLen: 1024}

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchModelPath writes the random benchmark model as typ once per test
// binary and returns the file.
func benchModelPath(b *testing.B, typ GGMLType) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "ggmi-bench-")
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	path := filepath.Join(benchDir, typ.String()+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	m, err := NewRandomModel(benchConfig, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.SaveGGUFAs(path, typ); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkDecode times one forward step with logits (decode) at position
// 128 on the ~134M random model per weight type and thread count; tok/s
// is the decode rate. BenchmarkPrefill times prompt positions without
// logits (the prompt is processed position by position).
func BenchmarkDecode(b *testing.B) { benchForward(b, true) }

func BenchmarkPrefill(b *testing.B) { benchForward(b, false) }

func benchForward(b *testing.B, logits bool) {
	for _, typ := range []GGMLType{GGMLTypeF32, GGMLTypeF16, GGMLTypeQ8_0, GGMLTypeQ4_0, GGMLTypeQ4_K, GGMLTypeQ6_K} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", typ, threads), func(b *testing.B) {
				m, err := LoadGGUF(benchModelPath(b, typ))
				if err != nil {
					b.Fatal(err)
				}
				m.SetThreads(threads)
				st := m.NewStateN(256)
				for pos := range 128 {
					if err := st.ForwardNoLogits(pos%100+3, pos); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for b.Loop() {
					if logits {
						_, err = st.Forward(7, 128)
					} else {
						err = st.ForwardNoLogits(7, 128)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkPrefillBatch times a 128-token prompt run as batches
// (State.Prefill) on the ~134M random model; tok/s is prompt tokens per
// second, to compare with BenchmarkPrefill's position-by-position rate.
func BenchmarkPrefillBatch(b *testing.B) {
	for _, typ := range []GGMLType{GGMLTypeF32, GGMLTypeQ8_0, GGMLTypeQ4_0, GGMLTypeQ4_K} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", typ, threads), func(b *testing.B) {
				m, err := LoadGGUF(benchModelPath(b, typ))
				if err != nil {
					b.Fatal(err)
				}
				m.SetThreads(threads)
				st := m.NewStateN(256)
				toks := make([]int, 128)
				for i := range toks {
					toks[i] = i%100 + 3
				}
				b.ResetTimer()
				for b.Loop() {
					if err := st.Prefill(toks, 0); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(toks))/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkStepper times one decode step for 1 and 8 sequences at once
// (Stepper.Step, every weight read once per step for all sequences) at
// position 128 on the ~134M random model in q8_0; tok/s counts tokens of
// all sequences, the figure continuous batching multiplies.
func BenchmarkStepper(b *testing.B) {
	for _, seqs := range []int{1, 8} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("q8_0/seqs=%d/threads=%d", seqs, threads), func(b *testing.B) {
				m, err := LoadGGUF(benchModelPath(b, GGMLTypeQ8_0))
				if err != nil {
					b.Fatal(err)
				}
				m.SetThreads(threads)
				states := make([]*State, seqs)
				toks, pos := make([]int, seqs), make([]int, seqs)
				prompt := make([]int, 128)
				for i := range states {
					states[i] = m.NewStateN(256)
					for k := range prompt {
						prompt[k] = (k*7+i)%100 + 3
					}
					if err := states[i].Prefill(prompt, 0); err != nil {
						b.Fatal(err)
					}
					toks[i], pos[i] = 7+i, 128
				}
				st := m.NewStepper()
				b.ResetTimer()
				for b.Loop() {
					if _, err := st.Step(states, toks, pos); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*seqs)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}
