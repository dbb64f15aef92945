package batch_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/batch"
	"github.com/ggmi-dev/ggmi/internal/batchfake"
	"github.com/ggmi-dev/ggmi/llm"
)

// answer is the fake's chat completion: its text names the body's hash.
func answer(body []byte) []byte {
	sum := sha256.Sum256(body)
	text, _ := json.Marshal("answer " + hex.EncodeToString(sum[:8]))
	return []byte(fmt.Sprintf(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`, text))
}

// setup returns a fake, its provider and n requests keyed like the cache.
func setup(t *testing.T, n int, provider string) (*batchfake.Server, batch.Provider, []batch.Item) {
	t.Helper()
	f := batchfake.New(answer)
	t.Cleanup(f.Close)
	f.AutoStep = true
	b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: f.URL + "/v1", Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]batch.Item, n)
	for i := range items {
		seed := uint64(i)
		req := llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: fmt.Sprintf("prompt %d", i)}}, Seed: &seed}
		k, err := llm.CacheKey(b.Identity(), req)
		if err != nil {
			t.Fatal(err)
		}
		items[i] = batch.Item{ID: k, Req: req}
	}
	if provider == "anthropic" {
		return f, batch.NewAnthropic(batch.AnthropicOptions{BaseURL: f.URL, Model: "m", APIKeyEnv: "GGMI_TEST_NO_KEY"}), items
	}
	return f, batch.NewOpenAI(b), items
}

var providers = []string{"openai", "anthropic"}

// store is a durable cache stand-in: what was stored stays stored.
type store struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *store) put(es []llm.Keyed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		s.m[e.Key] = e.Resp.Choices[0].Text
	}
	return nil
}

// missing returns the items without an answer.
func (s *store) missing(items []batch.Item) []batch.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []batch.Item
	for _, it := range items {
		if _, ok := s.m[it.ID]; !ok {
			out = append(out, it)
		}
	}
	return out
}

var errKilled = errors.New("killed")

// dying is a provider whose process dies at its k-th call: before the
// call reaches the provider (even k) or right after it took effect (odd
// k), as kill -9 would leave it.
type dying struct {
	batch.Provider
	calls, k int
}

func (d *dying) die(after bool) error {
	d.calls++
	if d.calls == d.k/2+1 && (d.k%2 == 1) == after {
		return errKilled
	}
	return nil
}

func (d *dying) Create(ctx context.Context, tag string, lines [][]byte) (string, error) {
	if err := d.die(false); err != nil {
		return "", err
	}
	d.calls--
	id, err := d.Provider.Create(ctx, tag, lines)
	if err == nil {
		err = d.die(true)
	}
	return id, err
}

func (d *dying) Poll(ctx context.Context, id string) (batch.Status, error) {
	if err := d.die(false); err != nil {
		return batch.Status{}, err
	}
	return d.Provider.Poll(ctx, id)
}

func (d *dying) Results(ctx context.Context, id string, c func(string) (int, bool), fn func(batch.Outcome) error, bad func(string)) error {
	if err := d.die(false); err != nil {
		return err
	}
	n := 0
	return d.Provider.Results(ctx, id, c, func(o batch.Outcome) error {
		if n++; n == 3 && d.k%2 == 1 {
			return errKilled // died while storing the results
		}
		return fn(o)
	}, bad)
}

func noSleep(context.Context, time.Duration) error { return nil }

// TestRunKillResume dies at 20 seeded points of submit, poll and download;
// each time a new Run resumes from the ledger. The answers equal an
// uninterrupted run's and the fake was paid once per request.
func TestRunKillResume(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) { testRunKillResume(t, prov) })
	}
}

func testRunKillResume(t *testing.T, provider string) {
	const n = 230
	_, refP, refItems := setup(t, n, provider)
	items := refItems
	want := &store{m: map[string]string{}}
	rep, err := batch.Run(context.Background(), batch.Options{Provider: refP, Ledger: filepath.Join(t.TempDir(), "ledger.jsonl"),
		Items: items, Store: want.put, Limits: batch.Limits{MaxRequests: 50}, Sleep: noSleep})
	if err != nil || len(want.m) != n || rep.Created != 5 || len(rep.Failed) != 0 {
		t.Fatalf("uninterrupted: %v, %d answers, %+v", err, len(want.m), rep)
	}

	rng := rand.New(rand.NewPCG(13, 1))
	total := 0
	defer func() { t.Logf("%d kills in 20 runs", total) }()
	for round := range 20 {
		f, p, items := setup(t, n, provider)
		got := &store{m: map[string]string{}}
		ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
		kills := 0
		for attempt := 0; ; attempt++ {
			var prov batch.Provider = p
			if attempt < 3 {
				prov = &dying{Provider: p, k: rng.IntN(24)}
			}
			_, err := batch.Run(context.Background(), batch.Options{Provider: prov, Ledger: ledger,
				Items: got.missing(items), Store: got.put, Limits: batch.Limits{MaxRequests: 50}, Sleep: noSleep})
			if err == nil {
				break
			}
			if !errors.Is(err, errKilled) {
				t.Fatalf("round %d: %v", round, err)
			}
			kills++
			total++
		}
		if !reflect.DeepEqual(byIndex(got, items), byIndex(want, refItems)) {
			t.Fatalf("round %d (%d kills): %d answers, want %d, or different texts", round, kills, len(got.m), len(want.m))
		}
		for id, c := range f.Paid() {
			if c != 1 {
				t.Fatalf("round %d (%d kills): request %.8s paid %d times", round, kills, id, c)
			}
		}
		if len(f.Paid()) != n {
			t.Fatalf("round %d: %d requests paid, want %d", round, len(f.Paid()), n)
		}
	}
}

// byIndex lists the answers in request order (keys name the endpoint).
func byIndex(s *store, items []batch.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = s.m[it.ID]
	}
	return out
}

// TestRunExpiryResubmit: requests that expire are reported, and only they
// are sent again with Resubmit.
func TestRunExpiryResubmit(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) { testRunExpiryResubmit(t, prov) })
	}
}

func testRunExpiryResubmit(t *testing.T, provider string) {
	f, p, items := setup(t, 60, provider)
	expired := map[string]bool{items[3].ID: true, items[40].ID: true, items[41].ID: true}
	f.Expire = func(id string) bool { return expired[id] }
	got := &store{m: map[string]string{}}
	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	opt := batch.Options{Provider: p, Ledger: ledger, Store: got.put, Limits: batch.Limits{MaxRequests: 25}, Sleep: noSleep}
	opt.Items = got.missing(items)
	rep, err := batch.Run(context.Background(), opt)
	if err != nil || len(rep.Failed) != 3 || len(got.m) != 57 {
		t.Fatalf("%v: %d failed, %d answers", err, len(rep.Failed), len(got.m))
	}
	for id, why := range rep.Failed {
		if !expired[id] || !strings.HasPrefix(why, "expired") {
			t.Errorf("failed %.8s: %s", id, why)
		}
	}
	// Without Resubmit a rerun sends nothing and reports them again.
	opt.Items = got.missing(items)
	if rep, err = batch.Run(context.Background(), opt); err != nil || len(rep.Failed) != 3 || rep.Submitted != 0 {
		t.Fatalf("rerun: %v %+v", err, rep)
	}
	f.Expire = nil
	opt.Items, opt.Resubmit = got.missing(items), true
	if rep, err = batch.Run(context.Background(), opt); err != nil || len(rep.Failed) != 0 || rep.Resubmitted != 3 || len(got.m) != 60 {
		t.Fatalf("resubmit: %v %+v, %d answers", err, rep, len(got.m))
	}
	for id, c := range f.Paid() {
		if want := map[bool]int{true: 2, false: 1}[expired[id]]; c != want {
			t.Errorf("request %.8s paid %d times, want %d", id, c, want)
		}
	}
}

// TestRunBadResults: a malformed line, a custom id not ours and a provider
// error each give one note; every other answer is kept.
func TestRunBadResults(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) { testRunBadResults(t, prov) })
	}
}

func testRunBadResults(t *testing.T, provider string) {
	f, p, items := setup(t, 10, provider)
	f.Corrupt = []string{`{not json`, `{"custom_id":"someone-else","response":{"status_code":200,"body":{}}}`}
	f.Fail = func(id string) int {
		if id == items[7].ID {
			return 500
		}
		return 0
	}
	got := &store{m: map[string]string{}}
	rep, err := batch.Run(context.Background(), batch.Options{Provider: p, Ledger: filepath.Join(t.TempDir(), "l.jsonl"),
		Items: items, Store: got.put, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.m) != 9 || rep.BadLines != 2 || len(rep.Notes) != 2 || len(rep.Failed) != 1 {
		t.Fatalf("%d answers, %+v", len(got.m), rep)
	}
	if !strings.Contains(rep.Notes[0], "is not a batch result") || !strings.Contains(rep.Notes[1], `"someone-else", which is not a request of this batch`) {
		t.Errorf("notes: %q", rep.Notes)
	}
	if why := rep.Failed[items[7].ID]; !strings.Contains(why, "HTTP 500") && !strings.Contains(why, "api_error: injected") {
		t.Errorf("failure: %q", why)
	}
}
