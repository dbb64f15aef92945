package generate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// TestPossiblyBilled: the requests out when a run dies are counted as
// possibly billed by the next run, once. The killed run's disk state is
// taken while four requests hang at the server (the ledger line of a
// request is written before it leaves, so this is what kill -9 leaves).
func TestPossiblyBilled(t *testing.T) {
	f := newFakeModel(t)
	var hang atomic.Bool
	var hanging atomic.Int32
	release := make(chan struct{})
	hang.Store(true)
	f.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		f.mu.Lock()
		n := f.total
		f.mu.Unlock()
		if hang.Load() && n > 10 {
			hanging.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, fakeAnswer(r.URL.Path, body))
		return true
	}
	dir := t.TempDir()
	price := llm.Price{InputPerMTok: 1e6, OutputPerMTok: 2e6} // 1 per input token
	opt := Options{Plan: testPlan(t, 60, 2, 5), Backend: openAI(t, f.url(), "m", "chat", 0), Model: "m", Concurrency: 4, OutDir: dir, Price: price}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, opt); done <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for hanging.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the requests never hung")
		}
		time.Sleep(5 * time.Millisecond)
	}
	snap, err := os.ReadFile(filepath.Join(dir, FileInFlight))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	close(release)
	<-done
	hang.Store(false)
	// What kill -9 would have left: the ledger as it was with four out.
	if err := os.WriteFile(filepath.Join(dir, FileInFlight), snap, 0o644); err != nil {
		t.Fatal(err)
	}
	var want float64
	open := map[string]inflightLine{}
	for _, line := range readFileLines(t, filepath.Join(dir, FileInFlight)) {
		var e inflightLine
		if err := jsonUnmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e.Ended {
			delete(open, e.Key)
		} else {
			open[e.Key] = e
		}
	}
	for _, e := range open {
		want += float64(e.PromptTokens)
	}
	if len(open) != 4 {
		t.Fatalf("%d requests open in the ledger at the kill, want 4", len(open))
	}
	for run := 1; run <= 2; run++ {
		sum, err := Run(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Complete {
			t.Fatalf("rerun %d incomplete", run)
		}
		if sum.PossiblyBilled != 4 || sum.PossiblyBilledCost != want {
			t.Errorf("rerun %d: possibly billed %d costing %v, want 4 costing %v (the input tokens of the four)", run, sum.PossiblyBilled, sum.PossiblyBilledCost, want)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
