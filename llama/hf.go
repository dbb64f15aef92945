package llama

import (
	"context"
	"fmt"

	"github.com/ggmi-dev/ggmi/hub"
)

// HFRef is a parsed hf://owner/name[@revision]/path reference to a file in
// a model repository on the Hugging Face hub (see [hub.Ref]).
type HFRef = hub.Ref

// ParseHFURI parses hf://owner/name[@revision]/path/in/repo as a model file
// reference; unlike [hub.ParseURI] it requires the path.
func ParseHFURI(uri string) (HFRef, error) {
	ref, err := hub.ParseURI(uri, hub.Model)
	if err != nil {
		return HFRef{}, err
	}
	if ref.Path == "" {
		return HFRef{}, fmt.Errorf("hf uri %q: want hf://owner/name/path", uri)
	}
	return ref, nil
}

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
	return (*hub.Client)(c).Download(ctx, ref, ref.Path, -1)
}
