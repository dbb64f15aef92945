package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

func TestServeBadArguments(t *testing.T) {
	model := "model.bin" // never opened: the flags are checked first
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--model is required"},
		{[]string{"serve", "--model", filepath.Join(t.TempDir(), "none.bin")}, "model file"},
		{[]string{"serve", "--model", "hf://only-owner"}, "hf://"},
		{[]string{"serve", "--model", model, "--workers", "-1"}, "--workers must be at least 0"},
		{[]string{"serve", "--model", model, "--template", "chatml"}, `unknown chat template "chatml"`},
		{[]string{"serve", "--model", model, "--addr", "nonsense"}, "--addr"},
		{[]string{"serve", "--model", model, "--max-body", "0"}, "--max-body"},
		{[]string{"serve", "--workers", "two"}, "invalid argument"},
		{[]string{"serve", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
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
		})
	}
}

// lockedBuffer is a bytes.Buffer safe to read while the command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeCommand starts `ggmi serve` on a free port, asks it for a chat
// completion and stops it through its context (what SIGINT does).
func TestServeCommand(t *testing.T) {
	model := testshared.StoriesPath(t)
	var out, errOut lockedBuffer
	g := &globals{stdout: &out, stderr: &errOut}
	root := newRootCmd(g)
	root.SetArgs([]string{"serve", "--model", model, "--addr", "127.0.0.1:0", "--workers", "2"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addrRE := regexp.MustCompile(`http://(\S+)/v1`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1] + "/v1"
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed; stdout %q stderr %q", out.String(), errOut.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v (stderr %q)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !strings.Contains(out.String(), "serving stories260K") {
		t.Errorf("stdout %q does not name the model", out.String())
	}
	body := `{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":20,"temperature":0}`
	resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(res.Choices) != 1 || res.Usage.CompletionTokens == 0 {
		t.Fatalf("status %d, %+v, %v", resp.StatusCode, res, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if _, err := http.Get(base + "/models"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}
