package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeHub serves files of the model repository owner/repo and the data set
// acme/data, requiring the token when it is not empty. It records the
// number of requests and the last Authorization header.
type fakeHub struct {
	*httptest.Server
	hits     atomic.Int32
	lastAuth atomic.Value
}

func newFakeHub(t *testing.T, token string, files map[string]string) *fakeHub {
	t.Helper()
	f := &fakeHub{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.lastAuth.Store(r.Header.Get("Authorization"))
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/owner/repo/resolve/main/short.bin" {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("only a few bytes"))
			return
		}
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeHub) auth() string { s, _ := f.lastAuth.Load().(string); return s }

// noTempFiles fails the test when anything but the named files is in dir.
func noTempFiles(t *testing.T, dir string, keep ...string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		for _, k := range keep {
			if p == k {
				return nil
			}
		}
		t.Errorf("unexpected file left in cache: %s", p)
		return nil
	})
}

func TestDownload(t *testing.T) {
	payload := strings.Repeat("weights!", 1000)
	srv := newFakeHub(t, "", map[string]string{
		"/owner/repo/resolve/main/dir/model.bin":   payload,
		"/datasets/acme/data/resolve/v1/train.csv": "a,b\n1,2\n",
	})
	ctx := context.Background()
	cache := t.TempDir()
	c := &Client{Endpoint: srv.URL, CacheDir: cache, Token: "secret"}
	ref := Ref{Type: Model, Owner: "owner", Name: "repo", Revision: "main"}

	path, err := c.Download(ctx, ref, "dir/model.bin", -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "models--owner--repo", "snapshots", "main", "dir", "model.bin"); path != want {
		t.Errorf("path %q, want %q", path, want)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != payload {
		t.Fatalf("cached file differs (err %v)", err)
	}
	if auth := srv.auth(); auth != "Bearer secret" {
		t.Errorf("Authorization header %q", auth)
	}
	// A second download is served from the cache, also with the right size.
	for _, size := range []int64{-1, int64(len(payload))} {
		if _, err := c.Download(ctx, ref, "dir/model.bin", size); err != nil || srv.hits.Load() != 1 {
			t.Errorf("cached download (size %d): err %v, %d requests", size, err, srv.hits.Load())
		}
	}
	// A cached file of the wrong size is fetched again (and then found to
	// be of the wrong size).
	if _, err := c.Download(ctx, ref, "dir/model.bin", 5); err == nil || !strings.Contains(err.Error(), "expected 5") || srv.hits.Load() != 2 {
		t.Errorf("size mismatch: err %v, %d requests", err, srv.hits.Load())
	}
	// Data sets live under datasets--owner--name, at their revision.
	ds := Ref{Type: Dataset, Owner: "acme", Name: "data", Revision: "v1"}
	path, err = c.Download(ctx, ds, "train.csv", 8)
	if want := filepath.Join(cache, "datasets--acme--data", "snapshots", "v1", "train.csv"); err != nil || path != want {
		t.Errorf("dataset download: %q, %v; want %q", path, err, want)
	}
	// Without a token no Authorization header is sent.
	anon := &Client{Endpoint: srv.URL, CacheDir: t.TempDir()}
	if _, err := anon.Download(ctx, ref, "dir/model.bin", -1); err != nil {
		t.Fatal(err)
	}
	if auth := srv.auth(); auth != "" {
		t.Errorf("anonymous request sent Authorization %q", auth)
	}
	// Failures leave nothing (not even temporary files) in the cache.
	for _, p := range []string{"missing.bin", "short.bin"} {
		if _, err := c.Download(ctx, ref, p, -1); err == nil {
			t.Errorf("Download(%q) succeeded", p)
		}
	}
	if _, err := c.Download(ctx, ref, "missing.bin", -1); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing file: %v", err)
	}
	noTempFiles(t, cache,
		filepath.Join(cache, "models--owner--repo", "snapshots", "main", "dir", "model.bin"),
		filepath.Join(cache, "datasets--acme--data", "snapshots", "v1", "train.csv"))
}

func TestDownloadUnsafe(t *testing.T) {
	srv := newFakeHub(t, "", nil)
	cache := t.TempDir()
	c := &Client{Endpoint: srv.URL, CacheDir: cache}
	ok := Ref{Owner: "o", Name: "r", Revision: "main"}
	for _, tc := range []struct {
		ref Ref
		p   string
	}{
		{ok, "../../escape"},
		{ok, "/abs"},
		{ok, ""},
		{Ref{Owner: "..", Name: "r", Revision: "main"}, "f"},
		{Ref{Owner: "o", Name: "a/b", Revision: "main"}, "f"},
		{Ref{Owner: "o", Name: "r", Revision: "../x"}, "f"},
		{Ref{Owner: "o", Name: "r"}, "f"},
	} {
		if p, err := c.Download(context.Background(), tc.ref, tc.p, -1); err == nil {
			t.Errorf("Download(%+v, %q) = %q", tc.ref, tc.p, p)
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("%d requests for unsafe downloads", n)
	}
	noTempFiles(t, cache)
}

func TestGetAuth(t *testing.T) {
	srv := newFakeHub(t, "secret", map[string]string{"/x": "ok"})
	ctx := context.Background()
	// A gated repository without a token gives a clear error.
	_, err := (&Client{Endpoint: srv.URL}).Get(ctx, srv.URL+"/x")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("error %v", err)
	}
	c := &Client{Endpoint: srv.URL + "/", Token: "secret"}
	resp, err := c.Get(ctx, srv.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The token goes to the hub's host only: another server does not get it.
	other := newFakeHub(t, "", map[string]string{"/x": "ok"})
	resp, err = c.Get(ctx, other.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth := other.auth(); auth != "" {
		t.Errorf("token sent to another host: %q", auth)
	}
	// Nor does DownloadURL send it there.
	other.lastAuth.Store("unset")
	ref := Ref{Type: Dataset, Owner: "o", Name: "r", Revision: "main"}
	if _, err := (&Client{Endpoint: srv.URL, CacheDir: t.TempDir(), Token: "secret"}).DownloadURL(ctx, other.URL+"/x", ref, "x", -1); err != nil || other.auth() != "" {
		t.Errorf("DownloadURL: %v, Authorization %q", err, other.auth())
	}
}

func TestOnHub(t *testing.T) {
	c := &Client{Endpoint: "https://hub.example/"}
	for u, want := range map[string]bool{
		"https://hub.example/api/x?cursor=2": true,
		"https://HUB.example/x":              true,
		"http://hub.example/x":               false,
		"https://hub.example:8443/x":         false,
		"https://evil.example/x":             false,
		"https://hub.example.evil/x":         false,
		"::bad":                              false,
	} {
		if got := c.OnHub(u); got != want {
			t.Errorf("OnHub(%q) = %v, want %v", u, got, want)
		}
	}
	if got := (&Client{}).OnHub("https://huggingface.co/a/b"); !got {
		t.Error("default endpoint: huggingface.co not on the hub")
	}
}

func TestNewClient(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://mirror.local")
	t.Setenv("HF_TOKEN", "tok")
	t.Setenv("HF_HUB_CACHE", "/cache/hub")
	c := NewClient()
	if c.Endpoint != "http://mirror.local" || c.Token != "tok" || c.CacheDir != "/cache/hub" || c.HTTPClient != nil {
		t.Errorf("NewClient() = %+v", c)
	}
	if got := (&Client{}).EndpointURL(); got != DefaultEndpoint {
		t.Errorf("EndpointURL() = %q", got)
	}
	if got := (&Client{}).CacheRoot(); got != "/cache/hub" {
		t.Errorf("CacheRoot() = %q", got)
	}
}
