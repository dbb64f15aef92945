package jsonx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Decode decodes the one JSON value that spans all of seg (numbers as
// json.Number), applying Repair when the strict decoding fails; repaired
// tells whether it did. On failure the error is the strict decoding's.
func Decode(seg string) (v any, repaired bool, err error) {
	v, err = decodeStrict(seg)
	if err == nil {
		return v, false, nil
	}
	fixed := Repair(seg)
	if fixed == seg {
		return nil, false, err
	}
	v, err2 := decodeStrict(fixed)
	if err2 != nil {
		return nil, false, err // the original error is the useful one
	}
	return v, true, nil
}

func decodeStrict(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode: text after the JSON value")
	}
	return v, nil
}

const (
	ldquo = '\u201c' // “
	rdquo = '\u201d' // ”
)

func isSmartQuote(r rune) bool { return r == ldquo || r == rdquo }

// closesSmart reports whether a typographic quote at s[i:] (of the given
// size) ends a smart-quoted string: it is followed, after white space, by
// one of : , } ] or the end of the text.
func closesSmart(s string, after int) bool {
	for j := after; j < len(s); j++ {
		switch s[j] {
		case ' ', '\t', '\r', '\n':
			continue
		case ':', ',', '}', ']':
			return true
		}
		return false
	}
	return true
}

// Status tells how End finished.
type Status int

const (
	// Closed: the value closes; End's first result is valid.
	Closed Status = iota
	// Open: the text ends before the value closes.
	Open
	// OutOfBudget: the work budget ran out.
	OutOfBudget
)

// End returns the end (exclusive) of the bracketed value starting at
// s[start] ('{' or '['), counting one unit of *budget per byte looked at.
// Only the nesting depth is counted, not which bracket closes. Strings in ASCII double quotes are skipped with
// their escapes, as are strings in typographic quotes outside them (closed
// as repair closes them), so brackets inside strings do not count.
func End(s string, start int, budget *int) (int, Status) {
	depth := 0
	const (
		out = iota
		ascii
		smart
	)
	state := out
	for i := start; i < len(s); {
		*budget--
		if *budget < 0 {
			return 0, OutOfBudget
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch state {
			case out:
				switch c {
				case '"':
					state = ascii
				case '{', '[':
					depth++
				case '}', ']':
					depth--
					if depth == 0 {
						return i + 1, Closed
					}
				}
			case ascii:
				switch c {
				case '\\':
					i += 2
					continue
				case '"':
					state = out
				}
			case smart:
				if c == '\\' {
					i += 2
					continue
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isSmartQuote(r) {
			switch state {
			case out:
				state = smart
			case smart:
				if closesSmart(s, i+size) {
					state = out
				}
			}
		}
		i += size
	}
	return 0, Open
}

// Repair applies the safe repairs to a JSON text that failed to decode:
// typographic double quotes that delimit strings become ASCII quotes (ASCII
// quotes inside such strings are escaped), commas before a closing bracket
// are dropped, and raw control characters inside strings are escaped.
// Typographic quotes inside ASCII-quoted strings are left alone.
func Repair(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	const (
		out = iota
		ascii
		smart
	)
	state := out
	escapeCtl := func(c byte) {
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch state {
			case out:
				switch c {
				case '"':
					state = ascii
				case ',':
					j := i + 1
					for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n') {
						j++
					}
					if j < len(s) && (s[j] == '}' || s[j] == ']') {
						i++
						continue
					}
				}
				b.WriteByte(c)
			case ascii, smart:
				switch {
				case c == '\\' && i+1 < len(s):
					b.WriteByte(c)
					b.WriteByte(s[i+1])
					i += 2
					continue
				case c == '"' && state == ascii:
					state = out
					b.WriteByte(c)
				case c == '"':
					b.WriteString(`\"`)
				case c < 0x20:
					escapeCtl(c)
				default:
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case state == out && isSmartQuote(r):
			state = smart
			b.WriteByte('"')
		case state == smart && isSmartQuote(r) && closesSmart(s, i+size):
			state = out
			b.WriteByte('"')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Candidates returns the texts in s that may hold a model's JSON answer,
// in the order to try them: s itself (trimmed), the contents of code fences
// (a language tag on the fence's first line dropped), then the balanced
// {…} or […] spans by start (outermost first), at most 32 texts in all.
func Candidates(s string) []string {
	s = strings.TrimSpace(s)
	out := []string{s}
	for rest := s; ; {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		j := strings.Index(rest, "```")
		if j < 0 {
			break
		}
		body := rest[:j]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
			body = body[nl+1:] // language tag
		}
		out = append(out, strings.TrimSpace(body))
		rest = rest[j+3:]
	}
	const maxSpans = 32
	for i := 0; i < len(s) && len(out) < maxSpans; i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		budget := math.MaxInt
		if end, st := End(s, i, &budget); st == Closed {
			out = append(out, s[i:end])
		}
	}
	return out
}

// DecodeFirst decodes the first candidate of s (see Candidates), as it is
// or after Repair, that unmarshals into a fresh T and passes ok. When none
// does, the error is the last one ok gave, or "no JSON found".
func DecodeFirst[T any](s string, ok func(*T) error) (T, error) {
	var zero T
	firstErr := errors.New("no JSON found")
	for _, cand := range Candidates(s) {
		texts := []string{cand}
		if r := Repair(cand); r != cand {
			texts = append(texts, r)
		}
		for _, text := range texts {
			var v T
			if err := json.Unmarshal([]byte(text), &v); err != nil {
				continue
			}
			if err := ok(&v); err != nil {
				firstErr = err
				continue
			}
			return v, nil
		}
	}
	return zero, firstErr
}
