package serve

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

// BenchmarkServeStreams measures what continuous batching gives `ggmi
// serve`: S concurrent streamed completions (greedy, exactly T tokens
// each, different prompts) against one server whose built-in engine
// decodes up to 8 sequences together, for S = 1 then S = 8 in every
// iteration; tok/s counts the tokens of all streams, ratio is the second
// rate over the first. The model is GGMI_BENCH_MODEL (a .gguf or
// .bin, e.g. bench/llamacpp's 110M q8_0 file) or stories260K; T is
// GGMI_BENCH_TOKENS (64). bench/serve-batching.sh prints the medians and
// their ratio.
func BenchmarkServeStreams(b *testing.B) {
	m := loadModel(b)
	if p := os.Getenv("GGMI_BENCH_MODEL"); p != "" {
		var err error
		if m, err = llama.Load(p); err != nil {
			b.Fatal(err)
		}
	}
	tokens := 64
	if s := os.Getenv("GGMI_BENCH_TOKENS"); s != "" {
		var err error
		if tokens, err = strconv.Atoi(s); err != nil || tokens < 1 {
			b.Fatalf("GGMI_BENCH_TOKENS=%q: want a positive number", s)
		}
	}
	be, err := llm.NewBuiltin(m, llm.BuiltinOptions{Name: modelName, Workers: 8, Threads: runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	ts := httptest.NewServer(New(be, Options{}))
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	// round runs streams concurrent completions of n tokens and returns
	// the seconds it took.
	round := func(streams, n int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Appendf(nil, `{"model":%q,"prompt":%q,"max_tokens":%d,"temperature":0,"ignore_eos":true,"stream":true}`,
					modelName, benchPrompt(i), n)
				resp, err := client.Post(ts.URL+"/v1/completions", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				out, err := io.ReadAll(resp.Body)
				// Exactly max_tokens tokens were generated when the stream
				// ends on finish_reason "length".
				if err != nil || resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"finish_reason":"length"`)) ||
					!bytes.HasSuffix(bytes.TrimSpace(out), []byte("data: [DONE]")) {
					b.Errorf("stream %d: status %d, %v: %.200s", i, resp.StatusCode, err, out)
				}
			}()
		}
		wg.Wait()
		return time.Since(start).Seconds()
	}
	round(8, 4) // fault the weights in
	// Each iteration times one stream, then eight, back to back, so that
	// both see the same load on a shared machine.
	var one, eight float64
	b.ResetTimer()
	for range b.N {
		one += round(1, tokens)
		eight += round(8, tokens)
	}
	r1 := float64(b.N*tokens) / one
	r8 := float64(b.N*8*tokens) / eight
	b.ReportMetric(r1, "tok/s-1stream")
	b.ReportMetric(r8, "tok/s-8streams")
	b.ReportMetric(r8/r1, "ratio")
}
