package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ggmi-dev/ggmi/hub"
	"github.com/ggmi-dev/ggmi/llama"
)

// Models on the Hugging Face hub. Package llama reads local files only;
// hf:// references are downloaded here, by the caller, into the hub cache
// (package hub) before loading.

// ParseHFModelURI parses hf://owner/name[@revision][/path/in/repo] as a
// model reference: a file, or (no path, or a path without an extension) a
// checkpoint folder.
func ParseHFModelURI(uri string) (hub.Ref, error) { return hub.ParseURI(uri, hub.Model) }

// ResolveModel returns the local path of a model: path itself, or, for an
// hf:// reference, the file or checkpoint folder downloaded into the hub
// cache (HF_ENDPOINT, HF_TOKEN and HF_HUB_CACHE apply; cached files are
// not fetched again and are never partial). A folder brings config.json,
// model.safetensors or the shards of model.safetensors.index.json, and the
// tokenizer and chat template files present.
func ResolveModel(ctx context.Context, path string) (string, error) {
	if !strings.HasPrefix(path, "hf://") {
		return path, nil
	}
	return fetchModel(ctx, hub.NewClient(), path)
}

// LoadModel is ResolveModel followed by llama.Load.
func LoadModel(ctx context.Context, path string) (*llama.Model, error) {
	local, err := ResolveModel(ctx, path)
	if err != nil {
		return nil, err
	}
	return llama.Load(local)
}

func fetchModel(ctx context.Context, c *hub.Client, uri string) (string, error) {
	ref, err := ParseHFModelURI(uri)
	if err != nil {
		return "", err
	}
	if ref.Path == "" || path.Ext(ref.Path) == "" {
		return fetchFolder(ctx, c, ref)
	}
	return c.Download(ctx, ref, ref.Path, -1)
}

// fetchFolder downloads a Hugging Face checkpoint folder (the repository,
// or a folder in it) and returns the local folder.
func fetchFolder(ctx context.Context, c *hub.Client, ref hub.Ref) (string, error) {
	file := func(name string) string { return path.Join(ref.Path, name) }
	get := func(name string) (string, error) { return c.Download(ctx, ref, file(name), -1) }
	notFound := func(err error) bool {
		var he *hub.HTTPError
		return errors.As(err, &he) && he.Code == http.StatusNotFound
	}
	cfg, err := get("config.json")
	if err != nil {
		return "", fmt.Errorf("%s is not a file and not a model folder: %w", ref, err)
	}
	dir := filepath.Dir(cfg)
	idx, err := get("model.safetensors.index.json")
	switch {
	case notFound(err):
		if _, err := get("model.safetensors"); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	default:
		data, err := os.ReadFile(idx)
		if err != nil {
			return "", err
		}
		shards, err := llama.ParseSafetensorsIndex(data, idx)
		if err != nil {
			return "", err
		}
		for _, s := range shards {
			if _, err := get(s); err != nil {
				return "", err
			}
		}
	}
	for _, name := range llama.HFTokenizerFiles() {
		if _, err := get(name); err != nil && !notFound(err) {
			return "", err
		}
	}
	return dir, nil
}
