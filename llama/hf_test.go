package llama

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ggmi-dev/ggmi/hub"
)

// The hub package tests parsing, the cache layout and downloads; these
// tests cover what llama adds: a model file URI must name a file, and
// HFClient fetches it into the models cache.

func TestParseHFURI(t *testing.T) {
	ref, err := ParseHFURI("hf://owner/repo@v1.0/dir/model.gguf")
	if want := (HFRef{Type: hub.Model, Owner: "owner", Name: "repo", Revision: "v1.0", Path: "dir/model.gguf"}); err != nil || ref != want {
		t.Errorf("ParseHFURI = %+v, %v; want %+v", ref, err, want)
	}
	for _, uri := range []string{"hf://owner/repo", "hf://owner/repo/"} { // a checkpoint folder
		if ref, err := ParseHFURI(uri); err != nil || ref.Path != "" {
			t.Errorf("ParseHFURI(%q) = %+v, %v; want the repository", uri, ref, err)
		}
	}
	for _, uri := range []string{"hf://owner/repo/../x", "https://huggingface.co/o/r/f"} {
		if ref, err := ParseHFURI(uri); err == nil {
			t.Errorf("ParseHFURI(%q) accepted: %+v", uri, ref)
		}
	}
}

func TestHFFetch(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/owner/repo/resolve/main/dir/model.bin" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("weights"))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	c := DefaultHFClient()
	for range 2 {
		path, err := c.Fetch("hf://owner/repo/dir/model.bin")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(DefaultHFCacheDir(), "models--owner--repo", "snapshots", "main", "dir", "model.bin"); path != want {
			t.Errorf("path %q, want %q", path, want)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (the second fetch is cached)", n)
	}
	if _, err := c.Fetch("hf://owner/repo/missing.bin"); err == nil {
		t.Error("missing file fetched")
	}
	// Without a file the URI names a checkpoint folder: config.json is
	// asked for (one request) and is missing.
	if _, err := c.Fetch("hf://owner/repo"); err == nil || !strings.Contains(err.Error(), "not a model folder") || hits.Load() != 3 {
		t.Errorf("URI without a file: err %v, %d requests", err, hits.Load())
	}
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
	toks := ref.sp().Encode("Once upon", true, false)
	if d := maxAbsDiff(logitsAt(t, m, toks), logitsAt(t, ref, toks)); d != 0 {
		t.Errorf("downloaded model differs: %g", d)
	}
}
