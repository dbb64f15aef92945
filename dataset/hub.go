package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/ggmi-dev/ggmi/hub"
)

// HubRef is a parsed hf://[datasets/]owner/name[@revision][/path]
// reference to a dataset repository on the Hugging Face hub (see [hub.Ref]).
type HubRef = hub.Ref

// ParseHubURI parses hf://owner/name[@revision][/path/in/repo] (or
// hf://datasets/owner/name...) as a dataset reference.
func ParseHubURI(uri string) (HubRef, error) { return hub.ParseURI(uri, hub.Dataset) }

// DefaultHubCacheDir returns the hub cache directory ([hub.DefaultCacheDir]).
func DefaultHubCacheDir() string { return hub.DefaultCacheDir() }

// Hub downloads dataset files from the Hugging Face hub. It adds the
// dataset-specific logic (tree listing, the choice of data files and the
// Parquet conversion fallback) to a [hub.Client].
type Hub struct {
	// Endpoint is the hub's base URL (https://huggingface.co when empty).
	Endpoint string
	// CacheDir is the cache root (DefaultHubCacheDir when empty).
	CacheDir string
	// Token, when set, is sent as "Authorization: Bearer <token>" to the
	// hub's own host.
	Token string
	// Client makes the requests (http.DefaultClient when nil).
	Client *http.Client
}

// NewHub returns a Hub configured from HF_ENDPOINT, HF_TOKEN and the
// default cache directory.
func NewHub() *Hub {
	c := hub.NewClient()
	return &Hub{Endpoint: c.Endpoint, CacheDir: c.CacheDir, Token: c.Token}
}

func (h *Hub) client() *hub.Client {
	return &hub.Client{Endpoint: h.Endpoint, CacheDir: h.CacheDir, Token: h.Token, HTTPClient: h.Client}
}

// treeEntry is one item of the hub's tree listing.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
}

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// listTree lists the files of a repository below dir, following pagination.
func listTree(ctx context.Context, c *hub.Client, ref HubRef, dir string) ([]treeEntry, error) {
	u := fmt.Sprintf("%s/api/datasets/%s/%s/tree/%s", c.EndpointURL(), url.PathEscape(ref.Owner), url.PathEscape(ref.Name), url.PathEscape(ref.Revision))
	if dir != "" {
		u += "/" + hub.EscapePath(dir)
	}
	u += "?recursive=true"
	var all []treeEntry
	for page := 0; u != "" && page < 1000; page++ {
		resp, err := c.Get(ctx, u)
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
			if !c.OnHub(m[1]) {
				return nil, fmt.Errorf("listing: next page %q is not on %s", m[1], c.EndpointURL())
			}
			u = m[1]
		}
	}
	return all, nil
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
	c := h.client()
	if ref.Path != "" && isDataFile(ref.Path) {
		p, err := c.Download(ctx, ref, ref.Path, -1)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", uri, err)
		}
		return []string{p}, nil
	}
	entries, err := listTree(ctx, c, ref, ref.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", uri, err)
	}
	var files []treeEntry
	for _, e := range entries {
		if e.Type == "file" && isDataFile(e.Path) {
			if !hub.SafePath(e.Path) {
				return nil, fmt.Errorf("resolve %s: listing has unsafe path %q", uri, e.Path)
			}
			files = append(files, e)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var out []string
	for _, e := range files {
		p, err := c.Download(ctx, ref, e.Path, e.Size)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", uri, err)
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		return out, nil
	}
	out, err = parquetFiles(ctx, c, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: no data files in the repository, and its parquet conversion: %w", uri, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %s: no data files found", uri)
	}
	return out, nil
}

// parquetFiles downloads the hub's Parquet conversion of the dataset: the
// listing maps config → split → file URLs. Files are cached under the
// revision "refs%2Fconvert%2Fparquet" as config/split/name.
func parquetFiles(ctx context.Context, c *hub.Client, ref HubRef) ([]string, error) {
	u := fmt.Sprintf("%s/api/datasets/%s/%s/parquet", c.EndpointURL(), url.PathEscape(ref.Owner), url.PathEscape(ref.Name))
	resp, err := c.Get(ctx, u)
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
				if !hub.SafePath(k) {
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
		p, err := c.DownloadURL(ctx, urls[k], conv, k, -1)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
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
