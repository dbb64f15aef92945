package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/internal/crash"
)

// oneSentence checks that stderr is a single line starting with "ggmi: ".
func oneSentence(t *testing.T, stderr string) {
	t.Helper()
	s := strings.TrimSpace(stderr)
	if !strings.HasPrefix(s, "ggmi: ") || strings.Contains(s, "\n") {
		t.Errorf("stderr %q, want one line starting with \"ggmi: \"", stderr)
	}
	for _, bad := range []string{"goroutine ", "panic", "runtime error", "map[", "[]string"} {
		if strings.Contains(s, bad) {
			t.Errorf("stderr %q shows Go internals (%q)", stderr, bad)
		}
	}
}

// The flag values that made simulate panic or run out of memory are refused
// up front with one sentence naming the flag to change.
func TestSimulateResourceBounds(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--hist-bins", "100000000", "--estimator", "hist"}, "lower --hist-bins"},
		{[]string{"--hist-bins", "100000", "--estimator", "hist"}, "lower --hist-bins"},
		{[]string{"--hist-bins", "30000", "--estimator", "hist-shared", "--max-memory", "4G"}, "lower --hist-bins"},
		{[]string{"--synthetic", "2000000000"}, "--synthetic"},
		{[]string{"--mc-samples", "2000000000"}, "lower --mc-samples"},
		{[]string{"--rounds", "1000000000"}, "lower --rounds"},
		{[]string{"--rounds", "1000000000000000"}, "lower --rounds"},
		{[]string{"--to", "2000000000", "--rounds", "1000000000"}, "lower --rounds"},
		{[]string{"--rounds", "5", "--max-memory", "1M"}, "raise --max-memory"},
		{[]string{"--max-memory", "lots"}, "--max-memory"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(append(append([]string{"simulate"}, c.args...), "--out", "", "-q")...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			oneSentence(t, errOut)
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q, want %q", errOut, c.want)
			}
		})
	}
}

func TestMeasureResourceBounds(t *testing.T) {
	dir := t.TempDir()
	data := dir + "/d.jsonl"
	if err := os.WriteFile(data, []byte(`{"instruction":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("measure", data, "--max-pairs", "2000000000", "--out", dir+"/m", "-q")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (stderr %q)", code, errOut)
	}
	oneSentence(t, errOut)
	if !strings.Contains(errOut, "lower --max-pairs") {
		t.Errorf("stderr %q, want the flag to lower", errOut)
	}
}

// A bug that panics, on the command's goroutine or on a worker's, exits 70
// with one line pointing to a log file that holds the stack.
func TestPanicExits70WithLog(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	extraCommands = []func(*globals) *cobra.Command{
		func(*globals) *cobra.Command {
			return &cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
				var s []int
				_ = s[3]
				return nil
			}}
		},
		func(*globals) *cobra.Command {
			return &cobra.Command{Use: "boom-worker", RunE: func(*cobra.Command, []string) error {
				errc := make(chan error, 1)
				crash.Go(func() { panic(fmt.Sprintf("worker bug %d", 7)) }, func(p *crash.Panic) { errc <- p })
				return <-errc
			}}
		},
	}
	defer func() { extraCommands = nil }()
	for _, cmd := range []string{"boom", "boom-worker"} {
		code, _, errOut := runCLI(cmd)
		if code != 70 {
			t.Fatalf("%s: exit %d, want 70 (stderr %q)", cmd, code, errOut)
		}
		m := regexp.MustCompile(`internal error, please report it with the log (\S+) `).FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("%s: stderr %q names no log", cmd, errOut)
		}
		b, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "goroutine") || !strings.Contains(string(b), cmd) {
			t.Errorf("%s: log lacks the stack or the command line:\n%s", cmd, b)
		}
	}
}

// Empty, non-UTF-8, mis-named and directory inputs are the user's to fix:
// exit 2 and one sentence, for curate and measure alike.
func TestInputHygiene(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"empty.jsonl": "",
		"blank.jsonl": "\n\n",
		"bad.jsonl":   "{\"instruction\":\"caf\xe9\",\"output\":\"x\"}\n",
		"csv.jsonl":   "instruction,output\nhi,there\n",
	}
	for n, c := range files {
		if err := os.WriteFile(dir+"/"+n, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ file, want string }{
		{"empty.jsonl", "holds no records"},
		{"blank.jsonl", "holds no records"},
		{"bad.jsonl", "line 1: byte 20"},
		{"csv.jsonl", "this looks like CSV, not JSON Lines; name it .csv or pass --format csv"},
		{".", "is a directory"},
	}
	for _, cmd := range []string{"curate", "measure"} {
		for _, c := range cases {
			code, _, errOut := runCLI(cmd, dir+"/"+c.file, "--out", dir+"/out", "-q")
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("%s %s: exit %d, stderr %q; want 2 and %q", cmd, c.file, code, errOut, c.want)
			}
			oneSentence(t, errOut)
		}
	}
	code, _, errOut := runCLI("curate", dir+"/csv.jsonl", "--format", "csv", "--out", dir+"/out", "-q")
	if code != 0 {
		t.Errorf("--format csv: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI("curate", dir+"/bad.jsonl", "--lossy-utf8", "--out", dir+"/out2", "-q", "--json")
	if code != 0 {
		t.Errorf("--lossy-utf8: exit %d: %s", code, errOut)
	}
}

// A dead endpoint: every request fails (503 after each retry) and generate
// stops after --give-up-after with exit 3 and its state saved, instead of
// working through the whole plan; the same command resumes once it is back.
func TestGenerateGivesUpOnDeadEndpoint(t *testing.T) {
	m := newCountingModel(t, 40*time.Millisecond) // 200 requests would take 4 s
	m.setFail(func([]byte) (int, string) { return 503, "down" })
	out := t.TempDir()
	args := genArgs(m.model(), out, "--target", "400", "--per-prompt", "2", "--concurrency", "2",
		"--attempts", "1", "--give-up-after", "500ms", "-q")
	start := time.Now()
	code, _, stderr := runCLI(args...)
	took := time.Since(start)
	if code != 3 || !strings.Contains(stderr, "the endpoint looks down") || !strings.Contains(stderr, "run the same command again") {
		t.Fatalf("exit %d, stderr %q; want 3 and the give-up sentence", code, stderr)
	}
	if took > 10*time.Second {
		t.Errorf("gave up after %v", took)
	}
	if n := len(m.arrivals()); n >= 200 {
		t.Errorf("%d of 200 requests sent to a dead endpoint", n)
	}
	if _, err := os.Stat(out + "/summary.json"); err != nil {
		t.Errorf("no state saved: %v", err)
	}
	m.setFail(nil)
	if code, _, stderr := runCLI(args...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
}

// An endpoint that accepts response_format but answers free text (as
// Ollama's /v1/completions does): after the first answers the run says so
// once and sends the later requests without the format.
func TestGenerateNoticesIgnoredFormat(t *testing.T) {
	var mu sync.Mutex
	var withFormat []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		withFormat = append(withFormat, strings.Contains(string(body), `"response_format"`))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		text, _ := json.Marshal("Instruction: Describe a river.\nResponse: A river flows.")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}`, text)
	}))
	defer srv.Close()
	code, stdout, stderr := runCLI(genArgs(srv.URL+"/v1#m", t.TempDir(), "--target", "20", "--per-prompt", "2", "--concurrency", "1", "-q")...)
	if code != 0 && code != 3 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "ignores response_format") != 1 {
		t.Errorf("stdout %q: want one note that the format is ignored", stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(withFormat) < 5 {
		t.Fatalf("%d requests", len(withFormat))
	}
	// The first three answers decide; generate runs two workers per
	// request in flight, so one more request may have been prepared with
	// the format while the third answer was on its way. After that, none.
	with := 0
	for with < len(withFormat) && withFormat[with] {
		with++
	}
	if with < 3 || with > 4 {
		t.Errorf("%d leading requests sent response_format, want 3 (or 4 with the request prepared beside the third)", with)
	}
	for i, f := range withFormat[with:] {
		if f {
			t.Errorf("request %d: response_format sent after the switch", with+i)
		}
	}
}

// ggmi run checks the whole experiment file before any stage: every
// mistake at its line, exit 2, and no run directory made.
func TestRunValidatesUpFront(t *testing.T) {
	src, err := os.ReadFile("../../experiment/testdata/broken/many.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := dir + "/many.yaml"
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("run", p, "-q")
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	for _, want := range []string{"ggmi: 10 problems in the experiment file:\n", p + ":3: anchors.path", p + ":16: students.steps must not be negative", p + ":20: judge.questions"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, err := os.Stat(dir + "/runs"); !os.IsNotExist(err) {
		t.Errorf("a run directory was made before the file was checked (%v)", err)
	}
}
