package llama

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseHFURI(t *testing.T) {
	cases := []struct {
		uri      string
		wantURL  string
		wantPath string // relative to the cache dir
		wantErr  bool
	}{
		{"hf://karpathy/tinyllamas/stories260K/stories260K.bin",
			"https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin",
			"models--karpathy--tinyllamas/snapshots/main/stories260K/stories260K.bin", false},
		{"hf://owner/repo@v1.0/model.gguf",
			"https://huggingface.co/owner/repo/resolve/v1.0/model.gguf",
			"models--owner--repo/snapshots/v1.0/model.gguf", false},
		{"hf://o/r/dir with space/f#1.bin",
			"https://huggingface.co/o/r/resolve/main/dir%20with%20space/f%231.bin",
			"models--o--r/snapshots/main/dir with space/f#1.bin", false},
		{"https://huggingface.co/o/r/f", "", "", true},
		{"hf://owner/repo", "", "", true},
		{"hf://owner//file", "", "", true},
		{"hf:///repo/file", "", "", true},
		{"hf://owner/repo/../../etc/passwd", "", "", true},
		{"hf://owner/repo/a//b", "", "", true},
		{"hf://owner/repo@/file", "", "", true},
	}
	for _, c := range cases {
		ref, err := ParseHFURI(c.uri)
		if c.wantErr {
			if err == nil {
				t.Errorf("ParseHFURI(%q) accepted: %+v", c.uri, ref)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseHFURI(%q): %v", c.uri, err)
			continue
		}
		if got := ref.URL(""); got != c.wantURL {
			t.Errorf("URL(%q) = %q, want %q", c.uri, got, c.wantURL)
		}
		if got := ref.CachePath("/cache"); got != filepath.Join("/cache", filepath.FromSlash(c.wantPath)) {
			t.Errorf("CachePath(%q) = %q, want %q", c.uri, got, c.wantPath)
		}
	}
}

func TestDefaultHFCacheDir(t *testing.T) {
	cases := []struct {
		hubCache, hfHome, xdg string
		want                  string
	}{
		{"/x/hub", "/h", "/c", "/x/hub"},
		{"", "/h", "/c", "/h/hub"},
		{"", "", "/c", "/c/huggingface/hub"},
	}
	for _, c := range cases {
		t.Setenv("HF_HUB_CACHE", c.hubCache)
		t.Setenv("HF_HOME", c.hfHome)
		t.Setenv("XDG_CACHE_HOME", c.xdg)
		if got := DefaultHFCacheDir(); got != filepath.FromSlash(c.want) {
			t.Errorf("env %+v: got %q, want %q", c, got, c.want)
		}
	}
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultHFCacheDir(); got != filepath.FromSlash("/home/u/.cache/huggingface/hub") {
		t.Errorf("HOME fallback: got %q", got)
	}
}

func TestHFFetch(t *testing.T) {
	payload := bytes.Repeat([]byte("weights!"), 1000)
	var hits atomic.Int32
	var lastAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		lastAuth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/owner/repo/resolve/main/dir/model.bin":
			w.Write(payload)
		case "/owner/repo/resolve/main/short.bin":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("only a few bytes"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	c := &HFClient{Endpoint: srv.URL, CacheDir: cache, Token: "secret"}
	path, err := c.Fetch("hf://owner/repo/dir/model.bin")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "models--owner--repo", "snapshots", "main", "dir", "model.bin"); path != want {
		t.Errorf("path %q, want %q", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("cached file differs (err %v)", err)
	}
	if auth, _ := lastAuth.Load().(string); auth != "Bearer secret" {
		t.Errorf("Authorization header %q", auth)
	}
	// A second fetch is served from the cache.
	if _, err := c.Fetch("hf://owner/repo/dir/model.bin"); err != nil || hits.Load() != 1 {
		t.Errorf("second fetch: err %v, %d requests", err, hits.Load())
	}
	// Without a token no Authorization header is sent.
	anon := &HFClient{Endpoint: srv.URL, CacheDir: t.TempDir()}
	if _, err := anon.Fetch("hf://owner/repo/dir/model.bin"); err != nil {
		t.Fatal(err)
	}
	if auth, _ := lastAuth.Load().(string); auth != "" {
		t.Errorf("anonymous request sent Authorization %q", auth)
	}
	// Failures leave nothing (not even temporary files) in the cache.
	for _, uri := range []string{"hf://owner/repo/missing.bin", "hf://owner/repo/short.bin"} {
		if _, err := c.Fetch(uri); err == nil {
			t.Errorf("Fetch(%q) succeeded", uri)
		}
	}
	filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasSuffix(p, "model.bin") {
			t.Errorf("unexpected file left in cache: %s", p)
		}
		return nil
	})
}

func TestLoadHFURI(t *testing.T) {
	dir := modelDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/me/stories/resolve/main/stories260K.gguf" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	m, err := Load("hf://me/stories/stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	ref := loadGGUF(t)
	toks := ref.Tokenizer.Encode("Once upon", true, false)
	if d := maxAbsDiff(logitsAt(t, m, toks), logitsAt(t, ref, toks)); d != 0 {
		t.Errorf("downloaded model differs: %g", d)
	}
}
