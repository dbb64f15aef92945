package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llm"
)

// Test inputs shared with the generate package: short anchors and a short
// template (prompts that fit small models).
var (
	genAnchors  = filepath.Join("..", "..", "generate", "testdata", "anchors.jsonl")
	genTemplate = filepath.Join("..", "..", "generate", "testdata", "short.tmpl")
	genMap      = []string{"--map", "id=id", "--map", "instruction=instruction", "--map", "input=context", "--map", "output=response"}
)

// genArgs returns a generate command line over the test inputs.
func genArgs(model, out string, extra ...string) []string {
	args := append([]string{"generate", "--anchors", genAnchors}, genMap...)
	args = append(args, "--template", genTemplate, "--demos", "2", "--model", model)
	if out != "" {
		args = append(args, "--out", out)
	}
	return append(args, extra...)
}

// countingModel is an OpenAI-compatible server whose answer depends only
// on the request body. It logs every arrival with its time and body hash.
type countingModel struct {
	srv     *httptest.Server
	latency time.Duration
	mu      sync.Mutex
	log     []arrival
	auth    map[string]int // Authorization headers seen
	// fail, when it returns a status, answers with that status and the
	// message instead.
	fail func(body []byte) (int, string)
}

type arrival struct {
	hash string
	seed uint64 // the request's sampling seed: names its prompt
	at   time.Time
}

func newCountingModel(t *testing.T, latency time.Duration) *countingModel {
	t.Helper()
	c := &countingModel{latency: latency, auth: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		var req struct{ Seed uint64 }
		_ = json.Unmarshal(body, &req)
		c.mu.Lock()
		c.log = append(c.log, arrival{h, req.Seed, time.Now()})
		c.auth[r.Header.Get("Authorization")]++
		fail := c.fail
		c.mu.Unlock()
		time.Sleep(c.latency)
		w.Header().Set("Content-Type", "application/json")
		if fail != nil {
			if status, msg := fail(body); status != 0 {
				w.WriteHeader(status)
				m, _ := json.Marshal(msg)
				fmt.Fprintf(w, `{"error":{"message":%s,"type":"x","param":null,"code":null}}`, m)
				return
			}
		}
		text, _ := json.Marshal(fmt.Sprintf(`[{"instruction":"Describe thing %.8s for a curious reader.","context":"","response":"Thing %.8s, described."},`+
			`{"instruction":"Explain where thing %.8s comes from and why.","context":"","response":"It comes from %.8s."}]`, h, h, h[8:], h[8:]))
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":20,"total_tokens":50}}`, text)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// setFail sets the failure function.
func (c *countingModel) setFail(f func(body []byte) (int, string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = f
}

func (c *countingModel) model() string { return c.srv.URL + "/v1#m" }

func (c *countingModel) arrivals() []arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]arrival(nil), c.log...)
}

func TestGenerateBadArguments(t *testing.T) {
	dir := t.TempDir()
	model := "http://127.0.0.1:1/v1#m" // never contacted: the flags are checked first
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--model", model, "--out", dir}, "--anchors is required"},
		{[]string{"generate", "--anchors", genAnchors, "--out", dir}, "--model is required"},
		{genArgs(model, ""), "--out is required"},
		{genArgs("ftp://host/v1", dir), "--model"},
		{genArgs("http://127.0.0.1:1/v1", dir), "names no model after the endpoint"},
		{genArgs("builtin:"+filepath.Join(dir, "none.bin"), dir), "model file"},
		{genArgs("hf://only-owner", dir), "--model"},
		{genArgs(model, dir, "--map", "nonsense"), "--map"},
		{genArgs(model, dir, "--mode", "instruct"), "--mode must be chat or completion"},
		{genArgs(model, dir, "--price", "cheap"), "--price"},
		{genArgs(model, dir, "--temperature", "3"), "--temperature"},
		{genArgs(model, dir, "--n", "0"), "--n must be"},
		{genArgs(model, dir, "--per-prompt", "0"), "--per-prompt"},
		{genArgs(model, dir, "--concurrency", "0"), "--concurrency"},
		{genArgs(model, dir, "--format", filepath.Join(dir, "none.json")), "--format"},
		{genArgs(model, dir, "--demos", "100"), "--demos 100 is more than the 8 anchors"},
		{genArgs(model, dir, "--template", filepath.Join(dir, "none.tmpl")), "--template"},
		{[]string{"generate", "--anchors", filepath.Join(dir, "none.jsonl"), "--model", model, "--out", dir}, "--anchors"},
		{genArgs(model, dir, "--api-key-env", "sk-live-123"), "--api-key-env takes the name of an environment variable"},
		{genArgs(model, dir, "--seed", "x"), "invalid argument"},
		{genArgs(model, dir, "--base-url", "http://127.0.0.1:2/v1", "--batch", "openai"), "--base-url does not go with --batch"},
		{genArgs(model, dir, "--base-url", "http://127.0.0.1:2/v1,http://127.0.0.1:1/v1/"), "is given twice"},
		{genArgs(model, dir, "--base-url", "ftp://127.0.0.1:2/v1"), "--base-url"},
		{append(genArgs(model, dir), "extra"), "unknown command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			code, out, errOut := runCLI(c.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("stderr %q, want one line with %q", errOut, c.want)
			}
			if strings.Contains(errOut, "sk-live-123") {
				t.Errorf("stderr repeats what may be a key: %q", errOut)
			}
		})
	}
}

// TestGenerateDryRun: --dry-run prints the plan and its estimate, sends
// nothing and writes nothing.
func TestGenerateDryRun(t *testing.T) {
	m := newCountingModel(t, 0)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(genArgs(m.model(), out, "--dry-run", "--target", "10", "--per-prompt", "2", "--show", "1", "--max-tokens", "100", "--price", "1,2")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden := filepath.Join("testdata", "generate_dryrun.golden")
	got := strings.ReplaceAll(stdout, m.srv.URL, "http://HOST")
	if os.Getenv("GGMI_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (set GGMI_UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("dry run output differs from %s:\n%s", golden, got)
	}
	for _, s := range []string{"5 prompts × 1 samples = 5 requests for about 10 records", "output tokens: at most 500", "--- prompt 0 (", "Write 2 tasks as JSON."} {
		if !strings.Contains(got, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if strings.Contains(got, "--- prompt 1 ") {
		t.Error("--show 1 printed more than one prompt")
	}
	if len(m.arrivals()) != 0 {
		t.Errorf("the dry run sent %d requests", len(m.arrivals()))
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the dry run created %s", out)
	}
	code, stdout, _ = runCLI(genArgs(m.model(), "", "--dry-run", "--target", "10", "--per-prompt", "2", "--json")...)
	var est generate.Estimate
	if code != 0 || json.Unmarshal([]byte(stdout), &est) != nil || est.Calls != 5 || est.Records != 10 {
		t.Fatalf("--json: exit %d, %+v\n%s", code, est, stdout)
	}
}

// recordsOf reads the records of a run's file without their times.
func recordsOf(t *testing.T, path string) []dataset.Record {
	t.Helper()
	recs, _, err := dataset.ReadFile(path, dataset.ReadOptions{Schema: "record"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i].Provenance.Time = time.Time{}
	}
	return recs
}

// buildGGMI builds the command into a temporary directory.
func buildGGMI(t *testing.T) string {
	t.Helper()
	//lint:ignore SA1019 the toolchain that runs the test builds the command; PATH is the fallback
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skipf("no go command to build ggmi: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "ggmi")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestGenerateKillResume kills `ggmi generate` with SIGKILL at 20 random
// points (fixed seed), restarting it each time, then lets it finish: the
// final files equal those of an uninterrupted run, and the server never
// saw a request again unless the process was killed while it was in
// flight (at most --concurrency per kill).
func TestGenerateKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 20 times")
	}
	bin := buildGGMI(t)
	m := newCountingModel(t, 25*time.Millisecond)
	const conc, requests = 4, 300
	args := func(out string) []string {
		return genArgs(m.model(), out, "--target", fmt.Sprint(2*requests), "--per-prompt", "2", "--concurrency", fmt.Sprint(conc), "--seed", "3", "-q")
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if out, err := exec.Command(bin, args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	refSent := len(m.arrivals())
	if refSent != requests {
		t.Fatalf("uninterrupted run sent %d requests, want %d", refSent, requests)
	}

	out := filepath.Join(t.TempDir(), "killed")
	rng := rand.New(rand.NewPCG(20, 26))
	// A killed run's life: from its start until the kill was reaped, and
	// the seeds of the requests its journal holds at that point (the
	// completed work, which no later run may send again).
	type life struct {
		start, end time.Time
		done       map[uint64]bool
	}
	var lives []life
	kills := 0
	for range 20 {
		cmd := exec.Command(bin, args(out)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run ended with %v before its kill: %s", err, stderr.String())
			}
			continue // finished before the kill point
		case <-time.After(time.Duration(30+rng.IntN(220)) * time.Millisecond):
		}
		_ = cmd.Process.Kill() // SIGKILL
		<-done
		kills++
		lives = append(lives, life{start, time.Now(), journaledSeeds(t, out)})
	}
	if kills < 10 {
		t.Fatalf("only %d of 20 runs were killed mid-way; the test needs a longer run", kills)
	}
	final, err := exec.Command(bin, append(args(out), "--json")...).Output()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, final)
	}
	var sum generate.Summary
	if err := json.Unmarshal(final, &sum); err != nil || !sum.Complete || sum.Done != requests {
		t.Fatalf("final summary %+v (%v)", sum, err)
	}
	for _, name := range []string{"synthetic.jsonl", "curated.jsonl", "removed.jsonl"} {
		want, got := recordsOf(t, filepath.Join(ref, name)), recordsOf(t, filepath.Join(out, name))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d records after 20 kills, %d uninterrupted, or different content", name, len(got), len(want))
		}
	}
	for _, name := range []string{"rejects.jsonl", "prompts.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(ref, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted run's", name)
		}
	}

	// Every request the killed runs sent twice was in flight when a run
	// was killed: its first arrival lies within a killed run's life (the
	// server logs an arrival once it has read the body, which may be a
	// moment after the sender died) and the next one after that life.
	arr := m.arrivals()[refSent:]
	byHash := map[string][]time.Time{}
	for _, a := range arr {
		byHash[a.hash] = append(byHash[a.hash], a.at)
	}
	if len(byHash) != requests {
		t.Fatalf("the killed runs sent %d distinct requests, want %d", len(byHash), requests)
	}
	repeats := 0
	for h, ts := range byHash {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		for i := 1; i < len(ts); i++ {
			repeats++
			ok := false
			for _, l := range lives {
				if !ts[i-1].Before(l.start) && ts[i-1].Before(l.end.Add(100*time.Millisecond)) && ts[i].After(l.end) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("request %.8s sent again at %v with no kill in between (first at %v)", h, ts[i].Format("15:04:05.000"), ts[i-1].Format("15:04:05.000"))
			}
		}
	}
	for _, l := range lives {
		for _, a := range arr {
			if a.at.After(l.end) && l.done[a.seed] {
				t.Fatalf("request with seed %d sent at %v, after a run journaled it as done", a.seed, a.at.Format("15:04:05.000"))
			}
		}
	}
	if repeats > kills*conc {
		t.Errorf("%d repeated requests for %d kills at concurrency %d", repeats, kills, conc)
	}
	t.Logf("%d kills, %d requests sent for %d (%d repeats of requests in flight at a kill); %d done at the last kill", kills, len(arr), requests, repeats, len(lives[len(lives)-1].done))

	// Once complete, a run sends nothing.
	before := len(m.arrivals())
	if out, err := exec.Command(bin, args(out)...).CombinedOutput(); err != nil || len(m.arrivals()) != before {
		t.Fatalf("run after completion: %v, %d requests sent\n%s", err, len(m.arrivals())-before, out)
	}
}

// journaledSeeds returns the sampling seeds of the requests in the journal
// of the run directory dir (complete lines only).
func journaledSeeds(t *testing.T, dir string) map[uint64]bool {
	t.Helper()
	seeds := map[int]uint64{}
	pb, _ := os.ReadFile(filepath.Join(dir, "prompts.jsonl"))
	for _, l := range strings.Split(string(pb), "\n") {
		var p struct {
			Index int
			Seed  uint64
		}
		if json.Unmarshal([]byte(l), &p) == nil {
			seeds[p.Index] = p.Seed
		}
	}
	out := map[uint64]bool{}
	jb, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	lines := strings.Split(string(jb), "\n")
	for _, l := range lines[:len(lines)-1] { // the last piece has no newline
		var e struct{ Prompt int }
		if json.Unmarshal([]byte(l), &e) != nil {
			t.Fatalf("journal line %q does not decode", l)
		}
		out[seeds[e.Prompt]] = true
	}
	return out
}

// TestGenerateKeyNeverWritten runs with an API key in the environment and a
// server that echoes it in error messages: the key is sent to the server
// but appears in no file of the run (the cache database included) and in
// neither output stream; a request that keeps failing gives exit code 3.
func TestGenerateKeyNeverWritten(t *testing.T) {
	const key = "sk-ggmi-test-5ecret-7f3a9c"
	t.Setenv("GGMI_TEST_SECRET_KEY", key)
	m := newCountingModel(t, 0)
	var mu sync.Mutex
	var failing string
	m.setFail(func(body []byte) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if failing == "" {
			failing = string(body)
		}
		if string(body) == failing {
			return 500, "internal error for key " + key
		}
		return 0, ""
	})
	out := t.TempDir()
	code, stdout, stderr := runCLI(genArgs(m.model(), out, "--target", "10", "--per-prompt", "2", "--api-key-env", "GGMI_TEST_SECRET_KEY", "--attempts", "2", "--concurrency", "1")...)
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, exitIncomplete, stdout, stderr)
	}
	if !strings.Contains(stderr, "run the same command again") || !strings.Contains(stdout, "internal error for key [REDACTED]") {
		t.Errorf("the failure is not reported clearly:\nstdout %s\nstderr %s", stdout, stderr)
	}
	m.mu.Lock()
	sent := m.auth["Bearer "+key]
	m.mu.Unlock()
	if sent == 0 {
		t.Fatal("the key was never sent to the server")
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if strings.Contains(s, key) {
			t.Errorf("%s contains the key", name)
		}
	}
	files := 0
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(key)) || bytes.Contains(b, []byte("5ecret")) {
			t.Errorf("%s contains the key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 7 {
		t.Errorf("only %d files checked", files)
	}
}

// TestGenerateBuiltin runs the command on the built-in engine (builtin:PATH)
// in completion mode.
func TestGenerateBuiltin(t *testing.T) {
	model := testshared.StoriesPath(t)
	out := t.TempDir()
	code, stdout, stderr := runCLI(genArgs("builtin:"+model, out, "--target", "6", "--per-prompt", "2", "--mode", "completion", "--max-tokens", "80", "--workers", "2", "--json", "-q")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum generate.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || !sum.Complete || sum.Done != 3 || sum.CompletionTokens == 0 {
		t.Fatalf("summary %+v (%v)", sum, err)
	}
	var run struct{ Identity string }
	b, _ := os.ReadFile(filepath.Join(out, "run.json"))
	if json.Unmarshal(b, &run) != nil || !strings.HasPrefix(run.Identity, "builtin:sha256:") {
		t.Errorf("the built-in model is not identified by its weights: %s", b)
	}
}

// Off a terminal, a generation's progress lines carry the rate, the time
// left, the records, the tokens and the cost.
func TestGenerateProgressLines(t *testing.T) {
	var b bytes.Buffer
	r := newUnitReporter(&b, false, "requests")
	lr, ok := r.(*lineReporter)
	if !ok {
		t.Fatalf("a buffer got %T, want plain lines", r)
	}
	lr.every = time.Nanosecond
	r.Start("generate", 4)
	time.Sleep(10 * time.Millisecond)
	lr.Stats(generate.Stats{Total: 4, Done: 1, Records: 20, Usage: llm.Usage{PromptTokens: 1500, CompletionTokens: 2500}, Cost: 0.0123})
	r.Add(1)
	r.Done()
	out := b.String()
	for _, want := range []string{"generate: 1/4 (", "/s, ETA ", "20 records, 4.0k tokens, cost 0.0123", "generate: done 1/4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestGenerateExitCodes: resuming with other options is the user's mistake
// (2); refused credentials are a failure (1) that stops the run at once.
func TestGenerateExitCodes(t *testing.T) {
	m := newCountingModel(t, 0)
	out := t.TempDir()
	if code, _, stderr := runCLI(genArgs(m.model(), out, "--target", "4", "--per-prompt", "2", "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(genArgs(m.model(), out, "--target", "4", "--per-prompt", "2", "--temperature", "0.1", "-q")...)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "holds a run made with other options") {
		t.Fatalf("other options: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	m.setFail(func([]byte) (int, string) { return 401, "invalid key" })
	before := len(m.arrivals())
	code, _, stderr = runCLI(genArgs(m.model(), t.TempDir(), "--target", "40", "--per-prompt", "2", "--concurrency", "1", "-q")...)
	if code != 1 || !strings.Contains(stderr, "authentication failed") {
		t.Fatalf("401: exit %d, stderr %q", code, stderr)
	}
	if sent := len(m.arrivals()) - before; sent > 2 {
		t.Errorf("%d requests sent after the credentials were refused", sent)
	}
}

// On a terminal the bar's description carries the records, tokens and
// cost, next to the bar's own rate and time left.
func TestGenerateProgressBar(t *testing.T) {
	var b lockedBuffer
	r := &barReporter{w: &b, unit: "requests"}
	r.Start("generate", 10)
	r.Add(3)
	time.Sleep(120 * time.Millisecond) // past the bar's throttle
	r.Stats(generate.Stats{Total: 10, Done: 4, Records: 80, Usage: llm.Usage{PromptTokens: 2000, CompletionTokens: 500}, Cost: 0.5})
	r.Add(1)
	out := b.String()
	r.Done()
	for _, want := range []string{"generate (80 records, 2.5k tokens, cost 0.5000)", "requests/s", "(3/10"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar lacks %q:\n%q", want, out)
		}
	}
}

// ggmi generate raises the collector's target unless GOGC says otherwise.
func TestGenerateGCPercent(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set; ggmi generate keeps it")
	}
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	m := newCountingModel(t, 0)
	if code, _, stderr := runCLI(genArgs(m.model(), "", "--dry-run", "--target", "4", "--per-prompt", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := debug.SetGCPercent(100); got != generateGCPercent {
		t.Errorf("GC percent %d while generating, want %d", got, generateGCPercent)
	}
	t.Setenv("GOGC", "150")
	if code, _, stderr := runCLI(genArgs(m.model(), "", "--dry-run", "--target", "4", "--per-prompt", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left alone (100)", got)
	}
}
