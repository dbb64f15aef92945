package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizer regexes this package reproduces, as they appear in
// tokenizer.json files (after JSON decoding).
const (
	// PatternGPT2 is GPT-2's regex (also the one ByteLevel uses when
	// use_regex is true).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// PatternLlama3 is Llama 3's regex (digits in groups of up to three).
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen2 is the regex of Qwen2, Qwen2.5 and Qwen3 (single digits).
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// scanner finds the next match of a pre-tokenizer regex at position i of
// s and returns its end (> i). Every pattern here matches at every
// position, so the matches tile the string.
type scanner func(s string, i int) int

// scannerFor returns the scanner reproducing pattern, or nil.
func scannerFor(pattern string) scanner {
	switch pattern {
	case PatternGPT2:
		return scanGPT2
	case PatternLlama3:
		return func(s string, i int) int { return scanLlama3(s, i, 3) }
	case PatternQwen2:
		return func(s string, i int) int { return scanLlama3(s, i, 1) }
	}
	return nil
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.Is(unicode.White_Space, r)
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r)
}

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isOther is [^\s\p{L}\p{N}]. Invalid UTF-8 bytes decode as U+FFFD (a
// symbol), so they are "other" too.
func isOther(r rune) bool { return !isSpace(r) && !isLetter(r) && !isNumber(r) }

func decode(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// run returns the end of the run of runes satisfying class from i.
func run(s string, i int, class func(rune) bool) int {
	for i < len(s) {
		r, w := decode(s, i)
		if !class(r) {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of 's 't 're 've 'm 'll 'd at s[i:]
// (s[i] == '\”), matched case-insensitively when fold is set, or 0.
func contraction(s string, i int, fold bool) int {
	rest := s[i+1:]
	lower := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	if len(rest) >= 1 {
		switch lower(rest[0]) {
		case 's', 't', 'm', 'd':
			return 2
		}
	}
	if len(rest) >= 2 {
		a, b := lower(rest[0]), lower(rest[1])
		if (a == 'r' || a == 'v') && b == 'e' || a == 'l' && b == 'l' {
			return 3
		}
	}
	return 0
}

// whitespace handles the \s+(?!\S)|\s+ tail both regexes share: a run of
// whitespace, less its last character when a non-space follows and the
// run is longer than one character.
func whitespace(s string, i int) int {
	j := i
	last := i
	for j < len(s) {
		r, w := decode(s, j)
		if !isSpace(r) {
			break
		}
		last = j
		j += w
	}
	if j < len(s) && last > i {
		return last
	}
	return j
}

// scanGPT2 reproduces PatternGPT2.
func scanGPT2(s string, i int) int {
	r0, w0 := decode(s, i)
	if r0 == '\'' {
		if n := contraction(s, i, false); n > 0 {
			return i + n
		}
	}
	start := i
	r := r0
	if r0 == ' ' {
		if r1, _ := decode(s, i+1); r1 >= 0 && !isSpace(r1) {
			start, r = i+1, r1
		}
	}
	switch {
	case isLetter(r):
		return run(s, start, isLetter)
	case isNumber(r):
		return run(s, start, isNumber)
	case !isSpace(r):
		return run(s, start, isOther)
	}
	if j := whitespace(s, i); j > i {
		return j
	}
	return i + w0
}

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// scanLlama3 reproduces PatternLlama3 (maxDigits 3) and PatternQwen2
// (maxDigits 1).
func scanLlama3(s string, i, maxDigits int) int {
	r0, w0 := decode(s, i)
	if r0 == '\'' {
		if n := contraction(s, i, true); n > 0 {
			return i + n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isLetter(r0) {
		return run(s, i, isLetter)
	}
	r1, _ := decode(s, i+w0)
	if !isCRLF(r0) && !isNumber(r0) && r1 >= 0 && isLetter(r1) {
		return run(s, i+w0, isLetter)
	}
	// \p{N}{1,maxDigits}
	if isNumber(r0) {
		j := i
		for n := 0; n < maxDigits && j < len(s); n++ {
			r, w := decode(s, j)
			if !isNumber(r) {
				break
			}
			j += w
		}
		return j
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	if r0 == ' ' && r1 >= 0 && isOther(r1) || isOther(r0) {
		start := i
		if r0 == ' ' {
			start = i + 1
		}
		return run(s, run(s, start, isOther), isCRLF)
	}
	// \s*[\r\n]+
	j, lastNL := i, -1
	for j < len(s) {
		r, w := decode(s, j)
		if !isSpace(r) {
			break
		}
		if isCRLF(r) {
			lastNL = j
		}
		j += w
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	if j := whitespace(s, i); j > i {
		return j
	}
	return i + w0
}

// splitBehavior is a Split pre-tokenizer's behavior.
type splitBehavior int

const (
	behaviorRemoved splitBehavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

func parseBehavior(s string) (splitBehavior, bool) {
	switch s {
	case "Removed":
		return behaviorRemoved, true
	case "Isolated":
		return behaviorIsolated, true
	case "MergedWithPrevious":
		return behaviorMergedWithPrevious, true
	case "MergedWithNext":
		return behaviorMergedWithNext, true
	case "Contiguous":
		return behaviorContiguous, true
	}
	return 0, false
}

// preStep is one pre-tokenizer: it appends the pieces of piece to out.
type preStep interface {
	split(piece string, out []string) []string
}

// splitStep is a Split pre-tokenizer (regex through a scanner, or a
// literal string).
type splitStep struct {
	scan     scanner // nil for a literal
	pattern  string  // the regex scan reproduces
	literal  string
	behavior splitBehavior
	invert   bool
}

type span struct {
	a, b  int
	match bool
}

func (st *splitStep) split(s string, out []string) []string {
	if s == "" {
		return out
	}
	if st.scan != nil && st.behavior == behaviorIsolated && !st.invert {
		// The common case: the matches tile s.
		for i := 0; i < len(s); {
			j := st.scan(s, i)
			out = append(out, s[i:j])
			i = j
		}
		return out
	}
	var spans []span
	add := func(a, b int, m bool) {
		if a < b {
			spans = append(spans, span{a, b, m != st.invert})
		}
	}
	if st.scan != nil {
		for i := 0; i < len(s); {
			j := st.scan(s, i)
			add(i, j, true)
			i = j
		}
	} else {
		prev := 0
		for i := 0; st.literal != "" && i <= len(s); {
			k := strings.Index(s[i:], st.literal)
			if k < 0 {
				break
			}
			add(prev, i+k, false)
			add(i+k, i+k+len(st.literal), true)
			i += k + len(st.literal)
			prev = i
		}
		add(prev, len(s), false)
	}
	switch st.behavior {
	case behaviorRemoved:
		for _, sp := range spans {
			if !sp.match {
				out = append(out, s[sp.a:sp.b])
			}
		}
	case behaviorIsolated:
		for _, sp := range spans {
			out = append(out, s[sp.a:sp.b])
		}
	case behaviorMergedWithPrevious:
		// A match joins the piece before it unless that piece was a match.
		var acc []span
		prevMatch := false
		for _, sp := range spans {
			if sp.match && !prevMatch && len(acc) > 0 {
				acc[len(acc)-1].b = sp.b
			} else {
				acc = append(acc, sp)
			}
			prevMatch = sp.match
		}
		for _, sp := range acc {
			out = append(out, s[sp.a:sp.b])
		}
	case behaviorMergedWithNext:
		// A match joins the piece after it unless that piece was a match.
		var acc []span
		nextMatch := false
		for k := len(spans) - 1; k >= 0; k-- {
			sp := spans[k]
			if sp.match && !nextMatch && len(acc) > 0 {
				acc[len(acc)-1].a = sp.a
			} else {
				acc = append(acc, sp)
			}
			nextMatch = sp.match
		}
		for k := len(acc) - 1; k >= 0; k-- {
			out = append(out, s[acc[k].a:acc[k].b])
		}
	case behaviorContiguous:
		for k := 0; k < len(spans); {
			e := k + 1
			for spans[k].match && e < len(spans) && spans[e].match {
				e++
			}
			out = append(out, s[spans[k].a:spans[e-1].b])
			k = e
		}
	}
	return out
}

// digitsStep is the Digits pre-tokenizer: runs of numbers (\p{N}) are
// isolated, each digit on its own when individual is set.
type digitsStep struct{ individual bool }

func (d digitsStep) split(s string, out []string) []string {
	for i := 0; i < len(s); {
		r, w := decode(s, i)
		j := i + w
		if isNumber(r) {
			if !d.individual {
				j = run(s, i, isNumber)
			}
		} else {
			j = run(s, i, func(r rune) bool { return !isNumber(r) })
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// byteLevelStep is the ByteLevel pre-tokenizer's splitting part (the
// byte-to-character mapping is done by the model, see BPE.byteLevel).
type byteLevelStep struct {
	addPrefixSpace bool
	useRegex       bool
}

func (b byteLevelStep) split(s string, out []string) []string {
	if s == "" {
		return out
	}
	if b.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !b.useRegex {
		return append(out, s)
	}
	for i := 0; i < len(s); {
		j := scanGPT2(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// bytesToUnicode is GPT-2's table mapping every byte to a printable
// character: printable Latin-1 bytes map to themselves, the others to
// U+0100 onwards in order.
func bytesToUnicode() (enc [256]rune) {
	n := 0
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			enc[b] = rune(b)
		} else {
			enc[b] = rune(256 + n)
			n++
		}
	}
	return enc
}

var byteEnc = bytesToUnicode()

// byteDec maps a byte-level character back to its byte (-1 if none).
var byteDec = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range byteEnc {
		m[r] = byte(b)
	}
	return m
}()

func errField(file, field, format string, a ...any) error {
	return fmt.Errorf("%s: %s: %s", file, field, fmt.Sprintf(format, a...))
}
