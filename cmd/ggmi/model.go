package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

// checkModelFile checks a model file or hf:// URI before anything is
// loaded; every error is the user's.
func checkModelFile(path string) error {
	if strings.HasPrefix(path, "hf://") {
		_, err := llm.ParseHFModelURI(path)
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("model file %s: %w", path, err)
	}
	return nil
}

// builtinOptions configure openBuiltin.
type builtinOptions struct {
	name     string // model name (modelName(path) when empty)
	workers  int
	threads  int
	template *llm.ChatTemplate // nil: the model's Jinja template, else plain
	jinja    *chat.Template    // overrides the model's Jinja template
	onPrompt func(prompt string, tokens []int)
}

// openBuiltin loads a model file or hf:// URI into the built-in engine.
// Close the backend when done.
func openBuiltin(ctx context.Context, path string, o builtinOptions) (*llm.Builtin, *llama.Model, error) {
	if o.name == "" {
		o.name = modelName(path)
	}
	m, err := llm.LoadModel(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("load model: %w", err)
	}
	b, err := llm.NewBuiltin(m, llm.BuiltinOptions{Name: o.name, Workers: o.workers, Threads: o.threads, Template: o.template, Jinja: o.jinja, OnPrompt: o.onPrompt})
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}
