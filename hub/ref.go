package hub

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the hub's base URL when none is configured.
const DefaultEndpoint = "https://huggingface.co"

// RepoType is the kind of a hub repository.
type RepoType int

const (
	// Model is a model repository (the zero value).
	Model RepoType = iota
	// Dataset is a data set repository.
	Dataset
)

// String returns "model" or "dataset".
func (t RepoType) String() string {
	if t == Dataset {
		return "dataset"
	}
	return "model"
}

// Ref is a parsed hf:// reference to a repository on the hub at a revision,
// optionally naming a file or folder inside it.
type Ref struct {
	Type        RepoType
	Owner, Name string
	// Revision is a branch, tag or commit ("main" when not given).
	Revision string
	// Path is a file or folder inside the repository ("" for all of it).
	Path string
}

// ParseURI parses hf://owner/name[@revision][/path/in/repo] as a reference
// to a repository of type typ. For data sets the form
// hf://datasets/owner/name... is accepted as well. Leading and trailing
// slashes of the path are dropped; empty, "." and ".." components, back
// slashes and NUL bytes are rejected anywhere.
func ParseURI(uri string, typ RepoType) (Ref, error) {
	rest, ok := strings.CutPrefix(uri, "hf://")
	if !ok {
		return Ref{}, fmt.Errorf("hf uri %q: missing hf:// prefix", uri)
	}
	if typ == Dataset {
		rest = strings.TrimPrefix(rest, "datasets/")
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return Ref{}, fmt.Errorf("hf uri %q: want hf://owner/name[@revision][/path]", uri)
	}
	ref := Ref{Type: typ, Owner: parts[0], Name: parts[1], Revision: "main"}
	if name, rev, ok := strings.Cut(ref.Name, "@"); ok {
		if name == "" || rev == "" {
			return Ref{}, fmt.Errorf("hf uri %q: empty name or revision", uri)
		}
		ref.Name, ref.Revision = name, rev
	}
	if len(parts) == 3 {
		ref.Path = strings.Trim(parts[2], "/")
	}
	if err := ref.check(); err != nil {
		return Ref{}, fmt.Errorf("hf uri %q: %w", uri, err)
	}
	return ref, nil
}

// check reports whether the owner, name, revision and path are safe to use
// as URL and cache path components.
func (r Ref) check() error {
	for _, s := range []string{r.Owner, r.Name} {
		if !safeComponent(s) || strings.Contains(s, "/") {
			return fmt.Errorf("invalid repository component %q", s)
		}
	}
	// A revision such as refs/convert/parquet is one cache folder (its
	// slashes are escaped), so it may contain slashes but no "..".
	if !safeComponent(r.Revision) || strings.Contains(r.Revision, "..") {
		return fmt.Errorf("invalid revision %q", r.Revision)
	}
	if r.Path != "" && !SafePath(r.Path) {
		return fmt.Errorf("unsafe path %q", r.Path)
	}
	return nil
}

func safeComponent(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "\\\x00")
}

// SafePath reports whether p is a relative slash-separated path that stays
// inside its root: not empty, no leading slash, no empty, "." or ".."
// components, no back slashes or NUL bytes.
func SafePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if !safeComponent(seg) {
			return false
		}
	}
	return true
}

// String returns the reference as an hf:// URI.
func (r Ref) String() string {
	s := "hf://"
	if r.Type == Dataset {
		s += "datasets/"
	}
	s += r.Owner + "/" + r.Name
	if r.Revision != "" && r.Revision != "main" {
		s += "@" + r.Revision
	}
	if r.Path != "" {
		s += "/" + r.Path
	}
	return s
}

// FileURL returns the download URL of the file p of the repository on the
// hub at endpoint ([DefaultEndpoint] when empty).
func (r Ref) FileURL(endpoint, p string) string {
	repo := EscapePath(r.Owner + "/" + r.Name)
	if r.Type == Dataset {
		repo = "datasets/" + repo
	}
	return trimEndpoint(endpoint) + "/" + repo + "/resolve/" + url.PathEscape(r.Revision) + "/" + EscapePath(p)
}

// URL returns the download URL of the file r.Path (see [Ref.FileURL]).
func (r Ref) URL(endpoint string) string { return r.FileURL(endpoint, r.Path) }

// FileCachePath returns where the file p of the repository is stored below
// cacheDir, following the hub cache layout
// <type>s--owner--name/snapshots/<revision>/<p>; slashes in the revision
// are escaped as %2F.
func (r Ref) FileCachePath(cacheDir, p string) string {
	rev := strings.ReplaceAll(r.Revision, "/", "%2F")
	repo := r.Type.String() + "s--" + r.Owner + "--" + r.Name
	return filepath.Join(cacheDir, repo, "snapshots", rev, filepath.FromSlash(p))
}

// CachePath returns where the file r.Path is stored below cacheDir (see
// [Ref.FileCachePath]).
func (r Ref) CachePath(cacheDir string) string { return r.FileCachePath(cacheDir, r.Path) }

// EscapePath escapes each slash-separated segment of p for use in a URL path.
func EscapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func trimEndpoint(endpoint string) string {
	if endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(endpoint, "/")
}

// DefaultCacheDir returns $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (a
// temporary folder when there is no home directory).
func DefaultCacheDir() string {
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
