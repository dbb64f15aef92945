package llama

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestMutatedInputs feeds deterministic random corruptions of valid files
// (byte flips, truncations, header rewrites) to both loaders: every input
// must either load into a usable model or return an error, never panic.
func TestMutatedInputs(t *testing.T) {
	m := tinyModel(t, tinyConfig, 21)
	formats := []struct {
		name  string
		data  []byte
		parse func([]byte) (*Model, error)
	}{
		{"llama2c", modelToLlama2c(m), func(d []byte) (*Model, error) { return ReadLlama2c(bytes.NewReader(d), int64(len(d))) }},
		{"gguf", modelToGGUF(m, GGMLTypeQ8_0), func(d []byte) (*Model, error) { return ReadGGUF(bytes.NewReader(d), int64(len(d))) }},
	}
	for _, f := range formats {
		rng := rand.New(rand.NewPCG(5, 6))
		rejected := 0
		const n = 3000
		for it := 0; it < n; it++ {
			d := bytes.Clone(f.data)
			switch it % 3 {
			case 0: // flip bytes in the first 600 bytes (headers and metadata)
				for k := 0; k < 1+rng.IntN(4); k++ {
					d[rng.IntN(min(600, len(d)))] = byte(rng.Uint32())
				}
			case 1: // truncate
				d = d[:rng.IntN(len(d))]
			case 2: // overwrite a 64-bit word with an extreme value
				i := rng.IntN(min(600, len(d)-8))
				v := []uint64{0, 1 << 63, 1<<64 - 1, 1 << 31, 1<<32 - 1}[rng.IntN(5)]
				for k := 0; k < 8; k++ {
					d[i+k] = byte(v >> (8 * k))
				}
			}
			// A watchdog turns a hang into a crash with all stacks.
			done := make(chan struct{})
			go func(it int) {
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					buf := make([]byte, 1<<20)
					n := runtime.Stack(buf, true)
					panic(fmt.Sprintf("%s iteration %d slow: len %d\n%s", f.name, it, len(d), buf[:n]))
				}
			}(it)
			model, err := f.parse(d)
			if err != nil {
				rejected++
				close(done)
				continue
			}
			exercise(t, model)
			close(done)
		}
		// Truncations are always invalid, so at least a third is rejected.
		if rejected < n/3 {
			t.Errorf("%s: only %d of %d corrupted inputs rejected", f.name, rejected, n)
		}
	}
}
