package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// servedProcess is a `ggmi serve` process behind a counting proxy: the
// proxy relays every request and counts, by request body, the answers with
// status 200 that it delivered in full.
type servedProcess struct {
	cmd   *exec.Cmd
	proxy *httptest.Server
	mu    sync.Mutex
	ok    map[string]int // body hash → complete 200 answers
}

func (s *servedProcess) base() string { return s.proxy.URL + "/v1" }

func (s *servedProcess) answered() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.ok))
	for k, v := range s.ok {
		out[k] = v
	}
	return out
}

// statusWriter remembers the status and whether every write succeeded.
type statusWriter struct {
	http.ResponseWriter
	status int
	failed bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	n, err := w.ResponseWriter.Write(p)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// startServeProcess runs `bin serve` with the stories260K model on a free
// port, behind a counting proxy.
func startServeProcess(t *testing.T, bin, model string) *servedProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--model", model, "--addr", "127.0.0.1:0", "--workers", "1", "--threads", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`http://(\S+)/v1`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("ggmi serve printed no address")
	}
	target, _ := url.Parse("http://" + a)
	s := &servedProcess{cmd: cmd, ok: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the killed server's errors are expected
	s.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		rp.ServeHTTP(sw, r)
		if sw.status == 200 && !sw.failed && r.Context().Err() == nil {
			sum := sha256.Sum256(body)
			s.mu.Lock()
			s.ok[hex.EncodeToString(sum[:])]++
			s.mu.Unlock()
		}
	}))
	t.Cleanup(s.proxy.Close)
	return s
}

// journalLines counts the complete lines of a run's journal.
func journalLines(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	return bytes.Count(b, []byte{'\n'})
}

// TestGenerateSeveralEndpoints runs `ggmi generate` on three `ggmi serve`
// processes (the built-in engine with stories260K) and kills one of them
// with SIGKILL once a third of the requests are done. The run completes,
// its records equal those of an uninterrupted run on the same three
// endpoints, every request was answered exactly once over all three
// servers, and the summary names the endpoints with their counts.
func TestGenerateSeveralEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and two generation runs")
	}
	model := testshared.StoriesPath(t)
	bin := buildGGMI(t)
	var srv []*servedProcess
	for range 3 {
		srv = append(srv, startServeProcess(t, bin, model))
	}
	const requests = 24
	args := func(out string) []string {
		return genArgs(srv[0].base()+"#stories260K", out, "--base-url", srv[1].base()+","+srv[2].base(),
			"--target", fmt.Sprint(2*requests), "--per-prompt", "2", "--mode", "completion", "--max-tokens", "32",
			"--concurrency", "6", "--seed", "5", "--json", "-q")
	}
	run := func(out string, during func()) generate.Summary {
		t.Helper()
		cmd := exec.Command(bin, args(out)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			during()
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("generate: %v\n%s", err, stderr.String())
		}
		var sum generate.Summary
		if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
			t.Fatalf("summary: %v\n%s", err, stdout.String())
		}
		return sum
	}

	ref := filepath.Join(t.TempDir(), "ref")
	refSum := run(ref, nil)
	if !refSum.Complete || refSum.Fetched != requests || len(refSum.Endpoints) != 3 {
		t.Fatalf("uninterrupted run: %+v", refSum)
	}
	before := make([]map[string]int, 3)
	for i, s := range srv {
		before[i] = s.answered()
	}

	out := filepath.Join(t.TempDir(), "killed")
	killedAt := -1
	sum := run(out, func() {
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if n := journalLines(out); n >= requests/3 {
				killedAt = n
				_ = srv[1].cmd.Process.Kill()
				return
			}
		}
	})
	if killedAt < 0 || killedAt >= requests {
		t.Fatalf("the server was not killed mid-run (journal at %d of %d)", killedAt, requests)
	}
	if !sum.Complete || sum.Done != requests || sum.Fetched != requests {
		t.Fatalf("run with a killed endpoint: %+v", sum)
	}
	for _, name := range []string{"synthetic.jsonl", "curated.jsonl", "removed.jsonl"} {
		want, got := recordsOf(t, filepath.Join(ref, name)), recordsOf(t, filepath.Join(out, name))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d records with an endpoint killed, %d uninterrupted, or different content", name, len(got), len(want))
		}
	}
	// Each request of the second run was answered exactly once, over the
	// three servers.
	answers := map[string]int{}
	per := make([]int, 3)
	for i, s := range srv {
		for h, n := range s.answered() {
			if d := n - before[i][h]; d > 0 {
				answers[h] += d
				per[i] += d
			}
		}
	}
	if len(answers) != requests {
		t.Fatalf("%d distinct requests answered in the second run, want %d", len(answers), requests)
	}
	for h, n := range answers {
		if n != 1 {
			t.Errorf("request %.8s answered %d times", h, n)
		}
	}
	if per[0] == 0 || per[2] == 0 || per[1] >= requests/2 {
		t.Errorf("answers per server %v: the live servers should share the work", per)
	}
	if len(sum.Endpoints) != 3 || sum.Endpoints[1].Done != per[1] || sum.Endpoints[0].Done != per[0] || sum.Endpoints[2].Done != per[2] {
		t.Errorf("summary endpoints %+v, servers answered %v", sum.Endpoints, per)
	}
	if sum.Endpoints[1].Failed == 0 {
		t.Errorf("the killed endpoint shows no failure: %+v", sum.Endpoints[1])
	}
	t.Logf("killed server 1 at %d of %d journaled; answers per server %v; endpoints %+v", killedAt, requests, per, sum.Endpoints)
	if strings.Contains(fmt.Sprint(sum.Errors), "panic") {
		t.Errorf("errors: %v", sum.Errors)
	}
}

// TestGenerateBaseURLNeedsRemoteModel: --base-url with a built-in model is
// the user's mistake (exit 2, one line).
func TestGenerateBaseURLNeedsRemoteModel(t *testing.T) {
	model := testshared.StoriesPath(t)
	code, _, errOut := runCLI(genArgs("builtin:"+model, t.TempDir(), "--base-url", "http://127.0.0.1:2/v1")...)
	if code != 2 || !strings.Contains(errOut, "--base-url needs an http(s)://HOST/v1#MODEL --model") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
