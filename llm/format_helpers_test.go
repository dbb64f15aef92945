package llm

import (
	"testing"

	"github.com/ggmi-dev/ggmi/llama"
)

func mustCompile(t *testing.T, rf *ResponseFormat) *llama.JSONSchema {
	t.Helper()
	js, err := rf.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func llamaOpts(seed uint64, maxTokens int) llama.GenerateOptions {
	return llama.GenerateOptions{SampleOptions: llama.SampleOptions{Temperature: 1, Seed: seed}, MaxTokens: maxTokens}
}
