package curate

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/dataset"
)

// StartChar drops records whose text (Field, "instruction" by default, with
// surrounding white space trimmed) is empty, starts with an ASCII
// punctuation character or starts with a non-ASCII character.
type StartChar struct {
	Field string
}

// Name implements Filter.
func (f *StartChar) Name() string { return "start-char" }

// Apply implements Filter.
func (f *StartChar) Apply(_ context.Context, recs []dataset.Record) ([]Verdict, error) {
	field := orField(f.Field, "instruction")
	out := make([]Verdict, len(recs))
	for i, r := range recs {
		s := strings.TrimSpace(r.Field(field))
		if s == "" {
			out[i] = Verdict{Remove: true, Reason: "empty"}
			continue
		}
		c, _ := utf8.DecodeRuneInString(s)
		switch {
		case c >= utf8.RuneSelf:
			out[i] = Verdict{Remove: true, Reason: "starts with non-ASCII"}
		case strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c):
			out[i] = Verdict{Remove: true, Reason: "starts with punctuation"}
		}
	}
	return out, nil
}

// Length keeps records whose text (Field, "instruction" by default) has
// more than Min and at most Max words (white-space separated; 3 and 150 when
// zero).
type Length struct {
	Field    string
	Min, Max int
}

// Name implements Filter.
func (f *Length) Name() string { return "length" }

// Apply implements Filter.
func (f *Length) Apply(_ context.Context, recs []dataset.Record) ([]Verdict, error) {
	field := orField(f.Field, "instruction")
	lo, hi := f.Min, f.Max
	if lo == 0 {
		lo = 3
	}
	if hi == 0 {
		hi = 150
	}
	out := make([]Verdict, len(recs))
	for i, r := range recs {
		n := len(strings.Fields(r.Field(field)))
		switch {
		case n <= lo:
			out[i] = Verdict{Remove: true, Reason: "too short", Detail: map[string]any{"words": n}}
		case n > hi:
			out[i] = Verdict{Remove: true, Reason: "too long", Detail: map[string]any{"words": n}}
		}
	}
	return out, nil
}

// DefaultKeywords are the Self-Instruct blacklist (NOTES.md §6): tasks a
// text-only model cannot do.
var DefaultKeywords = []string{"image", "images", "graph", "graphs", "picture", "pictures", "file", "files",
	"map", "maps", "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram"}

// Keywords drops records whose text (Field, "instruction" by default)
// contains one of Words (DefaultKeywords when empty) as a whole word or
// phrase, case-insensitively. The reason names the word.
type Keywords struct {
	Field string
	Words []string
}

// Name implements Filter.
func (f *Keywords) Name() string { return "keywords" }

// Apply implements Filter.
func (f *Keywords) Apply(_ context.Context, recs []dataset.Record) ([]Verdict, error) {
	words := f.Words
	if len(words) == 0 {
		words = DefaultKeywords
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(strings.ToLower(w))
	}
	re, err := regexp.Compile(`\b(` + strings.Join(q, "|") + `)\b`)
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	field := orField(f.Field, "instruction")
	out := make([]Verdict, len(recs))
	for i, r := range recs {
		if m := re.FindStringSubmatch(strings.ToLower(r.Field(field))); m != nil {
			out[i] = Verdict{Remove: true, Reason: "keyword " + m[1]}
		}
	}
	return out, nil
}

// ExactDedup drops records whose normalised text (the Fields joined,
// instruction and input by default; see Normalize) equals that of an
// earlier record. The detail "match" is the earlier record's ID.
type ExactDedup struct {
	Fields []string
}

// Name implements Filter.
func (f *ExactDedup) Name() string { return "exact-dedup" }

// Apply implements Filter.
func (f *ExactDedup) Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error) {
	fields := orFields(f.Fields, "instruction", "input")
	keys := make([]string, len(recs))
	parallel(len(recs), 0, func(_, i int) { keys[i] = Normalize(textOf(recs[i], fields)) })
	seen := make(map[string]int, len(recs))
	out := make([]Verdict, len(recs))
	for i, k := range keys {
		if j, ok := seen[k]; ok {
			out[i] = Verdict{Remove: true, Reason: "exact duplicate", Detail: map[string]any{"match": recs[j].ID}}
			continue
		}
		seen[k] = i
	}
	return out, ctx.Err()
}
