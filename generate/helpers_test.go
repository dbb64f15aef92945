package generate

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/serve"
	"github.com/ggmi-dev/ggmi/synth"
)

// loadStories is the shared stories260K model (the test skips without ../shared).
func loadStories(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

// servedStories serves the built-in engine over stories260K through the
// project's OpenAI-compatible server and returns its API root.
func servedStories(t testing.TB) string {
	t.Helper()
	b, err := llm.NewBuiltin(loadStories(t), llm.BuiltinOptions{Name: "stories", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(b, serve.Options{}))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	return srv.URL + "/v1"
}

// testAnchors reads testdata/anchors.jsonl (short tasks, so that prompts
// fit the 512-token context of stories260K).
func testAnchors(t testing.TB) []dataset.Record {
	t.Helper()
	recs, _, err := dataset.ReadFile(filepath.Join("testdata", "anchors.jsonl"), dataset.ReadOptions{
		Mapping: []string{"id=id", "instruction=instruction", "input=context", "output=response", "category=category"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// testPlan is a plan over the test anchors with the short template.
func testPlan(t testing.TB, target, perPrompt int, seed uint64) synth.Plan {
	t.Helper()
	tmpl, err := synth.LoadTemplate(filepath.Join("testdata", "short.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	return synth.Plan{Template: tmpl, Anchors: testAnchors(t), K: 2, PerPrompt: perPrompt, Target: target, Seed: seed}
}

// openAI returns a limited OpenAI backend on base with fast retries.
func openAI(t testing.TB, base, model, mode string, timeout time.Duration) llm.Backend {
	t.Helper()
	o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: base, Model: model, Mode: mode, APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	return llm.Limited(o, llm.LimitOptions{Concurrency: 4, Timeout: timeout, MaxAttempts: 4,
		BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, CooldownAfter: -1, Seed: 1})
}

// readRecords reads a JSONL file of records.
func readRecords(t testing.TB, path string) []dataset.Record {
	t.Helper()
	var out []dataset.Record
	for _, line := range readFileLines(t, path) {
		var r dataset.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v: %q", path, err, line)
		}
		out = append(out, r)
	}
	return out
}

// readFileLines returns the lines of a file (none when it is missing).
func readFileLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fakeModel is a scripted OpenAI-compatible server: its answer to a
// request depends only on the request body, and a fault function may
// replace the answer to the i-th arrival of a body. It counts arrivals by
// body hash.
type fakeModel struct {
	srv   *httptest.Server
	mu    sync.Mutex
	seen  map[string]int
	times map[string][]time.Time // arrivals by body hash
	total int
	// fault, when not nil, handles arrival (from 1) of a body and reports
	// whether it did.
	fault func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool
	delay time.Duration
}

func newFakeModel(t testing.TB) *fakeModel {
	t.Helper()
	f := &fakeModel{seen: map[string]int{}, times: map[string][]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeModel) url() string { return f.srv.URL + "/v1" }

func (f *fakeModel) counts() (total int, byBody map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.seen))
	for k, v := range f.seen {
		m[k] = v
	}
	return f.total, m
}

func (f *fakeModel) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	f.mu.Lock()
	f.seen[h]++
	f.times[h] = append(f.times[h], time.Now())
	f.total++
	arrival := f.seen[h]
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(w, r, body, arrival) {
		return
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, fakeAnswer(r.URL.Path, body))
}

// fakeText is the model text for a body: two tasks as JSON, named after
// the body's hash.
func fakeText(body []byte) string {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:4])
	return fmt.Sprintf(`{"tasks":[{"instruction":"Describe item %s in detail for a reader.","context":"","response":"Item %s is described here."},`+
		`{"instruction":"Explain why item %s matters to people today.","context":"ctx %s","response":"It matters because of %s."}]}`, h, h, h, h, h)
}

// fakeAnswer is a chat or completion answer with the body's "n" choices,
// choice i carrying fakeText of the body and i.
func fakeAnswer(path string, body []byte) string {
	var req struct{ N int }
	_ = json.Unmarshal(body, &req)
	var choices []string
	for i := range max(req.N, 1) {
		b := body
		if i > 0 {
			b = append(append([]byte(nil), body...), byte(i))
		}
		text, _ := json.Marshal(fakeText(b))
		if strings.HasSuffix(path, "/chat/completions") {
			choices = append(choices, fmt.Sprintf(`{"index":%d,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}`, i, text))
		} else {
			choices = append(choices, fmt.Sprintf(`{"index":%d,"text":%s,"finish_reason":"stop"}`, i, text))
		}
	}
	object := "text_completion"
	if strings.HasSuffix(path, "/chat/completions") {
		object = "chat.completion"
	}
	return fmt.Sprintf(`{"id":"c","object":%q,"created":1,"model":"fake","choices":[%s],"usage":{"prompt_tokens":50,"completion_tokens":40,"total_tokens":90}}`, object, strings.Join(choices, ","))
}
