package dataset

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ggmi-dev/ggmi/hub"
)

// fakeHub mimics the hub API: a paginated tree listing, file downloads under
// /datasets/{repo}/resolve/{rev}/{path}, and the parquet listing.
func fakeHub(t *testing.T, token string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	files := map[string]string{
		"data/train.jsonl": `{"instruction":"a","context":"","response":"x","category":"qa"}` + "\n" +
			`{"instruction":"b","context":"c","response":"y","category":"qa"}` + "\n",
		"data/test.jsonl": `{"instruction":"d","context":"","response":"z","category":"qa"}` + "\n",
		"README.md":       "# card",
	}
	var parquetData strings.Builder
	if err := Encode(&parquetData, Parquet, []Record{{ID: "p1", Instruction: "from parquet", Output: "o"}}); err != nil {
		t.Fatal(err)
	}
	var downloads atomic.Int32
	mux := http.NewServeMux()
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return false
		}
		return true
	}
	var srv *httptest.Server
	mux.HandleFunc("GET /api/datasets/acme/dolly/tree/{rev}", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		if r.PathValue("rev") != "main" && r.PathValue("rev") != "v1.0" {
			http.Error(w, "no revision", http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("cursor") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/datasets/acme/dolly/tree/main?recursive=true&cursor=2>; rel="next"`, srv.URL))
			fmt.Fprintf(w, `[{"type":"file","path":"README.md","size":%d},{"type":"directory","path":"data"},{"type":"file","path":"data/train.jsonl","size":%d}]`,
				len(files["README.md"]), len(files["data/train.jsonl"]))
			return
		}
		fmt.Fprintf(w, `[{"type":"file","path":"data/test.jsonl","size":%d}]`, len(files["data/test.jsonl"]))
	})
	mux.HandleFunc("GET /api/datasets/acme/empty/tree/main", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"type":"file","path":"README.md","size":6}]`)
	})
	mux.HandleFunc("GET /api/datasets/acme/empty/parquet", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"default":{"train":["%s/api/datasets/acme/empty/parquet/default/train/0.parquet"]}}`, srv.URL)
	})
	mux.HandleFunc("GET /api/datasets/acme/empty/parquet/default/train/0.parquet", func(w http.ResponseWriter, r *http.Request) {
		downloads.Add(1)
		fmt.Fprint(w, parquetData.String())
	})
	mux.HandleFunc("GET /datasets/acme/dolly/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		body, ok := files[r.PathValue("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		downloads.Add(1)
		fmt.Fprint(w, body)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &downloads
}

func TestHub(t *testing.T) {
	srv, downloads := fakeHub(t, "secret")
	cache := t.TempDir()
	h := &Hub{Endpoint: srv.URL, CacheDir: cache, Token: "secret"}
	ctx := context.Background()

	recs, reps, err := h.Load(ctx, "hf://acme/dolly", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || len(reps) != 2 || reps[0].Schema != "dolly" {
		t.Fatalf("%d records, reports %+v", len(recs), reps)
	}
	// Files come in name order: data/test.jsonl before data/train.jsonl.
	if recs[0].Instruction != "d" || recs[1].Instruction != "a" || recs[2].Input != "c" {
		t.Errorf("records %+v", recs)
	}
	want := filepath.Join(cache, "datasets--acme--dolly", "snapshots", "main", "data", "train.jsonl")
	if _, err := os.Stat(want); err != nil {
		t.Errorf("not cached at %s: %v", want, err)
	}
	if n := downloads.Load(); n != 2 {
		t.Errorf("%d downloads", n)
	}
	// Cached: no new download.
	if _, err := h.Resolve(ctx, "hf://acme/dolly"); err != nil {
		t.Fatal(err)
	}
	if n := downloads.Load(); n != 2 {
		t.Errorf("%d downloads after a cached resolve", n)
	}
	// One file at a revision.
	paths, err := h.Resolve(ctx, "hf://acme/dolly@v1.0/data/test.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || !strings.HasSuffix(paths[0], filepath.Join("snapshots", "v1.0", "data", "test.jsonl")) {
		t.Errorf("paths %v", paths)
	}
	// The listing of a gated data set fails without the token (the error
	// itself is tested in package hub).
	if _, err := (&Hub{Endpoint: srv.URL, CacheDir: t.TempDir()}).Resolve(ctx, "hf://acme/dolly"); err == nil {
		t.Error("resolved without the token")
	}
	// Missing file.
	if _, err := h.Resolve(ctx, "hf://acme/dolly/data/nope.jsonl"); err == nil {
		t.Error("missing file resolved")
	}
	// A repository without data files falls back to the parquet conversion.
	recs, _, err = h.Load(ctx, "hf://acme/empty", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != "p1" {
		t.Errorf("parquet fallback %+v", recs)
	}
	if _, err := os.Stat(filepath.Join(cache, "datasets--acme--empty", "snapshots", "refs%2Fconvert%2Fparquet", "default", "train", "0.parquet")); err != nil {
		t.Error(err)
	}
}

// A listing whose next page is on another host is refused: the token would
// go along.
func TestHubForeignNextPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://evil.example/api/datasets/a/b/tree/main?cursor=2>; rel="next"`)
		fmt.Fprint(w, `[]`)
	}))
	defer srv.Close()
	_, err := (&Hub{Endpoint: srv.URL, CacheDir: t.TempDir(), Token: "secret"}).Resolve(context.Background(), "hf://a/b")
	if err == nil || !strings.Contains(err.Error(), "not on") {
		t.Errorf("error %v", err)
	}
}

// Parsing, the cache layout and downloads are tested in package hub; this
// checks that dataset URIs are parsed as data set references.
func TestParseHubURI(t *testing.T) {
	for _, c := range []struct {
		uri  string
		want HubRef
	}{
		{"hf://databricks/databricks-dolly-15k", HubRef{Type: hub.Dataset, Owner: "databricks", Name: "databricks-dolly-15k", Revision: "main"}},
		{"hf://datasets/tatsu-lab/alpaca@v2/data/train.parquet", HubRef{Type: hub.Dataset, Owner: "tatsu-lab", Name: "alpaca", Revision: "v2", Path: "data/train.parquet"}},
	} {
		if got, err := ParseHubURI(c.uri); err != nil || got != c.want {
			t.Errorf("ParseHubURI(%q) = %+v, %v", c.uri, got, err)
		}
	}
	if got, err := ParseHubURI("hf://a/b/../../etc/passwd"); err == nil {
		t.Errorf("unsafe path accepted: %+v", got)
	}
}
