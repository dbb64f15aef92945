package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ggmi-dev/ggmi/hub"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// The hub package tests parsing, the cache layout and downloads; these
// tests cover what ResolveModel adds: a model file URI names a file or a
// checkpoint folder, which is fetched into the models cache once.

func TestParseHFModelURI(t *testing.T) {
	ref, err := ParseHFModelURI("hf://owner/repo@v1.0/dir/model.gguf")
	if want := (hub.Ref{Type: hub.Model, Owner: "owner", Name: "repo", Revision: "v1.0", Path: "dir/model.gguf"}); err != nil || ref != want {
		t.Errorf("ParseHFModelURI = %+v, %v; want %+v", ref, err, want)
	}
	for _, uri := range []string{"hf://owner/repo", "hf://owner/repo/"} { // a checkpoint folder
		if ref, err := ParseHFModelURI(uri); err != nil || ref.Path != "" {
			t.Errorf("ParseHFModelURI(%q) = %+v, %v; want the repository", uri, ref, err)
		}
	}
	for _, uri := range []string{"hf://owner/repo/../x", "https://huggingface.co/o/r/f"} {
		if ref, err := ParseHFModelURI(uri); err == nil {
			t.Errorf("ParseHFModelURI(%q) accepted: %+v", uri, ref)
		}
	}
}

func TestResolveModelFile(t *testing.T) {
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
	ctx := context.Background()
	for range 2 {
		path, err := ResolveModel(ctx, "hf://owner/repo/dir/model.bin")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(hub.DefaultCacheDir(), "models--owner--repo", "snapshots", "main", "dir", "model.bin"); path != want {
			t.Errorf("path %q, want %q", path, want)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (the second fetch is cached)", n)
	}
	if _, err := ResolveModel(ctx, "hf://owner/repo/missing.bin"); err == nil {
		t.Error("missing file fetched")
	}
	// Without a file the URI names a checkpoint folder: config.json is
	// asked for (one request) and is missing.
	if _, err := ResolveModel(ctx, "hf://owner/repo"); err == nil || !strings.Contains(err.Error(), "not a model folder") || hits.Load() != 3 {
		t.Errorf("URI without a file: err %v, %d requests", err, hits.Load())
	}
	// A local path is returned as it is, without a request.
	if p, err := ResolveModel(ctx, "some/local/model.gguf"); err != nil || p != "some/local/model.gguf" || hits.Load() != 3 {
		t.Errorf("local path: %q, %v", p, err)
	}
	// A cancelled context stops the download.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ResolveModel(cctx, "hf://owner/repo/dir/other.bin"); err == nil {
		t.Error("download with a cancelled context succeeded")
	}
}

func TestLoadModelHFFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(testshared.StoriesPath(t)), "stories260K.gguf"))
	if err != nil {
		t.Skipf("stories260K.gguf: %v", err)
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
	m, err := LoadModel(context.Background(), "hf://me/stories/stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	ref := loadModel(t)
	toks := ref.Tokenizer.Encode("Once upon", true, false)
	if !slices.Equal(logitRows(t, m, toks), logitRows(t, ref, toks)) {
		t.Error("downloaded model gives other logits")
	}
}

// TestLoadModelHFFolder downloads a checkpoint folder (sharded index, no
// tokenizer files) from a scripted hub and gets the saved logits.
func TestLoadModelHFFolder(t *testing.T) {
	cfg, err := llama.FamilyConfig(llama.Config{Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKVHeads: 4,
		VocabSize: 300, SeqLen: 32, SharedClassifier: true}, llama.ArchGPT2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.NewRandomModel(cfg, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := m.SaveHF(src); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "model.safetensors"), filepath.Join(src, "model-00001-of-00001.safetensors")); err != nil {
		t.Fatal(err)
	}
	idx, _ := json.Marshal(map[string]any{"weight_map": map[string]string{"wte.weight": "model-00001-of-00001.safetensors"}})
	if err := os.WriteFile(filepath.Join(src, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/me/tiny/resolve/main/sub/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(src, name))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	got, err := LoadModel(context.Background(), "hf://me/tiny/sub")
	if err != nil {
		t.Fatal(err)
	}
	toks := []int{5, 17, 299, 0}
	if !slices.Equal(logitRows(t, got, toks), logitRows(t, m, toks)) {
		t.Fatal("downloaded folder gives other logits")
	}
	if _, err := LoadModel(context.Background(), "hf://me/other"); err == nil || !strings.Contains(err.Error(), "not a file and not a model folder") {
		t.Fatalf("missing repository: %v", err)
	}
}
