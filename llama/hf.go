package llama

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// HFRef is a parsed hf://owner/repo/path/in/repo reference.
type HFRef struct {
	Owner, Repo string
	// Revision is the branch, tag or commit ("main" by default; written as
	// hf://owner/repo@rev/path).
	Revision string
	Path     string // path of the file inside the repository
}

// ParseHFURI parses hf://owner/repo[@revision]/path/in/repo.
func ParseHFURI(uri string) (HFRef, error) {
	rest, ok := strings.CutPrefix(uri, "hf://")
	if !ok {
		return HFRef{}, fmt.Errorf("hf uri %q: missing hf:// prefix", uri)
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return HFRef{}, fmt.Errorf("hf uri %q: want hf://owner/repo/path", uri)
	}
	ref := HFRef{Owner: parts[0], Repo: parts[1], Revision: "main", Path: parts[2]}
	if repo, rev, ok := strings.Cut(ref.Repo, "@"); ok {
		if repo == "" || rev == "" {
			return HFRef{}, fmt.Errorf("hf uri %q: empty repository or revision", uri)
		}
		ref.Repo, ref.Revision = repo, rev
	}
	for _, s := range append([]string{ref.Owner, ref.Repo, ref.Revision}, strings.Split(ref.Path, "/")...) {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return HFRef{}, fmt.Errorf("hf uri %q: invalid path component %q", uri, s)
		}
	}
	return ref, nil
}

// URL returns the download URL of the file on the hub at endpoint
// (https://huggingface.co when empty).
func (r HFRef) URL(endpoint string) string {
	if endpoint == "" {
		endpoint = "https://huggingface.co"
	}
	segs := append([]string{r.Owner, r.Repo, "resolve", r.Revision}, strings.Split(r.Path, "/")...)
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(endpoint, "/") + "/" + strings.Join(segs, "/")
}

// CachePath returns where the file is stored below cacheDir, following the
// hub cache naming: models--owner--repo/snapshots/<revision>/<path>.
func (r HFRef) CachePath(cacheDir string) string {
	return filepath.Join(cacheDir, "models--"+r.Owner+"--"+r.Repo, "snapshots", r.Revision, filepath.FromSlash(path.Clean(r.Path)))
}

// DefaultHFCacheDir returns $HF_HOME/hub, or ~/.cache/huggingface/hub
// (honouring $XDG_CACHE_HOME) when HF_HOME is unset. HF_HUB_CACHE wins over
// both when set.
func DefaultHFCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "huggingface", "hub")
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// HFClient downloads files from the Hugging Face hub into a local cache.
type HFClient struct {
	// Endpoint is the hub base URL (https://huggingface.co when empty).
	Endpoint string
	// CacheDir is the cache root (DefaultHFCacheDir when empty).
	CacheDir string
	// Token, when not empty, is sent as "Authorization: Bearer <token>".
	Token string
	// HTTPClient is used for requests (http.DefaultClient when nil).
	HTTPClient *http.Client
}

// DefaultHFClient returns a client configured from the environment:
// HF_ENDPOINT, HF_TOKEN and the default cache directory.
func DefaultHFClient() *HFClient {
	return &HFClient{
		Endpoint: os.Getenv("HF_ENDPOINT"),
		CacheDir: DefaultHFCacheDir(),
		Token:    os.Getenv("HF_TOKEN"),
	}
}

// Fetch returns the local path of the file named by an hf:// URI,
// downloading it first unless it is already cached.
func (c *HFClient) Fetch(uri string) (string, error) {
	return c.FetchContext(context.Background(), uri)
}

// FetchContext is Fetch with a context. The download is written to a
// temporary file in the destination directory and renamed into place only
// when complete, so a cached file is never partial.
func (c *HFClient) FetchContext(ctx context.Context, uri string) (string, error) {
	ref, err := ParseHFURI(uri)
	if err != nil {
		return "", err
	}
	cacheDir := c.CacheDir
	if cacheDir == "" {
		cacheDir = DefaultHFCacheDir()
	}
	dst := ref.CachePath(cacheDir)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	u := ref.URL(c.Endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: GET %s: %s", uri, u, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, resp.Body)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("download %s: got %d of %d bytes", uri, n, resp.ContentLength)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	ok = true
	return dst, nil
}
