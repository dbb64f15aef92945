package llm_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

const (
	benchConc    = 64
	benchLatency = 50 * time.Millisecond
)

// latencyServer answers every request with a fixed chat completion after
// benchLatency.
func latencyServer(b *testing.B) *httptest.Server {
	body := chatJSON("a short answer")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(benchLatency)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// measureThroughput warms up with one round, then runs whole rounds of
// benchConc requests (at least b.N) on benchConc goroutines and reports
// ns/op, req/s and the ratio to the ideal benchConc / benchLatency. A
// last, partly filled round would measure the server's fixed latency
// rather than the client, hence the whole rounds.
func measureThroughput(b *testing.B, call func() error) {
	run := func(n int) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		var firstErr error
		var once sync.Once
		for range benchConc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := call(); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		return firstErr
	}
	if err := run(benchConc); err != nil {
		b.Fatal(err)
	}
	n := (b.N + benchConc - 1) / benchConc * benchConc
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	if err := run(n); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	// CPU per request (client and server together, both in this process):
	// at 64 requests waking at once every 50 ms, their CPU is serialised
	// over the cores, so it is what separates the throughput from the
	// ideal, and it is far less noisy than req/s on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/req")
	rps := float64(n) / el.Seconds()
	b.ReportMetric(float64(el.Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(rps/(benchConc/benchLatency.Seconds()), "ratio")
}

// processCPU returns the CPU time (user and system) of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClientThroughput measures Limited(OpenAI) at concurrency 64
// against a local server that answers every request after a fixed 50 ms.
// The ideal is 64 / 0.05 s = 1280 req/s; the benchmark reports req/s and
// the ratio to the ideal (goal ≥ 0.95). Run it with
//
//	go test -run xxx -bench ClientThroughput -count 5 ./llm/
func BenchmarkClientThroughput(b *testing.B) {
	srv := latencyServer(b)
	o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		b.Fatal(err)
	}
	l := llm.Limited(o, llm.LimitOptions{Concurrency: benchConc, Timeout: 10 * time.Second})
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Write one sentence."}}, MaxTokens: 16}
	measureThroughput(b, func() error {
		_, err := l.Generate(context.Background(), req)
		return err
	})
}

// BenchmarkRawHTTPThroughput is the floor of BenchmarkClientThroughput on
// the same machine: bare net/http POSTs to the same server, no SDK, no
// limits, no decoding. The gap between the two is the client's overhead.
func BenchmarkRawHTTPThroughput(b *testing.B) {
	srv := latencyServer(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1024
	c := &http.Client{Transport: tr}
	measureThroughput(b, func() error {
		resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"model":"m"}`))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	})
}
