package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
		{[]string{"serve", "--model", model, "--template", "raw", "--chat-template", "t.jinja"}, "exclude each other"},
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

// startServe runs `ggmi serve` with args on a free port until the test
// ends (or stop is called) and returns the API's base URL, its outputs and
// stop, which cancels the command's context (what SIGINT does) and returns
// the command's error.
func startServe(t *testing.T, args ...string) (base string, out, errOut *lockedBuffer, stop func() error) {
	t.Helper()
	out, errOut = &lockedBuffer{}, &lockedBuffer{}
	g := &globals{stdout: out, stderr: errOut}
	root := newRootCmd(g)
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	stopped := false
	stop = func() error {
		cancel()
		if stopped {
			return nil
		}
		stopped = true
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop after cancel")
		}
		return nil
	}
	t.Cleanup(func() { stop() })

	addrRE := regexp.MustCompile(`http://(\S+)/v1`)
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1] + "/v1"
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed; stdout %q stderr %q", out.String(), errOut.String())
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("serve exited early: %v (stderr %q)", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return base, out, errOut, stop
}

// TestServeCommand starts `ggmi serve` on a free port, asks it for a chat
// completion and stops it through its context (what SIGINT does).
func TestServeCommand(t *testing.T) {
	model := testshared.StoriesPath(t)
	base, out, _, stop := startServe(t, "--model", model, "--workers", "2")
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
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := http.Get(base + "/models"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestServeChatTemplate: with --chat-template, /v1/chat/completions renders
// the messages with that Jinja template (SmolLM2's, from its model card);
// --show-prompts shows the rendered prompt, which must be what package chat
// renders (itself checked against Python's jinja2).
func TestServeChatTemplate(t *testing.T) {
	model := testshared.StoriesPath(t)
	tmplPath := filepath.Join("..", "..", "chat", "testdata", "smollm2-instruct.jinja")
	base, _, errOut, stop := startServe(t, "--model", model, "--workers", "1", "--chat-template", tmplPath, "--show-prompts")
	body := `{"model":"stories260K","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me a story."}],"max_tokens":8,"temperature":0}`
	resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, msg)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n"
	if got := errOut.String(); !strings.Contains(got, "serve: chat prompt (") || !strings.Contains(got, strconv.Quote(want)) {
		t.Errorf("stderr %q does not show the prompt %q", got, want)
	}
}

func TestServeBadChatTemplate(t *testing.T) {
	model := testshared.StoriesPath(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jinja")
	if err := os.WriteFile(bad, []byte("{% for m in messages %}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "tokenizer_config.json")
	if err := os.WriteFile(cfg, []byte(`{"chat_template": "{{ x | nosuchfilter }"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{filepath.Join(dir, "none.jinja"), "--chat-template: open"},
		{bad, "--chat-template: " + bad + ": chat template: parse"},
		{cfg, "--chat-template: " + cfg + ": chat_template: parse"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI("serve", "--model", model, "--addr", "127.0.0.1:0", "--chat-template", c.path)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line with %q", c.path, code, errOut, c.want)
		}
	}
}
