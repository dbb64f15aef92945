package llama

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/hub"
)

// HFRef is a parsed hf://owner/name[@revision]/path reference to a file in
// a model repository on the Hugging Face hub (see [hub.Ref]).
type HFRef = hub.Ref

// ParseHFURI parses hf://owner/name[@revision][/path/in/repo] as a model
// reference: a file, or (no path, or a path without an extension) a
// checkpoint folder.
func ParseHFURI(uri string) (HFRef, error) { return hub.ParseURI(uri, hub.Model) }

// DefaultHFCacheDir returns the hub cache directory ([hub.DefaultCacheDir]).
func DefaultHFCacheDir() string { return hub.DefaultCacheDir() }

// HFClient downloads model files from the Hugging Face hub into a local
// cache; it is a [hub.Client] with hf:// URI methods.
type HFClient hub.Client

// DefaultHFClient returns a client configured from the environment:
// HF_ENDPOINT, HF_TOKEN and the default cache directory.
func DefaultHFClient() *HFClient { return (*HFClient)(hub.NewClient()) }

// Fetch returns the local path of the file named by an hf:// URI,
// downloading it first unless it is already cached.
func (c *HFClient) Fetch(uri string) (string, error) {
	return c.FetchContext(context.Background(), uri)
}

// FetchContext is Fetch with a context. A cached file is never partial (see
// [hub.Client.Download]).
func (c *HFClient) FetchContext(ctx context.Context, uri string) (string, error) {
	ref, err := ParseHFURI(uri)
	if err != nil {
		return "", err
	}
	if ref.Path == "" || path.Ext(ref.Path) == "" {
		return c.fetchFolder(ctx, ref)
	}
	return (*hub.Client)(c).Download(ctx, ref, ref.Path, -1)
}

// fetchFolder downloads a Hugging Face checkpoint folder (the repository,
// or a folder in it): config.json, model.safetensors or the shards of
// model.safetensors.index.json, and the tokenizer files present. It
// returns the local folder.
func (c *HFClient) fetchFolder(ctx context.Context, ref HFRef) (string, error) {
	hc := (*hub.Client)(c)
	file := func(name string) string { return path.Join(ref.Path, name) }
	get := func(name string) (string, error) { return hc.Download(ctx, ref, file(name), -1) }
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
		shards, err := parseSafetensorsIndex(data, idx)
		if err != nil {
			return "", err
		}
		for _, s := range shards {
			if _, err := get(s); err != nil {
				return "", err
			}
		}
	}
	for _, name := range hfTokenizerFiles {
		if _, err := get(name); err != nil && !notFound(err) {
			return "", err
		}
	}
	return dir, nil
}
