package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/internal/batchfake"
)

// batchAnswer is the fake's chat completion for a request body: two tasks
// named after the body's hash.
func batchAnswer(body []byte) []byte {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	text, _ := json.Marshal(fmt.Sprintf(`[{"instruction":"Describe thing %.8s for a curious reader.","context":"","response":"Thing %.8s, described."},`+
		`{"instruction":"Explain where thing %.8s comes from and why.","context":"","response":"It comes from %.8s."}]`, h, h, h[8:], h[8:]))
	return []byte(fmt.Sprintf(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":20,"total_tokens":50}}`, text))
}

// TestGenerateBatchKillResume kills `ggmi generate --batch openai` with
// SIGKILL at 20 seeded points (submit, poll, download), restarting it each
// time, then lets it finish: the records equal an uninterrupted batch
// run's, the fake was paid exactly once per request by the killed runs,
// and a later online run over the same cache sends nothing.
func TestGenerateBatchKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 20 times")
	}
	bin := buildGGMI(t)
	f := batchfake.New(batchAnswer)
	t.Cleanup(f.Close)
	f.AutoStep = true
	const requests = 300
	model := f.URL + "/v1#m"
	args := func(out string, extra ...string) []string {
		a := genArgs(model, out, "--target", fmt.Sprint(2*requests), "--per-prompt", "2", "--seed", "3", "-q",
			"--batch", "openai", "--batch-poll", "3ms", "--batch-max-requests", "15")
		return append(a, extra...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if out, err := exec.Command(bin, args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	refPaid := f.Paid()
	if len(refPaid) != requests {
		t.Fatalf("uninterrupted run paid %d requests, want %d", len(refPaid), requests)
	}

	out := filepath.Join(t.TempDir(), "killed")
	rng := rand.New(rand.NewPCG(20, 13))
	kills := 0
	for range 20 {
		cmd := exec.Command(bin, args(out)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
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
			continue
		case <-time.After(time.Duration(10+rng.IntN(60)) * time.Millisecond):
		}
		_ = cmd.Process.Kill()
		<-done
		kills++
	}
	if kills < 10 {
		t.Fatalf("only %d of 20 runs were killed mid-way", kills)
	}
	final, err := exec.Command(bin, args(out, "--json")...).Output()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, final)
	}
	var sum generate.Summary
	if err := json.Unmarshal(final, &sum); err != nil || !sum.Complete || sum.Done != requests {
		t.Fatalf("final summary %+v (%v)", sum, err)
	}
	for _, name := range []string{"synthetic.jsonl", "curated.jsonl"} {
		want, got := recordsOf(t, filepath.Join(ref, name)), recordsOf(t, filepath.Join(out, name))
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d records after %d kills, %d uninterrupted, or different content", name, len(got), kills, len(want))
		}
	}
	for id, n := range f.Paid() {
		if n != 2 {
			t.Fatalf("request %.8s paid %d times in all, want once by the reference and once by the killed runs", id, n)
		}
	}
	if f.Online() != 0 {
		t.Fatalf("batch mode sent %d online requests", f.Online())
	}
	t.Logf("%d kills; %d batches created in all", kills, f.Batches())

	// An online run over the batch run's cache sends nothing.
	online := filepath.Join(t.TempDir(), "online")
	o, err := exec.Command(bin, genArgs(model, online, "--target", fmt.Sprint(2*requests), "--per-prompt", "2", "--seed", "3", "-q",
		"--cache", filepath.Join(out, "cache.db"))...).CombinedOutput()
	if err != nil || f.Online() != 0 {
		t.Fatalf("online run over the batch cache: %v, %d online requests\n%s", err, f.Online(), o)
	}
	a, _ := os.ReadFile(filepath.Join(out, "synthetic.jsonl"))
	if !strings.Contains(string(a), "Describe thing") {
		t.Fatal("no records")
	}
}

// TestGenerateBatchExpiry: requests that expire in their batch end the
// run with exit 3 and a message naming --batch-resubmit; with it only
// they are sent again.
func TestGenerateBatchExpiry(t *testing.T) {
	for _, prov := range []string{"openai", "anthropic"} {
		t.Run(prov, func(t *testing.T) { testGenerateBatchExpiry(t, prov) })
	}
}

func testGenerateBatchExpiry(t *testing.T, provider string) {
	f := batchfake.New(batchAnswer)
	t.Cleanup(f.Close)
	f.AutoStep = true
	n := 0
	f.Expire = func(string) bool { n++; return n%7 == 0 }
	out := filepath.Join(t.TempDir(), "out")
	args := genArgs(f.URL+"/v1#m", out, "--target", "40", "--per-prompt", "2", "--batch", provider, "--batch-poll", "1ms", "-q")
	code, stdout, stderr := runCLI(args...)
	if code != 3 || !strings.Contains(stderr, "--batch-resubmit") || !strings.Contains(stdout, "2 without answer") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	f.Expire = nil
	code, stdout, stderr = runCLI(append(args, "--batch-resubmit")...)
	if code != 0 || !strings.Contains(stdout, "1 batches created (2 requests, 2 resubmitted)") {
		t.Fatalf("resubmit: exit %d\n%s\n%s", code, stdout, stderr)
	}
	twice := 0
	for _, c := range f.Paid() {
		if c == 2 {
			twice++
		}
	}
	if len(f.Paid()) != 20 || twice != 2 {
		t.Fatalf("%d requests paid, %d of them twice; want 20 and 2", len(f.Paid()), twice)
	}
}
