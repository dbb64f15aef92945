package generate

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// BenchmarkOnline256: the online client (Run over llm.Limited and the
// OpenAI backend, with its cache, journal and parsing) at concurrency 256
// against a server that answers each request after 50 ms. The ideal rate
// is 256 / 50 ms = 5120 requests/s; the benchmark reports the fraction of
// it kept ("ideal-frac", goal ≥ 0.95).
func BenchmarkOnline256(b *testing.B) { benchOnline(b, 256) }

// BenchmarkOnline64 is BenchmarkOnline256 at concurrency 64 (ideal 1280
// requests/s).
func BenchmarkOnline64(b *testing.B) { benchOnline(b, 64) }

func benchOnline(b *testing.B, conc int) {
	const delay = 50 * time.Millisecond
	f := newFakeModel(b)
	f.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, fakeAnswer(r.URL.Path, body))
		return true
	}
	o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: f.url(), Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		b.Fatal(err)
	}
	plan := testPlan(b, 2*conc, 2, 9)
	const samples = 8 // 2·conc/2 prompts × 8 = 8·conc requests: 8 waves of 50 ms
	var fracs []float64
	for i := 0; i < b.N; i++ {
		opt := Options{Plan: plan, Samples: samples, Model: "m", Concurrency: conc, OutDir: b.TempDir(),
			Backend: llm.Limited(o, llm.LimitOptions{Concurrency: conc, CooldownAfter: -1})}
		start := time.Now()
		sum, err := Run(context.Background(), opt)
		el := time.Since(start)
		if err != nil || !sum.Complete {
			b.Fatalf("run: %v (%+v)", err, sum)
		}
		ideal := float64(conc) / delay.Seconds()
		fracs = append(fracs, float64(sum.Fetched)/el.Seconds()/ideal)
	}
	b.ReportMetric(fracs[len(fracs)/2], "ideal-frac")
}
