package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

func tokenizeRun(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	code = run(append(append([]string{"tokenize"}, args...), in), &o, &e)
	return code, o.String(), e.String()
}

// TestTokenize runs ggmi tokenize end to end on the shared GPT-2 and Qwen3
// vocabularies and on stories260K; the expected ids are the reference
// implementations' (../shared/tokenizers/reference_encodings.json, case
// "Provide more details ...") and, for stories260K, its SentencePiece
// vocabulary's.
func TestTokenize(t *testing.T) {
	gpt2 := testshared.Path(t, "tokenizers", "gpt2")
	qwen3 := testshared.Path(t, "tokenizers", "qwen3")
	stories := testshared.StoriesPath(t)
	const text = `"Provide more details for Day 1 and include three homework questions."` + "\n"
	for _, tc := range []struct {
		name, input string
		args        []string
		want        string
	}{
		{"gpt2 folder", text, []string{"--tokenizer", gpt2}, "[15946,485,517,3307,329,3596,352,290,2291,1115,26131,2683,13]\n"},
		{"qwen3 tokenizer.json", text, []string{"--tokenizer", filepath.Join(qwen3, "tokenizer.json")}, "[60424,803,3565,369,6059,220,16,323,2924,2326,28459,4755,13]\n"},
		{"qwen3 folder as model, object input, blank line", "\n{\"text\":\"Provide more details for Day 1 and include three homework questions.\"}\n", []string{"--model", qwen3}, "[60424,803,3565,369,6059,220,16,323,2924,2326,28459,4755,13]\n"},
		{"special tokens stay text", `"<|im_end|>"` + "\n", []string{"--tokenizer", qwen3}, "[27,91,318,6213,91,29]\n"},
		{"special tokens with --special", `"<|im_end|>"` + "\n", []string{"--tokenizer", qwen3, "--special"}, "[151645]\n"},
		{"gpt2 endoftext with --special", `"a<|endoftext|>"` + "\n", []string{"--tokenizer", gpt2, "--special"}, "[64,50256]\n"},
		{"decode", "[15496,995]\n[]\n", []string{"--tokenizer", gpt2, "--decode"}, "\"Hello world\"\n\"\"\n"},
		{"decode qwen3 special", "[151644,872,198]\n", []string{"--model", qwen3, "--decode"}, "\"<|im_start|>user\\n\"\n"},
		{"stories260K", `"Once upon a time"` + "\n", []string{"--model", stories}, "[403,407,261,378]\n"},
		{"stories260K --special adds BOS", `"Once upon a time"` + "\n", []string{"--model", stories, "--special"}, "[1,403,407,261,378]\n"},
		{"stories260K decode", "[403,407,261,378]\n", []string{"--model", stories, "--decode"}, "\"Once upon a time\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := tokenizeRun(t, tc.input, tc.args...)
			if code != 0 || out != tc.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestTokenizeUserErrors: mistakes exit 2 with one sentence naming the
// problem.
func TestTokenizeUserErrors(t *testing.T) {
	gpt2 := testshared.Path(t, "tokenizers", "gpt2")
	bad := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(bad, []byte(`{"model":{"type":"Unigram","vocab":[]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, input string
		args        []string
		want        string
	}{
		{"no path", `"x"`, nil, "give --model PATH or --tokenizer PATH"},
		{"both", `"x"`, []string{"--model", gpt2, "--tokenizer", gpt2}, "not both"},
		{"missing", `"x"`, []string{"--tokenizer", "/nonexistent/tok"}, "no such file"},
		{"bad line", "\"ok\"\n42\n", []string{"--tokenizer", gpt2}, "line 2: not a JSON string"},
		{"object without text", `{"prompt":"x"}`, []string{"--tokenizer", gpt2}, `line 1: the object has no string field "text"`},
		{"id out of range", "[50257]", []string{"--tokenizer", gpt2, "--decode"}, "token id 50257 is outside the vocabulary of 50257 tokens"},
		{"unknown model type", `"x"`, []string{"--tokenizer", bad}, `model.type: "Unigram" is not supported`},
		{"special with decode", `[1]`, []string{"--tokenizer", gpt2, "--decode", "--special"}, "--special applies to encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := tokenizeRun(t, tc.input, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", code, out, errOut, tc.want)
			}
		})
	}
}
