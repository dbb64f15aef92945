package llm

import (
	"os"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

// The engine package cannot import the tokenizer package (the tokenizer's
// tests load models through the engine), so the byte-level BPE loader for
// Hugging Face folders and GGUF files is registered here, where both are
// known.
func init() {
	llama.HFTokenizerLoader = loadHFTokenizer
	llama.GGUFTokenizerLoader = loadGGUFTokenizer
}

// loadGGUFTokenizer builds the byte-level BPE tokenizer of a GGUF file
// (tokenizer.ggml.model "gpt2") from its metadata.
func loadGGUFTokenizer(meta map[string]any) (llama.TextTokenizer, error) {
	t, err := tokenizer.FromGGUFMetadata(meta)
	if err != nil {
		return nil, err
	}
	return tokenizer.Engine{BPE: t}, nil
}

// loadHFTokenizer loads tokenizer.json, or encoder.json + vocab.bpe, of a
// model folder; nil without error when the folder has neither.
func loadHFTokenizer(dir string) (llama.TextTokenizer, error) {
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	if !has("tokenizer.json") && !has("encoder.json") {
		return nil, nil
	}
	t, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	return tokenizer.Engine{BPE: t}, nil
}
