package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// HubRef is a parsed hf://owner/name[@revision][/path] reference to a
// dataset repository on the Hugging Face hub.
type HubRef struct {
	Owner, Name string
	// Revision is a branch, tag or commit ("main" when not given).
	Revision string
	// Path is a file or folder inside the repository ("" for all of it).
	Path string
}

// ParseHubURI parses hf://owner/name[@revision][/path/in/repo].
func ParseHubURI(uri string) (HubRef, error) {
	rest, ok := strings.CutPrefix(uri, "hf://")
	if !ok {
		return HubRef{}, fmt.Errorf("hub uri %q: missing hf:// prefix", uri)
	}
	rest = strings.TrimPrefix(rest, "datasets/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return HubRef{}, fmt.Errorf("hub uri %q: want hf://owner/name[@revision][/path]", uri)
	}
	ref := HubRef{Owner: parts[0], Name: parts[1], Revision: "main"}
	if n, rev, ok := strings.Cut(ref.Name, "@"); ok {
		if n == "" || rev == "" {
			return HubRef{}, fmt.Errorf("hub uri %q: empty name or revision", uri)
		}
		ref.Name, ref.Revision = n, rev
	}
	if len(parts) == 3 {
		ref.Path = strings.Trim(parts[2], "/")
	}
	if ref.Path != "" && !safeRepoPath(ref.Path) {
		return HubRef{}, fmt.Errorf("hub uri %q: unsafe path %q", uri, ref.Path)
	}
	if strings.Contains(ref.Revision, "..") {
		return HubRef{}, fmt.Errorf("hub uri %q: unsafe revision %q", uri, ref.Revision)
	}
	return ref, nil
}

func safeRepoPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// DefaultHubCacheDir returns $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func DefaultHubCacheDir() string {
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

// Hub downloads dataset files from the Hugging Face hub.
type Hub struct {
	// Endpoint is the hub's base URL (https://huggingface.co when empty).
	Endpoint string
	// CacheDir is the cache root (DefaultHubCacheDir when empty).
	CacheDir string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Client makes the requests (http.DefaultClient when nil).
	Client *http.Client
}

// NewHub returns a Hub configured from HF_ENDPOINT, HF_TOKEN and the
// default cache directory.
func NewHub() *Hub {
	return &Hub{Endpoint: os.Getenv("HF_ENDPOINT"), CacheDir: DefaultHubCacheDir(), Token: os.Getenv("HF_TOKEN")}
}

func (h *Hub) endpoint() string {
	if h.Endpoint == "" {
		return "https://huggingface.co"
	}
	return strings.TrimRight(h.Endpoint, "/")
}

func (h *Hub) cacheDir() string {
	if h.CacheDir == "" {
		return DefaultHubCacheDir()
	}
	return h.CacheDir
}

func (h *Hub) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		msg := strings.TrimSpace(string(body))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			msg += " (a gated or private dataset needs HF_TOKEN)"
		}
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, msg)
	}
	return resp, nil
}

// treeEntry is one item of the hub's tree listing.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
}

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// tree lists the files of a repository below dir, following pagination.
func (h *Hub) tree(ctx context.Context, ref HubRef, dir string) ([]treeEntry, error) {
	u := fmt.Sprintf("%s/api/datasets/%s/%s/tree/%s", h.endpoint(), url.PathEscape(ref.Owner), url.PathEscape(ref.Name), url.PathEscape(ref.Revision))
	if dir != "" {
		u += "/" + escapePath(dir)
	}
	u += "?recursive=true"
	var all []treeEntry
	for page := 0; u != "" && page < 1000; page++ {
		resp, err := h.get(ctx, u)
		if err != nil {
			return nil, err
		}
		var entries []treeEntry
		err = json.NewDecoder(resp.Body).Decode(&entries)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: decode listing: %w", u, err)
		}
		all = append(all, entries...)
		u = ""
		if m := nextLink.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			// Follow pages on the hub's own host only: the token goes along.
			next, err := url.Parse(m[1])
			base, _ := url.Parse(h.endpoint())
			if err != nil || base == nil || next.Scheme != base.Scheme || next.Host != base.Host {
				return nil, fmt.Errorf("listing: next page %q is not on %s", m[1], h.endpoint())
			}
			u = m[1]
		}
	}
	return all, nil
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// isDataFile reports whether ReadFile can read a file by its name.
func isDataFile(p string) bool {
	_, _, err := FormatOf(p)
	return err == nil
}

// Resolve returns the local paths of the data files an hf:// URI names,
// downloading the ones not yet cached. A path naming a file gives that file;
// otherwise every readable file (.jsonl, .json, .csv, .parquet, optionally
// .gz) below the path is returned in name order. When the repository has
// none, the hub's Parquet conversion (/api/datasets/{owner}/{name}/parquet)
// is used instead.
func (h *Hub) Resolve(ctx context.Context, uri string) ([]string, error) {
	ref, err := ParseHubURI(uri)
	if err != nil {
		return nil, err
	}
	if ref.Path != "" && isDataFile(ref.Path) {
		p, err := h.download(ctx, ref, ref.Path, -1, h.fileURL(ref, ref.Path))
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", uri, err)
		}
		return []string{p}, nil
	}
	entries, err := h.tree(ctx, ref, ref.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", uri, err)
	}
	var files []treeEntry
	for _, e := range entries {
		if e.Type == "file" && isDataFile(e.Path) {
			if !safeRepoPath(e.Path) {
				return nil, fmt.Errorf("resolve %s: listing has unsafe path %q", uri, e.Path)
			}
			files = append(files, e)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var out []string
	for _, e := range files {
		p, err := h.download(ctx, ref, e.Path, e.Size, h.fileURL(ref, e.Path))
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", uri, err)
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		return out, nil
	}
	out, err = h.parquetFiles(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: no data files in the repository, and its parquet conversion: %w", uri, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %s: no data files found", uri)
	}
	return out, nil
}

func (h *Hub) fileURL(ref HubRef, p string) string {
	return fmt.Sprintf("%s/datasets/%s/%s/resolve/%s/%s", h.endpoint(), url.PathEscape(ref.Owner), url.PathEscape(ref.Name), url.PathEscape(ref.Revision), escapePath(p))
}

// parquetFiles downloads the hub's Parquet conversion of the dataset: the
// listing maps config → split → file URLs. Files are cached under the
// revision "refs%2Fconvert%2Fparquet" as config/split/name.
func (h *Hub) parquetFiles(ctx context.Context, ref HubRef) ([]string, error) {
	u := fmt.Sprintf("%s/api/datasets/%s/%s/parquet", h.endpoint(), url.PathEscape(ref.Owner), url.PathEscape(ref.Name))
	resp, err := h.get(ctx, u)
	if err != nil {
		return nil, err
	}
	var listing map[string]map[string][]string
	err = json.NewDecoder(resp.Body).Decode(&listing)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("GET %s: decode listing: %w", u, err)
	}
	conv := ref
	conv.Revision = "refs/convert/parquet"
	var keys []string
	urls := map[string]string{}
	for cfg, splits := range listing {
		for split, list := range splits {
			for _, fu := range list {
				pu, err := url.Parse(fu)
				if err != nil {
					return nil, fmt.Errorf("parquet listing: bad url %q: %w", fu, err)
				}
				k := cfg + "/" + split + "/" + path.Base(pu.Path)
				if !safeRepoPath(k) {
					return nil, fmt.Errorf("parquet listing: unsafe name %q", k)
				}
				keys = append(keys, k)
				urls[k] = fu
			}
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		p, err := h.download(ctx, conv, k, -1, urls[k])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// cachePath follows the hub cache layout:
// datasets--owner--name/snapshots/<revision>/<path>.
func (h *Hub) cachePath(ref HubRef, p string) string {
	rev := strings.ReplaceAll(ref.Revision, "/", "%2F")
	return filepath.Join(h.cacheDir(), "datasets--"+ref.Owner+"--"+ref.Name, "snapshots", rev, filepath.FromSlash(p))
}

// download fetches u into the cache unless a file of the expected size (any
// size when size < 0) is there already; the body goes to a temporary file
// that is renamed into place once complete.
func (h *Hub) download(ctx context.Context, ref HubRef, p string, size int64, u string) (string, error) {
	dst := h.cachePath(ref, p)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size) {
		return dst, nil
	}
	resp, err := h.get(ctx, u)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
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
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("download %s: got %d of %d bytes", p, n, resp.ContentLength)
	}
	if size >= 0 && n != size {
		return "", fmt.Errorf("download %s: got %d bytes, the listing says %d", p, n, size)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("download %s: %w", p, err)
	}
	ok = true
	return dst, nil
}

// Load resolves an hf:// URI, or takes a local path, and reads every file it
// names with opt; the records of all files are concatenated in file-name
// order and the reports returned one per file.
func (h *Hub) Load(ctx context.Context, uri string, opt ReadOptions) ([]Record, []ReadReport, error) {
	files := []string{uri}
	if strings.HasPrefix(uri, "hf://") {
		var err error
		if files, err = h.Resolve(ctx, uri); err != nil {
			return nil, nil, err
		}
	}
	var all []Record
	var reps []ReadReport
	for _, f := range files {
		recs, rep, err := ReadFile(f, opt)
		reps = append(reps, rep)
		if err != nil {
			return nil, reps, err
		}
		all = append(all, recs...)
	}
	return all, reps, nil
}
