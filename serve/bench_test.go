package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/llama"
)

// The throughput benchmarks run the same work — 16 clients, each a greedy
// completion of exactly benchTokens tokens — through HTTP and directly on
// the engine, with GOMAXPROCS workers both times.
const (
	benchClients = 16
	benchTokens  = 128
)

var benchPrompts = []string{"Once upon a time", "Lily went to the park", "The cat sat", "Tom had a red ball",
	"One day, a bird", "The sun was hot", "Mom said", "A little boy"}

func benchPrompt(i int) string { return benchPrompts[i%len(benchPrompts)] }

// BenchmarkServeThroughput measures generated tokens per second of 16
// concurrent HTTP clients (non-streamed completions).
func BenchmarkServeThroughput(b *testing.B) {
	ts, _ := newTestServer(b, runtime.GOMAXPROCS(0), Options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	bodies := make([][]byte, benchClients)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":%d,"temperature":0,"ignore_eos":true}`, modelName, benchPrompt(i), benchTokens))
	}
	var tokens int64
	var mu sync.Mutex
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for i := range benchClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Post(ts.URL+"/v1/completions", "application/json", bytes.NewReader(bodies[i]))
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				var out struct {
					Usage struct {
						CompletionTokens int64 `json:"completion_tokens"`
					} `json:"usage"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
					b.Errorf("status %d: %v", resp.StatusCode, err)
					return
				}
				mu.Lock()
				tokens += out.Usage.CompletionTokens
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	if want := int64(b.N * benchClients * benchTokens); tokens != want {
		b.Fatalf("%d tokens generated, want %d", tokens, want)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkInProcess is BenchmarkServeThroughput's work on the engine
// itself (llama.Model.GenerateBatch with the same number of workers).
func BenchmarkInProcess(b *testing.B) {
	m := loadModel(b)
	reqs := make([]llama.BatchRequest, benchClients)
	for i := range reqs {
		reqs[i] = llama.BatchRequest{Prompt: benchPrompt(i), Options: llama.GenerateOptions{MaxTokens: benchTokens, IgnoreEOS: true}}
	}
	var tokens int64
	b.ResetTimer()
	for range b.N {
		gens, err := m.GenerateBatch(reqs, runtime.GOMAXPROCS(0))
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range gens {
			tokens += int64(len(g.Tokens))
		}
	}
	b.StopTimer()
	if want := int64(b.N * benchClients * benchTokens); tokens != want {
		b.Fatalf("%d tokens generated, want %d", tokens, want)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
