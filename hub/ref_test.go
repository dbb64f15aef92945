package hub

import (
	"path/filepath"
	"testing"
)

func TestParseURI(t *testing.T) {
	cases := []struct {
		uri      string
		typ      RepoType
		want     Ref
		wantURL  string // of the file ref.Path on the default endpoint
		wantPath string // relative to the cache dir
	}{
		{"hf://karpathy/tinyllamas/stories260K/stories260K.bin", Model,
			Ref{Model, "karpathy", "tinyllamas", "main", "stories260K/stories260K.bin"},
			"https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin",
			"models--karpathy--tinyllamas/snapshots/main/stories260K/stories260K.bin"},
		{"hf://owner/repo@v1.0/model.gguf", Model,
			Ref{Model, "owner", "repo", "v1.0", "model.gguf"},
			"https://huggingface.co/owner/repo/resolve/v1.0/model.gguf",
			"models--owner--repo/snapshots/v1.0/model.gguf"},
		{"hf://o/r/dir with space/f#1.bin", Model,
			Ref{Model, "o", "r", "main", "dir with space/f#1.bin"},
			"https://huggingface.co/o/r/resolve/main/dir%20with%20space/f%231.bin",
			"models--o--r/snapshots/main/dir with space/f#1.bin"},
		{"hf://databricks/databricks-dolly-15k", Dataset,
			Ref{Dataset, "databricks", "databricks-dolly-15k", "main", ""}, "", ""},
		{"hf://datasets/tatsu-lab/alpaca@v2/data/train.parquet", Dataset,
			Ref{Dataset, "tatsu-lab", "alpaca", "v2", "data/train.parquet"},
			"https://huggingface.co/datasets/tatsu-lab/alpaca/resolve/v2/data/train.parquet",
			"datasets--tatsu-lab--alpaca/snapshots/v2/data/train.parquet"},
		{"hf://acme/dolly/data/", Dataset, Ref{Dataset, "acme", "dolly", "main", "data"}, "", ""},
		// The datasets/ prefix is only special for data sets.
		{"hf://datasets/x/file.bin", Model, Ref{Model, "datasets", "x", "main", "file.bin"}, "", ""},
	}
	for _, c := range cases {
		ref, err := ParseURI(c.uri, c.typ)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", c.uri, err)
			continue
		}
		if ref != c.want {
			t.Errorf("ParseURI(%q) = %+v, want %+v", c.uri, ref, c.want)
		}
		if c.wantURL != "" {
			if got := ref.URL(""); got != c.wantURL {
				t.Errorf("URL(%q) = %q, want %q", c.uri, got, c.wantURL)
			}
		}
		if c.wantPath != "" {
			if got := ref.CachePath("/cache"); got != filepath.Join("/cache", filepath.FromSlash(c.wantPath)) {
				t.Errorf("CachePath(%q) = %q, want %q", c.uri, got, c.wantPath)
			}
		}
		if again, err := ParseURI(ref.String(), c.typ); err != nil || again != ref {
			t.Errorf("ParseURI(%q.String() = %q) = %+v, %v", c.uri, ref.String(), again, err)
		}
	}
	for _, uri := range []string{
		"https://huggingface.co/o/r/f",
		"hf://a",
		"hf://owner//file",
		"hf:///repo/file",
		"hf://owner/repo/../../etc/passwd",
		"hf://owner/repo/a//b",
		"hf://owner/repo/a/./b",
		"hf://owner/repo/a\\b",
		"hf://owner/repo/a\x00b",
		"hf://owner/repo@/file",
		"hf://owner/@v1/file",
		"hf://owner/repo@../file",
		"hf://../repo/file",
		"hf://datasets/a/..",
	} {
		for _, typ := range []RepoType{Model, Dataset} {
			if ref, err := ParseURI(uri, typ); err == nil {
				t.Errorf("ParseURI(%q, %v) accepted: %+v", uri, typ, ref)
			}
		}
	}
}

func TestRefURLs(t *testing.T) {
	ref := Ref{Type: Dataset, Owner: "acme", Name: "empty", Revision: "refs/convert/parquet"}
	if got, want := ref.FileURL("http://hub.local/", "default/train/0.parquet"),
		"http://hub.local/datasets/acme/empty/resolve/refs%2Fconvert%2Fparquet/default/train/0.parquet"; got != want {
		t.Errorf("FileURL = %q, want %q", got, want)
	}
	// Slashes of a revision are escaped: it stays one cache folder.
	if got, want := ref.FileCachePath("/c", "default/train/0.parquet"),
		filepath.FromSlash("/c/datasets--acme--empty/snapshots/refs%2Fconvert%2Fparquet/default/train/0.parquet"); got != want {
		t.Errorf("FileCachePath = %q, want %q", got, want)
	}
	if got, want := ref.String(), "hf://datasets/acme/empty@refs/convert/parquet"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestSafePath(t *testing.T) {
	for p, want := range map[string]bool{
		"a": true, "a/b.jsonl": true, "a b/c#d": true,
		"": false, "/a": false, "a/": false, "a//b": false, ".": false, "a/..": false,
		"../a": false, "a/./b": false, "a\\b": false, "a\x00": false,
	} {
		if got := SafePath(p); got != want {
			t.Errorf("SafePath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
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
		if got := DefaultCacheDir(); got != filepath.FromSlash(c.want) {
			t.Errorf("env %+v: got %q, want %q", c, got, c.want)
		}
	}
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultCacheDir(); got != filepath.FromSlash("/home/u/.cache/huggingface/hub") {
		t.Errorf("HOME fallback: got %q", got)
	}
}
