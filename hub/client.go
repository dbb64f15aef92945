package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/ggmi-dev/ggmi/internal/atomicfile"
)

// Client downloads files from the Hugging Face hub into a local cache.
type Client struct {
	// Endpoint is the hub's base URL ([DefaultEndpoint] when empty).
	Endpoint string
	// CacheDir is the cache root ([DefaultCacheDir] when empty).
	CacheDir string
	// Token, when not empty, is sent as "Authorization: Bearer <token>" to
	// the hub's own host (never to other hosts).
	Token string
	// HTTPClient makes the requests (http.DefaultClient when nil).
	HTTPClient *http.Client
}

// NewClient returns a client configured from the environment: HF_ENDPOINT,
// HF_TOKEN and [DefaultCacheDir].
func NewClient() *Client {
	return &Client{
		Endpoint: os.Getenv("HF_ENDPOINT"),
		CacheDir: DefaultCacheDir(),
		Token:    os.Getenv("HF_TOKEN"),
	}
}

// EndpointURL returns the hub's base URL without a trailing slash.
func (c *Client) EndpointURL() string { return trimEndpoint(c.Endpoint) }

// CacheRoot returns the cache root in use.
func (c *Client) CacheRoot() string {
	if c.CacheDir == "" {
		return DefaultCacheDir()
	}
	return c.CacheDir
}

// OnHub reports whether u has the scheme and host of the hub's endpoint, so
// that the token may go along.
func (c *Client) OnHub(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	base, err := url.Parse(c.EndpointURL())
	return err == nil && pu.Scheme == base.Scheme && strings.EqualFold(pu.Host, base.Host)
}

// Get requests u, with the token when u is on the hub's host. A status
// other than 200 OK is an error that quotes the start of the body (and
// mentions HF_TOKEN for 401 and 403). The caller closes the body.
func (c *Client) Get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" && c.OnHub(u) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		msg := strings.TrimSpace(string(body))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			msg += " (a gated or private repository needs HF_TOKEN)"
		}
		return nil, &HTTPError{URL: u, Status: resp.Status, Code: resp.StatusCode, Msg: msg}
	}
	return resp, nil
}

// Download returns the local path of the file p of the repository ref,
// fetching it from the hub first unless it is cached already (see
// [Client.DownloadURL]).
func (c *Client) Download(ctx context.Context, ref Ref, p string, expectedSize int64) (string, error) {
	return c.DownloadURL(ctx, ref.FileURL(c.Endpoint, p), ref, p, expectedSize)
}

// DownloadURL stores the body of u in the cache as the file p of the
// repository ref and returns its local path. A cached file of the expected
// size (any size when expectedSize < 0) is returned without a request.
// Otherwise the body goes to a temporary file next to the destination,
// which is renamed into place only when its length matches the
// Content-Length and expectedSize; on failure nothing is left behind.
func (c *Client) DownloadURL(ctx context.Context, u string, ref Ref, p string, expectedSize int64) (string, error) {
	name := ref
	name.Path = p
	fail := func(err error) (string, error) { return "", fmt.Errorf("download %s: %w", name, err) }
	if err := ref.check(); err != nil {
		return fail(err)
	}
	if !SafePath(p) {
		return fail(fmt.Errorf("unsafe path %q", p))
	}
	dst := ref.FileCachePath(c.CacheRoot(), p)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && (expectedSize < 0 || st.Size() == expectedSize) {
		return dst, nil
	}
	resp, err := c.Get(ctx, u)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	err = atomicfile.Write(dst, true, func(w io.Writer) error {
		n, err := io.Copy(w, resp.Body)
		switch {
		case err != nil:
			return err
		case resp.ContentLength >= 0 && n != resp.ContentLength:
			return fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
		case expectedSize >= 0 && n != expectedSize:
			return fmt.Errorf("got %d bytes, expected %d", n, expectedSize)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return dst, nil
}

// HTTPError is a response other than 200 OK.
type HTTPError struct {
	URL, Status string
	Code        int
	Msg         string // the start of the body
}

func (e *HTTPError) Error() string { return fmt.Sprintf("GET %s: %s: %s", e.URL, e.Status, e.Msg) }
