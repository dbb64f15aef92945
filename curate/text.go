package curate

import (
	"context"
	"strings"
	"unicode"

	"github.com/ggmi-dev/ggmi/dataset"
	"golang.org/x/text/unicode/norm"
)

// Normalize prepares text for exact deduplication: Unicode NFKC, lower
// case, every punctuation or symbol character (Unicode categories P and S)
// replaced by a space, runs of white space collapsed to one space, and the
// ends trimmed.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Tokenize splits text into words as the rouge-score package's default
// tokenizer does: lower case, every character other than a–z and 0–9 a
// separator.
func Tokenize(s string) []string {
	return tokenizeCtx(context.Background(), s)
}

// tokenizeCtx is Tokenize that gives up (returning what it has) once ctx is
// done; it checks every 64 KB of text.
func tokenizeCtx(ctx context.Context, s string) []string {
	s = strings.ToLower(s)
	var out []string
	start := -1
	for i := 0; i < len(s); i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return out
		}
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// textOf joins the named fields of a record (see dataset.Record.Field) with
// newlines, skipping empty ones.
func textOf(r dataset.Record, fields []string) string {
	if len(fields) == 1 {
		return r.Field(fields[0])
	}
	var parts []string
	for _, f := range fields {
		if v := r.Field(f); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "\n")
}

func orFields(f []string, def ...string) []string {
	if len(f) == 0 {
		return def
	}
	return f
}

func orField(f, def string) string {
	if f == "" {
		return def
	}
	return f
}
