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
