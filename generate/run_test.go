package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

// parseFailures are the reject reasons that mean the output was not
// parseable JSON (as opposed to JSON whose content is unusable).
var parseFailures = []string{synth.ReasonNoJSON, synth.ReasonInvalidJSON, synth.ReasonTruncated, synth.ReasonNotObject, synth.ReasonScanLimit, synth.ReasonEmptyOutput}

// checkConsistent checks the invariants of a finished run directory: the
// files agree with the summary and every record traces back to a prompt of
// prompts.jsonl and a request of journal.jsonl.
func checkConsistent(t *testing.T, dir string, sum Summary) []dataset.Record {
	t.Helper()
	recs := readRecords(t, filepath.Join(dir, FileSynthetic))
	if len(recs) != sum.Records {
		t.Errorf("synthetic.jsonl has %d records, the summary says %d", len(recs), sum.Records)
	}
	if n := len(readFileLines(t, filepath.Join(dir, FileRejects))); n != sum.Rejects {
		t.Errorf("rejects.jsonl has %d lines, the summary says %d", n, sum.Rejects)
	}
	prompts := map[string]promptLine{}
	for _, l := range readFileLines(t, filepath.Join(dir, FilePrompts)) {
		var p promptLine
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		prompts[p.ID] = p
	}
	keys := map[string]bool{}
	for _, l := range readFileLines(t, filepath.Join(dir, FileJournal)) {
		var e journalEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if keys[e.Key] {
			t.Errorf("request %s journaled twice", e.Key)
		}
		keys[e.Key] = true
	}
	if len(keys) != sum.Done {
		t.Errorf("journal has %d requests, the summary says %d done", len(keys), sum.Done)
	}
	for _, r := range recs {
		p, ok := prompts[r.Provenance.PromptID]
		switch {
		case !ok:
			t.Fatalf("record %s names prompt %q, not in prompts.jsonl", r.ID, r.Provenance.PromptID)
		case !keys[r.Provenance.RawKey]:
			t.Fatalf("record %s names request %q, not in the journal", r.ID, r.Provenance.RawKey)
		case !slices.Equal(p.DemoIDs, r.Provenance.DemoIDs):
			t.Fatalf("record %s: demos %v, prompt has %v", r.ID, r.Provenance.DemoIDs, p.DemoIDs)
		case r.Provenance.Model == "" || r.Provenance.Time.IsZero() || r.Provenance.Params["temperature"] == nil:
			t.Fatalf("record %s: incomplete provenance %+v", r.ID, r.Provenance)
		case r.ID != dataset.ContentID(r):
			t.Fatalf("record %s: ID is not the content ID", r.ID)
		}
	}
	return recs
}

// TestRunServedModel runs the pipeline against the real built-in engine
// behind the OpenAI-compatible server, through the OpenAI backend: in chat
// mode with the default task schema every answer is parseable JSON (the
// engine enforces the schema); in completion mode the free text is parsed
// and whatever is not a task is a reject. A second run sends nothing and
// leaves identical files.
func TestRunServedModel(t *testing.T) {
	base := servedStories(t)
	cases := []struct {
		name, mode string
		maxTokens  int
		wantParsed bool
	}{
		{"chat with the task schema", ModeChat, 300, true},
		{"completion free text", ModeCompletion, 120, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{
				Plan:        testPlan(t, 12, 2, 7),
				Backend:     openAI(t, base, "stories", map[string]string{ModeChat: llm.ModeChat, ModeCompletion: llm.ModeCompletion}[tc.mode], time.Minute),
				Model:       "stories",
				Mode:        tc.mode,
				Params:      Params{Temperature: 0.9, TopP: 0, MaxTokens: tc.maxTokens},
				Concurrency: 3,
				Price:       llm.Price{InputPerMTok: 1, OutputPerMTok: 2},
				OutDir:      dir,
				Curate:      true,
			}
			sum, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Complete || sum.Done != 6 || sum.Fetched != 6 || sum.Failed != 0 || sum.FormatRefused {
				t.Fatalf("summary %+v", sum)
			}
			if sum.PromptTokens == 0 || sum.CompletionTokens == 0 || sum.Cost <= 0 || sum.Cost != sum.FetchedCost {
				t.Errorf("tokens and cost not accounted: %+v", sum)
			}
			recs := checkConsistent(t, dir, sum)
			parseFail := 0
			for _, r := range parseFailures {
				parseFail += sum.RejectReasons[r]
			}
			if tc.wantParsed {
				// Every answer is a document of the schema: exactly the two
				// tasks asked for, each a record or a content reject.
				if parseFail != 0 || len(recs) == 0 || sum.Records+sum.Rejects != 12 {
					t.Fatalf("schema-constrained answers: %d records, rejects %v", len(recs), sum.RejectReasons)
				}
				for _, r := range recs {
					if r.Provenance.Params["format"] != llm.FormatJSONSchema {
						t.Fatalf("record made without the schema: %+v", r.Provenance.Params)
					}
				}
			} else if sum.Records+sum.Rejects == 0 {
				t.Fatal("the free text gave neither records nor rejects")
			}
			if sum.Curated+sum.Removed != sum.Records {
				t.Errorf("curation kept %d and removed %d of %d", sum.Curated, sum.Removed, sum.Records)
			}
			t.Logf("%s: %d records, rejects %v, %d+%d tokens", tc.name, sum.Records, sum.RejectReasons, sum.PromptTokens, sum.CompletionTokens)

			before := snapshot(t, dir)
			again, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if again.Fetched != 0 || again.CacheHits != 0 || again.Resumed != 6 || !again.Complete {
				t.Fatalf("second run: %+v", again)
			}
			after := snapshot(t, dir)
			for _, name := range []string{FileSynthetic, FileRejects, FilePrompts, FileCurated, FileRemoved, FileJournal} {
				if before[name] != after[name] {
					t.Errorf("%s changed on a run with nothing to do", name)
				}
			}
		})
	}
}

// snapshot returns the contents of the text files of a directory.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{FileSynthetic, FileRejects, FilePrompts, FileCurated, FileRemoved, FileJournal, FileRun} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			out[name] = string(b)
		}
	}
	return out
}

// injector is a backend that inserts known task objects at seeded places
// of the real model's text.
type injector struct {
	llm.Backend
}

func (in *injector) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	resp, err := in.Backend.Generate(ctx, req)
	if err != nil {
		return resp, err
	}
	rng := rand.New(rand.NewPCG(*req.Seed, 5))
	for i := range resp.Choices {
		runes := []rune(resp.Choices[i].Text)
		pos := make([]int, 3)
		for j := range pos {
			pos[j] = rng.IntN(len(runes) + 1)
		}
		slices.Sort(pos)
		var b strings.Builder
		last := 0
		for j, p := range pos {
			b.WriteString(string(runes[last:p]))
			d := synth.Demo{Instruction: fmt.Sprintf("Injected task %d of seed %d: name a colour.", j, *req.Seed), Response: fmt.Sprintf("Colour %d.", j)}
			if j == 1 {
				d.Context = "Lily had a [big] ball } {"
			}
			js, _ := json.Marshal(d)
			fmt.Fprintf(&b, "\n%d. %s\n", j+1, js)
			last = p
		}
		b.WriteString(string(runes[last:]))
		resp.Choices[i].Text = b.String()
	}
	return resp, nil
}

// TestRunParsesInjectedObjects runs completion mode on the real model with
// task objects injected into its free text: exactly the injected objects
// come back as records, in order, and the model's own text gives none.
func TestRunParsesInjectedObjects(t *testing.T) {
	base := servedStories(t)
	dir := t.TempDir()
	opt := Options{
		Plan:    testPlan(t, 8, 2, 3),
		Backend: &injector{Backend: openAI(t, base, "stories", llm.ModeCompletion, time.Minute)},
		Model:   "stories", Mode: ModeCompletion,
		Params: Params{Temperature: 1, MaxTokens: 150},
		OutDir: dir,
	}
	sum, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	recs := checkConsistent(t, dir, sum)
	if sum.Records != 3*sum.Requests {
		t.Fatalf("%d records from %d answers with 3 injected objects each; rejects %v", sum.Records, sum.Requests, sum.RejectReasons)
	}
	for i, r := range recs {
		j := i % 3
		want := fmt.Sprintf("Injected task %d of seed %d: name a colour.", j, r.Provenance.Seed)
		if r.Instruction != want || r.Output != fmt.Sprintf("Colour %d.", j) || (j == 1) != (r.Input != "") {
			t.Fatalf("record %d: %+v, want instruction %q", i, r, want)
		}
	}
}

// scriptedFaults returns a fault function that breaks the first attempts
// of every request in the given way.
func scriptedFaults(kind string, times int) func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
	return func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		if arrival > times {
			return false
		}
		switch kind {
		case "429":
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"error":{"message":"slow down","type":"rate_limit","param":null,"code":null}}`)
		case "500":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":{"message":"boom","type":"server","param":null,"code":null}}`)
		case "reset":
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "truncated body":
			a := fakeAnswer(r.URL.Path, body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", fmt.Sprint(len(a)))
			w.WriteHeader(200)
			fmt.Fprint(w, a[:len(a)/2])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
		case "slow body":
			// Within the time limit: the answer arrives, slowly.
			a := fakeAnswer(r.URL.Path, body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			for i := 0; i < len(a); i += len(a)/5 + 1 {
				fmt.Fprint(w, a[i:min(len(a), i+len(a)/5+1)])
				w.(http.Flusher).Flush()
				time.Sleep(15 * time.Millisecond)
			}
		case "too slow body":
			// Beyond the time limit: the attempt times out and is retried.
			a := fakeAnswer(r.URL.Path, body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			fmt.Fprint(w, a[:10])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "truncated text":
			// A complete HTTP answer whose model text stops mid-object:
			// data, kept as a reject, not a failure.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":"{\"tasks\":[{\"instruction\":\"Cut short"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}`)
		default:
			panic("unknown fault " + kind)
		}
		return true
	}
}

// TestRunFaults injects one kind of fault into the first attempts of every
// request: the run completes, every request is done exactly once, nothing
// is lost, and the retries are bounded.
func TestRunFaults(t *testing.T) {
	cases := []struct {
		kind  string
		times int
		sends int // HTTP requests per request
	}{
		{"429", 2, 3}, {"500", 1, 2}, {"reset", 1, 2}, {"hang", 1, 2}, {"truncated body", 1, 2}, {"slow body", 1, 1}, {"too slow body", 1, 2},
	}
	const requests = 6
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			fm := newFakeModel(t)
			fm.fault = scriptedFaults(tc.kind, tc.times)
			dir := t.TempDir()
			sum, err := Run(context.Background(), Options{
				Plan: testPlan(t, 2*requests, 2, 11), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, 400*time.Millisecond),
				Model: "fake", Params: Params{Temperature: 0.5, MaxTokens: 64}, Concurrency: 3, OutDir: dir,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.Complete || sum.Done != requests || sum.Failed != 0 || sum.Records != 2*requests || sum.Rejects != 0 {
				t.Fatalf("summary %+v", sum)
			}
			checkConsistent(t, dir, sum)
			total, byBody := fm.counts()
			if len(byBody) != requests {
				t.Fatalf("server saw %d distinct requests, want %d", len(byBody), requests)
			}
			for h, n := range byBody {
				if n != tc.sends {
					t.Errorf("request %.8s sent %d times, want %d", h, n, tc.sends)
				}
			}
			if tc.kind == "429" {
				// Retry-After: 1 is honoured (rather than the 5 ms backoff).
				fm.mu.Lock()
				for h, ts := range fm.times {
					for i := 1; i < len(ts); i++ {
						if d := ts[i].Sub(ts[i-1]); d < 900*time.Millisecond {
							t.Errorf("request %.8s retried after %v despite Retry-After: 1", h, d)
						}
					}
				}
				fm.mu.Unlock()
			}
			t.Logf("%s: %d HTTP requests for %d requests", tc.kind, total, requests)
		})
	}
	t.Run("truncated model text", func(t *testing.T) {
		fm := newFakeModel(t)
		fm.fault = scriptedFaults("truncated text", 1)
		dir := t.TempDir()
		sum, err := Run(context.Background(), Options{
			Plan: testPlan(t, 8, 2, 11), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
			Model: "fake", Params: Params{MaxTokens: 64}, OutDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Complete || sum.Failed != 0 || sum.Records != 0 || sum.Rejects != 4 || sum.RejectReasons[synth.ReasonTruncated] != 4 {
			t.Fatalf("summary %+v", sum)
		}
		checkConsistent(t, dir, sum)
	})
}

// TestRunPersistentFailureThenResume: one request fails on every attempt;
// the run finishes the others and reports it, and the next run (the
// endpoint healthy again) sends only that request and completes.
func TestRunPersistentFailureThenResume(t *testing.T) {
	fm := newFakeModel(t)
	var bad string
	fm.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
		if !strings.Contains(string(body), `"seed":`) {
			return false
		}
		if bad == "" {
			bad = string(body) // the first request to arrive
		}
		if string(body) != bad {
			return false
		}
		w.WriteHeader(503)
		return true
	}
	fm.delay = 0
	dir := t.TempDir()
	opt := Options{Plan: testPlan(t, 10, 2, 5), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
		Model: "fake", Params: Params{MaxTokens: 64}, Concurrency: 1, OutDir: dir}
	sum, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Complete || sum.Failed != 1 || sum.Done != 4 || sum.Failures[llm.ErrServer.Error()] != 1 || len(sum.Errors) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	firstTotal, _ := fm.counts()
	fm.mu.Lock()
	fm.fault = nil
	fm.mu.Unlock()
	sum, err = Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || sum.Resumed != 4 || sum.Fetched != 1 || sum.Failed != 0 {
		t.Fatalf("second run %+v", sum)
	}
	total, _ := fm.counts()
	if total != firstTotal+1 {
		t.Fatalf("the second run sent %d requests, want 1", total-firstTotal)
	}
	checkConsistent(t, dir, sum)
}

// TestRunResumeFromCrashStates reproduces on disk every state a kill can
// leave (a response in the cache but not journaled, a torn journal line,
// record lines of a request never journaled, a torn record line) and
// checks that a new run sends nothing and ends with the files of the
// uninterrupted run.
func TestRunResumeFromCrashStates(t *testing.T) {
	fm := newFakeModel(t)
	opt := func(dir string) Options {
		return Options{Plan: testPlan(t, 16, 2, 9), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
			Model: "fake", Params: Params{Temperature: 1, MaxTokens: 64}, Concurrency: 4, OutDir: dir, Curate: true,
			Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	}
	ref := t.TempDir()
	if _, err := Run(context.Background(), opt(ref)); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, ref)
	sent, _ := fm.counts()

	dir := t.TempDir()
	if _, err := Run(context.Background(), opt(dir)); err != nil {
		t.Fatal(err)
	}
	// Undo the end of the run: drop the last three journal lines (their
	// answers stay in the cache), leave a torn journal line, the record
	// lines of an unjournaled request, a torn record line and stale final
	// files.
	jl := readFileLines(t, filepath.Join(dir, FileJournal))
	torn := strings.Join(jl[:len(jl)-3], "\n") + "\n" + jl[len(jl)-3][:20]
	if err := os.WriteFile(filepath.Join(dir, FileJournal), []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, FileSynthetic), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := readFileLines(t, filepath.Join(dir, FileSynthetic))
	fmt.Fprintf(f, "%s\n%s", lines[len(lines)-1], lines[0][:30])
	f.Close()
	os.Remove(filepath.Join(dir, FileSummary))

	sum, err := Run(context.Background(), opt(dir))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != 5 || sum.CacheHits != 3 || sum.Fetched != 0 || !sum.Complete {
		t.Fatalf("summary %+v", sum)
	}
	if now, _ := fm.counts(); now != 2*sent {
		t.Fatalf("the resumed run sent %d requests, want 0", now-2*sent)
	}
	got := snapshot(t, dir)
	for _, name := range []string{FileSynthetic, FileRejects, FilePrompts, FileCurated, FileRemoved} {
		if got[name] != want[name] {
			t.Errorf("%s differs from the uninterrupted run's", name)
		}
	}
	checkConsistent(t, dir, sum)
}

// TestRunOtherOptions: a directory is resumed only with the options that
// made it.
func TestRunOtherOptions(t *testing.T) {
	fm := newFakeModel(t)
	dir := t.TempDir()
	opt := Options{Plan: testPlan(t, 4, 2, 1), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
		Model: "fake", Params: Params{Temperature: 1, MaxTokens: 64}, OutDir: dir}
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Options){
		"temperature": func(o *Options) { o.Params.Temperature = 0.5 },
		"seed":        func(o *Options) { o.Plan.Seed = 2 },
		"target":      func(o *Options) { o.Plan.Target = 6 },
		"mode":        func(o *Options) { o.Mode = ModeCompletion },
	} {
		o := opt
		change(&o)
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrOtherRun) {
			t.Errorf("%s changed: err %v, want ErrOtherRun", name, err)
		}
	}
}

// TestRunFatalAndRefusedFormat: refused credentials stop the run at once;
// an endpoint that refuses response_format gets free text instead.
func TestRunFatalAndRefusedFormat(t *testing.T) {
	t.Run("401", func(t *testing.T) {
		fm := newFakeModel(t)
		fm.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"message":"bad key","type":"auth","param":null,"code":"invalid_api_key"}}`)
			return true
		}
		sum, err := Run(context.Background(), Options{Plan: testPlan(t, 40, 2, 1), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
			Model: "fake", Concurrency: 2, OutDir: t.TempDir()})
		if !errors.Is(err, ErrFatal) || !errors.Is(err, llm.ErrAuth) {
			t.Fatalf("err %v, want ErrFatal and ErrAuth", err)
		}
		if total, _ := fm.counts(); total > 4 || sum.Done != 0 {
			t.Fatalf("%d requests sent after refused credentials; summary %+v", total, sum)
		}
	})
	t.Run("response_format refused", func(t *testing.T) {
		fm := newFakeModel(t)
		fm.fault = func(w http.ResponseWriter, r *http.Request, body []byte, arrival int) bool {
			if !strings.Contains(string(body), "response_format") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"unsupported parameter: response_format","type":"invalid_request_error","param":"response_format","code":null}}`)
			return true
		}
		dir := t.TempDir()
		sum, err := Run(context.Background(), Options{Plan: testPlan(t, 8, 2, 1), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
			Model: "fake", Concurrency: 1, OutDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Complete || !sum.FormatRefused || sum.Records != 8 {
			t.Fatalf("summary %+v", sum)
		}
		for _, r := range checkConsistent(t, dir, sum) {
			if r.Provenance.Params["format"] != llm.FormatText {
				t.Fatalf("provenance says format %v", r.Provenance.Params["format"])
			}
		}
	})
}

// TestTaskSchemaCompiles: the default answer schema is in the subset the
// built-in engine enforces.
func TestTaskSchemaCompiles(t *testing.T) {
	for _, n := range []int{0, 1, 20} {
		if _, err := TaskFormat(n).Compile(); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(TaskSchema(3), &doc); err != nil || !reflect.DeepEqual(doc["required"], []any{"tasks"}) {
		t.Fatalf("schema %s: %v", TaskSchema(3), err)
	}
}

// TestRunSamplesAndChoices: each prompt gets Samples requests with their own
// seeds, each answer N choices, and every record says which.
func TestRunSamplesAndChoices(t *testing.T) {
	fm := newFakeModel(t)
	dir := t.TempDir()
	sum, err := Run(context.Background(), Options{
		Plan: testPlan(t, 6, 2, 4), Backend: openAI(t, fm.url(), "fake", llm.ModeChat, time.Second),
		Model: "fake", Params: Params{Temperature: 1, MaxTokens: 64, N: 2}, Samples: 3, OutDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Complete || sum.Requests != 9 || sum.Records != 9*2*2 {
		t.Fatalf("summary %+v", sum)
	}
	if _, byBody := fm.counts(); len(byBody) != 9 {
		t.Fatalf("%d distinct requests, want 9", len(byBody))
	}
	seen := map[string]bool{}
	seeds := map[int64]bool{}
	for _, r := range checkConsistent(t, dir, sum) {
		p := r.Provenance.Params
		seen[fmt.Sprintf("%s/%v/%v", r.Provenance.PromptID, p["sample"], p["choice"])] = true
		seeds[r.Provenance.Seed] = true
	}
	if len(seen) != 3*3*2 || len(seeds) != 9 {
		t.Fatalf("%d (prompt, sample, choice) triples and %d seeds, want 18 and 9", len(seen), len(seeds))
	}
}
