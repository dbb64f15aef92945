package embed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

// Backend embeds texts through any llm.Backend: the built-in engine (the
// mean-pooled final hidden states of the model, llama.Model.EmbedTokens) or
// an OpenAI-compatible /v1/embeddings endpoint. Texts are sent in batches of
// Batch; the vectors of every batch must have the same length.
type Backend struct {
	B     llm.Backend
	Model string // model name sent with each request ("" lets the backend choose)
	// Identity names the model and everything that changes its vectors; ID
	// returns it, so it keys the on-disk cache (see NewEngine, NewRemote).
	Identity string
	Batch    int // texts per request; 0 means 64
	closer   io.Closer
}

// ID implements Embedder.
func (b *Backend) ID() string { return b.Identity }

// Close releases the backend when the embedder owns it (NewEngine).
func (b *Backend) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// Embed implements Embedder.
func (b *Backend) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if b.B == nil {
		return nil, errors.New("embed: backend embedder without a backend")
	}
	if len(texts) == 0 {
		return nil, ErrEmpty
	}
	bs := b.Batch
	if bs <= 0 {
		bs = 64
	}
	// Each distinct text is sent once and its vector shared by its copies:
	// identical texts embed identically whatever the backend's batching.
	all := texts
	texts, of := uniqueTexts(texts)
	out := make([][]float32, 0, len(texts))
	for lo := 0; lo < len(texts); lo += bs {
		hi := min(lo+bs, len(texts))
		res, err := b.B.Embed(ctx, llm.EmbedRequest{Model: b.Model, Input: texts[lo:hi]})
		if err != nil {
			return nil, fmt.Errorf("embed: %s: texts %d–%d: %w", b.Identity, lo, hi-1, err)
		}
		if len(res.Vectors) != hi-lo {
			return nil, fmt.Errorf("embed: %s: %d vectors for %d texts", b.Identity, len(res.Vectors), hi-lo)
		}
		out = append(out, res.Vectors...)
	}
	d := len(out[0])
	for i, v := range out {
		if len(v) != d || d == 0 {
			return nil, fmt.Errorf("embed: %s: vector %d has %d values, vector 0 has %d", b.Identity, i, len(v), d)
		}
	}
	if err := checkFinite32(out); err != nil {
		return nil, fmt.Errorf("embed: %s: %w", b.Identity, err)
	}
	if len(texts) == len(all) {
		return out, nil
	}
	full := make([][]float32, len(all))
	for i, u := range of {
		full[i] = slices.Clone(out[u])
	}
	return full, nil
}

// uniqueTexts returns the distinct texts in order of first appearance and,
// for every text, the index of its distinct copy.
func uniqueTexts(texts []string) ([]string, []int) {
	seen := make(map[string]int, len(texts))
	var uniq []string
	of := make([]int, len(texts))
	for i, t := range texts {
		u, ok := seen[t]
		if !ok {
			u = len(uniq)
			seen[t] = u
			uniq = append(uniq, t)
		}
		of[i] = u
	}
	return uniq, of
}

// EngineOptions configure NewEngine.
type EngineOptions struct {
	Workers int // texts embedded at once (GOMAXPROCS when ≤ 0)
	Batch   int // texts per request; 0 means 64
}

// NewEngine loads a Llama-architecture model (a llama2.c .bin with its
// tokenizer beside it, a .gguf file, or an hf://owner/repo/path URI) into
// the built-in engine and embeds with its hidden states. The ID is
// "engine-v1:" followed by the first 16 bytes, in hex, of the SHA-256 of the
// model file and of the tokenizer file (when one is used), so that it
// changes with the weights and not with the path. Call Close when done.
func NewEngine(path string, opt EngineOptions) (*Backend, error) {
	local, err := llm.ResolveModel(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("embed: engine: %w", err)
	}
	m, err := llama.Load(local)
	if err != nil {
		return nil, fmt.Errorf("embed: engine: %w", err)
	}
	h := sha256.New()
	if err := hashFile(h, local); err != nil {
		return nil, fmt.Errorf("embed: engine: %w", err)
	}
	if tok := tokenizerBeside(local, m.Config.VocabSize); tok != "" {
		if err := hashFile(h, tok); err != nil {
			return nil, fmt.Errorf("embed: engine: %w", err)
		}
	}
	b, err := llm.NewBuiltin(m, llm.BuiltinOptions{Workers: opt.Workers})
	if err != nil {
		return nil, fmt.Errorf("embed: engine: %w", err)
	}
	return &Backend{B: b, Identity: "engine-v1:" + hex.EncodeToString(h.Sum(nil))[:32], Batch: opt.Batch, closer: b}, nil
}

// NewBuiltinBackend embeds with an already running built-in engine; id names
// its weights (for example "engine-v1:<hash>" as NewEngine makes it).
func NewBuiltinBackend(b *llm.Builtin, id string) *Backend {
	return &Backend{B: b, Identity: id}
}

// tokenizerBeside returns the llama2.c tokenizer llama.Load reads beside a
// .bin model, or "" for a GGUF file (which carries its tokenizer).
func tokenizerBeside(path string, vocab int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) == "GGUF" {
		return ""
	}
	dir := path[:strings.LastIndexAny(path, `/\`)+1]
	for _, name := range []string{fmt.Sprintf("tok%d.bin", vocab), "tokenizer.bin"} {
		if _, err := os.Stat(dir + name); err == nil {
			return dir + name
		}
	}
	return ""
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	return nil
}

// RemoteOptions configure NewRemote.
type RemoteOptions struct {
	// APIKeyEnv names the variable holding the API key (llm.DefaultAPIKeyEnv
	// when empty; an unset variable sends no key).
	APIKeyEnv string
	Batch     int // texts per request; 0 means 64
	// Limits wraps the endpoint with retries, rate limits and timeouts
	// (llm.Limited); the zero value retries up to 5 times.
	Limits llm.LimitOptions
}

// NewRemote embeds with an OpenAI-compatible /v1/embeddings endpoint at
// baseURL (for example "http://127.0.0.1:8080/v1") and the named model. The
// ID is "remote-v1:" followed by the endpoint's base URL (credentials
// removed) and "#model".
func NewRemote(baseURL, model string, opt RemoteOptions) (*Backend, error) {
	if model == "" {
		return nil, errors.New("embed: remote: no model name (write the endpoint as URL#MODEL)")
	}
	o, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: baseURL, Model: model, APIKeyEnv: opt.APIKeyEnv})
	if err != nil {
		return nil, fmt.Errorf("embed: remote: %w", err)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(o.Identity(), "openai:"), "|")
	return &Backend{B: llm.Limited(o, opt.Limits), Model: model, Identity: "remote-v1:" + strings.TrimRight(id, "/") + "#" + model, Batch: opt.Batch}, nil
}
