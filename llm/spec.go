package llm

import (
	"fmt"
	"net/url"
	"strings"
)

// Kinds of a ModelSpec.
const (
	// SpecRemote is an OpenAI-compatible endpoint.
	SpecRemote = "remote"
	// SpecBuiltin is a model file for the built-in engine.
	SpecBuiltin = "builtin"
)

// ModelSpec says where the model M comes from, as written on a command
// line or in a configuration file:
//
//	http(s)://HOST[:PORT]/v1#MODEL   an OpenAI-compatible endpoint and the model to ask for
//	builtin:PATH                     a llama2.c .bin or .gguf file run by the built-in engine
//	builtin:hf://owner/repo/file     the same, downloaded from the Hugging Face hub
//	hf://owner/repo/file             short for builtin:hf://owner/repo/file
type ModelSpec struct {
	// Kind is SpecRemote or SpecBuiltin.
	Kind string
	// BaseURL is the endpoint's API root (SpecRemote).
	BaseURL string
	// Model is the model name sent to the endpoint (SpecRemote).
	Model string
	// Path is the model file or hf:// URI (SpecBuiltin).
	Path string
}

// ParseModelSpec parses a model specification (see ModelSpec). It checks
// the form only: no file is opened and no endpoint is contacted.
func ParseModelSpec(s string) (ModelSpec, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return ModelSpec{}, fmt.Errorf("empty model (want http://HOST/v1#MODEL, builtin:PATH or hf://owner/repo/file)")
	case strings.HasPrefix(s, "builtin:"):
		p := strings.TrimPrefix(s, "builtin:")
		if p == "" {
			return ModelSpec{}, fmt.Errorf("model %q names no file (want builtin:PATH)", s)
		}
		return ModelSpec{Kind: SpecBuiltin, Path: p}, nil
	case strings.HasPrefix(s, "hf://"):
		return ModelSpec{Kind: SpecBuiltin, Path: s}, nil
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		base, model, ok := strings.Cut(s, "#")
		if !ok || strings.TrimSpace(model) == "" {
			return ModelSpec{}, fmt.Errorf("model %q names no model after the endpoint (want %s#MODEL, the model after #)", RedactURL(base), RedactURL(base))
		}
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			return ModelSpec{}, fmt.Errorf("model endpoint %q is not an http(s) URL (want http://HOST/v1#MODEL)", RedactURL(base))
		}
		if u.User != nil {
			return ModelSpec{}, fmt.Errorf("model endpoint %q carries credentials; pass the API key through an environment variable instead", RedactURL(base))
		}
		return ModelSpec{Kind: SpecRemote, BaseURL: strings.TrimRight(base, "/"), Model: strings.TrimSpace(model)}, nil
	}
	return ModelSpec{}, fmt.Errorf("model %q is not http(s)://HOST/v1#MODEL, builtin:PATH or hf://owner/repo/file", s)
}

// String writes the specification back in its parsed form.
func (m ModelSpec) String() string {
	if m.Kind == SpecRemote {
		return RedactURL(m.BaseURL) + "#" + m.Model
	}
	return "builtin:" + m.Path
}

// RedactURL is the one rule by which ggmi shows a URL that may carry
// credentials: the user information (user:password@) is replaced by
// REDACTED; anything else is returned unchanged. Error messages that echo
// a model or embedder spec pass it through RedactURL.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return s
		}
		u.User = url.User("REDACTED")
		return u.String()
	}
	// Not a valid URL: cut what stands between "://" and the last '@'
	// of the authority all the same.
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return s[:i+3] + "REDACTED" + rest[at:]
	}
	return s
}
