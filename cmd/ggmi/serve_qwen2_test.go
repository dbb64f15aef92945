package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

// TestServeQwen2ChatTemplate: `ggmi serve` on a random-weight Qwen2
// Hugging Face folder (written here with Qwen3's real tokenizer.json and
// tokenizer_config.json from ../shared) applies the folder's chat template
// to /v1/chat/completions without any template flag. --show-prompts shows
// the rendered prompt, which must equal package chat's rendering and, when
// Debian's python3-jinja2 is installed, Python jinja2's (the way
// transformers' apply_chat_template renders), and its token count, which
// must be that of the prompt with the special tokens recognised.
func TestServeQwen2ChatTemplate(t *testing.T) {
	tokDir := testshared.Path(t, "tokenizers", "qwen3")
	bpe, err := tokenizer.LoadDir(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := llama.FamilyConfig(llama.Config{Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2,
		VocabSize: bpe.VocabSize(), SeqLen: 512, NormEps: 1e-6, RopeTheta: 1e6, RopeNeoX: true, SharedClassifier: true}, llama.ArchQwen2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.NewRandomModel(cfg, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "qwen2-random")
	if err := m.SaveHF(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(tokDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	msgs := []chat.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Tell me a story."},
		{Role: "assistant", Content: "Once there was a fox."}, {Role: "user", Content: "And then?"}}
	wire := make([]map[string]string, len(msgs))
	for i, m := range msgs {
		wire[i] = map[string]string{"role": m.Role, "content": m.Content}
	}
	base, _, errOut, stop := startServe(t, "--model", dir, "--workers", "1", "--show-prompts")
	body, _ := json.Marshal(map[string]any{"model": "qwen2-random", "messages": wire, "max_tokens": 6, "temperature": 0})
	resp, err := http.Post(base+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || resp.StatusCode != 200 || len(res.Choices) != 1 || res.Usage.CompletionTokens == 0 {
		t.Fatalf("status %d: %s (%v)", resp.StatusCode, raw, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// What package chat renders from the folder's tokenizer_config.json.
	cc, err := chat.FromTokenizerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cc.Template.Render(msgs, chat.Options{AddGenerationPrompt: true, BOS: cc.BOS, EOS: cc.EOS})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(want, "<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n") {
		t.Fatalf("package chat rendered %q", want)
	}
	shown := regexp.MustCompile(`serve: chat prompt \((\d+) tokens\): (".*")`).FindStringSubmatch(errOut.String())
	if shown == nil {
		t.Fatalf("stderr %q shows no prompt", errOut.String())
	}
	got, err := strconv.Unquote(shown[2])
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("served prompt %q, want package chat's %q", got, want)
	}
	n, _ := strconv.Atoi(shown[1])
	if wantN := len(bpe.EncodeSpecial(want)); n != wantN || res.Usage.PromptTokens != wantN {
		t.Errorf("%d prompt tokens shown, %d in usage, want %d", n, res.Usage.PromptTokens, wantN)
	}
	if py := pythonJinja2(t, cc.Template.Source(), wire, cc.BOS, cc.EOS); py != "" && py != got {
		t.Errorf("served prompt %q, Python jinja2 renders %q", got, py)
	}
}

// pythonJinja2 renders msgs with Python's jinja2 through
// chat/testdata/render_reference.py; "" (with a log line) when Debian's
// python3-jinja2 is absent.
func pythonJinja2(t *testing.T, src string, msgs []map[string]string, bos, eos string) string {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import jinja2").Run(); err != nil {
		t.Logf("Python jinja2 comparison skipped: /usr/bin/python3 with python3-jinja2 is not available (%v)", err)
		return ""
	}
	req, _ := json.Marshal(map[string]any{"template": src, "now": "2024-07-26T10:11:12",
		"cases": []map[string]any{{"messages": msgs, "add_generation_prompt": true, "bos_token": bos, "eos_token": eos}}})
	cmd := exec.Command("/usr/bin/python3", filepath.Join("..", "..", "chat", "testdata", "render_reference.py"))
	cmd.Stdin = bytes.NewReader(req)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render_reference.py: %v", err)
	}
	var res []struct {
		Text  *string `json:"text"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 || res[0].Text == nil {
		t.Fatalf("render_reference.py: %s (%v)", out, err)
	}
	return *res[0].Text
}
