package embed

import (
	"fmt"
	"io"
	"strings"

	"github.com/ggmi-dev/ggmi/llm"
)

// SpecOptions complete a spec given to Open.
type SpecOptions struct {
	Seed    uint64 // seed of LSA's randomized SVD
	Workers int    // engine workers (GOMAXPROCS when ≤ 0)
	// CacheDir, when not empty, wraps the embedder in Cached.
	CacheDir string
}

// Open builds the embedder named by a spec:
//
//	lsa                      LSA with default settings (seeded with opt.Seed)
//	glove:PATH               SIF over static vectors (GloVe or word2vec text, gzip allowed)
//	builtin:PATH             the built-in engine's hidden states (.bin, .gguf or hf://…)
//	hf://owner/repo/file     short for builtin:hf://owner/repo/file
//	http(s)://HOST/v1#MODEL  an OpenAI-compatible /v1/embeddings endpoint
//
// The last three are llm.ModelSpec forms, parsed by llm.ParseModelSpec (a
// URL carrying credentials is refused, and shown redacted).
//
// Embedders that hold resources implement io.Closer; release them with
// Close. Errors name the spec and say what was expected.
func Open(spec string, opt SpecOptions) (Embedder, error) {
	e, err := open(spec, opt)
	if err != nil {
		return nil, err
	}
	if opt.CacheDir != "" {
		return cachedCloser{Cached{Inner: e, Dir: opt.CacheDir}}, nil
	}
	return e, nil
}

func open(spec string, opt SpecOptions) (Embedder, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch {
	case spec == "lsa":
		return LSA{Seed: opt.Seed}, nil
	case kind == "glove":
		if arg == "" {
			return nil, fmt.Errorf("embed: spec %q: want glove:PATH", spec)
		}
		v, err := LoadVectors(arg)
		if err != nil {
			return nil, fmt.Errorf("embed: spec %q: %w", spec, err)
		}
		return SIF{Vectors: v}, nil
	case kind == "builtin", kind == "hf", kind == "http", kind == "https":
		// The model forms are the ones every command accepts (llm.ModelSpec).
		ms, err := llm.ParseModelSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		if ms.Kind == llm.SpecBuiltin {
			return NewEngine(ms.Path, EngineOptions{Workers: opt.Workers})
		}
		return NewRemote(ms.BaseURL, ms.Model, RemoteOptions{})
	}
	return nil, fmt.Errorf("embed: unknown embedder %q (want lsa, glove:PATH, builtin:PATH, hf://owner/repo/file or http(s)://HOST/v1#MODEL)", llm.RedactURL(spec))
}

// cachedCloser is Cached that closes its inner embedder.
type cachedCloser struct{ Cached }

func (c cachedCloser) Close() error { return Close(c.Inner) }

// Close releases e when it holds resources (it implements io.Closer).
func Close(e Embedder) error {
	if c, ok := e.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
