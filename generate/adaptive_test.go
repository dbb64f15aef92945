package generate

import (
	"container/heap"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// simServer is a scripted endpoint in virtual time: at most capacity(t)
// requests are served at once, each for about rtt; requests above that are
// either answered 429 at once (reject) or queued (queue).
type simServer struct {
	capacity func(t time.Duration) int
	rtt      time.Duration
	reject   bool
}

type simEvent struct {
	at     time.Duration
	start  time.Duration // when the client sent it
	finish bool          // a served request ends (else a 429)
}

type eventHeap []simEvent

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// gate is a client's concurrency policy in virtual time.
type gate interface {
	try(now time.Duration) bool
	done(start, now time.Duration, throttled bool)
}

type fixedGate struct{ k, inflight int }

func (g *fixedGate) try(time.Duration) bool {
	if g.inflight < g.k {
		g.inflight++
		return true
	}
	return false
}
func (g *fixedGate) done(time.Duration, time.Duration, bool) { g.inflight-- }

type adaptiveGate struct {
	a    *Adaptive
	base time.Time
}

func (g adaptiveGate) try(now time.Duration) bool {
	ok, _, _ := g.a.tryAcquire(g.base.Add(now))
	return ok
}
func (g adaptiveGate) done(start, now time.Duration, throttled bool) {
	o := outcomeOK
	if throttled {
		o = outcomeThrottled
	}
	g.a.release(g.base.Add(start), g.base.Add(now), o, 0)
}

// simResult counts what a client got: answers over the run, and attempts
// and 429s after the warm-up.
type simResult struct {
	ok, attemptsAfter, throttledAfter int
}

// simulate runs a client with unbounded demand (a 429 is sent again at
// once) against s for d of virtual time.
func simulate(s simServer, g gate, d, warmup time.Duration, seed uint64) simResult {
	rng := rand.New(rand.NewPCG(seed, 7))
	var h eventHeap
	var queue []time.Duration // queued requests' send times
	busy := 0
	var res simResult
	now := time.Duration(0)
	serve := func(start time.Duration) {
		busy++
		j := 0.9 + 0.2*rng.Float64()
		heap.Push(&h, simEvent{at: now + time.Duration(float64(s.rtt)*j), start: start, finish: true})
	}
	send := func() {
		for g.try(now) {
			if now >= warmup {
				res.attemptsAfter++
			}
			switch {
			case busy < s.capacity(now):
				serve(now)
			case s.reject:
				heap.Push(&h, simEvent{at: now + 10*time.Millisecond, start: now})
			default:
				queue = append(queue, now)
			}
		}
	}
	send()
	for h.Len() > 0 {
		e := heap.Pop(&h).(simEvent)
		now = e.at
		if now > d {
			break
		}
		if e.finish {
			busy--
			res.ok++
			for len(queue) > 0 && busy < s.capacity(now) {
				serve(queue[0])
				queue = queue[1:]
			}
		} else if now >= warmup {
			res.throttledAfter++
		}
		g.done(e.start, now, !e.finish)
		send()
	}
	return res
}

// TestAdaptiveMatchesBestFixed: against endpoints whose capacity changes
// mid-run, the adaptive limit's throughput is within 90% of the best fixed
// concurrency chosen in hindsight, and after the warm-up fewer than 5% of
// its requests get a 429. Time is virtual (100 ms round trips, 2 virtual
// minutes), so the test is exact and fast.
func TestAdaptiveMatchesBestFixed(t *testing.T) {
	const d, warmup = 2 * time.Minute, 20 * time.Second
	step := func(a, b int) func(time.Duration) int {
		return func(t time.Duration) int {
			if t < d/2 {
				return a
			}
			return b
		}
	}
	cases := []struct {
		name string
		s    simServer
	}{
		{"429 above a hidden limit of 24", simServer{capacity: step(24, 24), rtt: 100 * time.Millisecond, reject: true}},
		{"429, capacity 40 then 12", simServer{capacity: step(40, 12), rtt: 100 * time.Millisecond, reject: true}},
		{"429, capacity 12 then 40", simServer{capacity: step(12, 40), rtt: 100 * time.Millisecond, reject: true}},
		{"queueing, capacity 32 then 8", simServer{capacity: step(32, 8), rtt: 100 * time.Millisecond}},
		{"queueing, capacity 8 then 32", simServer{capacity: step(8, 32), rtt: 100 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			best, bestK := 0, 0
			for _, k := range []int{1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48} {
				r := simulate(c.s, &fixedGate{k: k}, d, warmup, 1)
				if r.ok > best {
					best, bestK = r.ok, k
				}
			}
			a := NewAdaptive(nil, AdaptiveOptions{})
			r := simulate(c.s, adaptiveGate{a: a, base: time.Unix(0, 0)}, d, warmup, 1)
			ratio := float64(r.ok) / float64(best)
			frac := float64(r.throttledAfter) / float64(max(r.attemptsAfter, 1))
			t.Logf("adaptive %d answers, best fixed %d (concurrency %d): %.3f; 429s after warm-up %.2f%% of %d; final limit %d",
				r.ok, best, bestK, ratio, 100*frac, r.attemptsAfter, a.Stats().Limit)
			if ratio < 0.9 {
				t.Errorf("throughput %.3f of the best fixed concurrency, want ≥ 0.9", ratio)
			}
			if frac >= 0.05 {
				t.Errorf("%.2f%% of requests after the warm-up got 429, want < 5%%", 100*frac)
			}
		})
	}
}

// statsSink keeps the largest concurrency a run reported.
type statsSink struct {
	mu      sync.Mutex
	maxConc int
	reports int
}

func (s *statsSink) Start(string, int) {}
func (s *statsSink) Add(int)           {}
func (s *statsSink) Done()             {}
func (s *statsSink) Stats(st Stats) {
	s.mu.Lock()
	s.maxConc = max(s.maxConc, st.Concurrency)
	s.reports++
	s.mu.Unlock()
}

// TestRunAdaptiveHiddenLimit: a real run through HTTP against a server that
// answers 429 above 6 requests in flight completes every request, reports
// its concurrency to the progress, and settles its limit near the hidden
// one.
func TestRunAdaptiveHiddenLimit(t *testing.T) {
	f := newFakeModel(t)
	f.delay = 20 * time.Millisecond
	var inflight atomic.Int32
	var throttled atomic.Int32
	f.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		if inflight.Add(1) > 6 {
			inflight.Add(-1)
			throttled.Add(1)
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit"}}`)
			return true
		}
		defer inflight.Add(-1)
		time.Sleep(f.delay)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, fakeAnswer(r.URL.Path, body))
		return true
	}
	o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: f.url(), Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	ad := NewAdaptive(o, AdaptiveOptions{})
	b := llm.Limited(ad, llm.LimitOptions{MaxAttempts: 20, BaseDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond, CooldownAfter: -1, Seed: 1})
	sink := &statsSink{}
	sum, err := Run(context.Background(), Options{Plan: testPlan(t, 120, 2, 3), Backend: b, Model: "m",
		Adaptive: ad, Progress: sink, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st := ad.Stats()
	t.Logf("%d requests, %d attempts, %d throttled, final limit %d, largest reported %d", sum.Requests, st.Requests, st.Throttled, st.Limit, sink.maxConc)
	if !sum.Complete || sum.Done != sum.Requests {
		t.Fatalf("run incomplete: %+v", sum)
	}
	if sink.maxConc < 2 {
		t.Errorf("the progress saw concurrency %d, want the adaptive limit (≥ 2)", sink.maxConc)
	}
	if st.Limit < 2 || st.Limit > 12 {
		t.Errorf("final limit %d, want near the hidden limit 6", st.Limit)
	}
	if int(throttled.Load()) != st.Throttled {
		t.Errorf("the server sent %d 429s, the limit saw %d", throttled.Load(), st.Throttled)
	}
}
