package train

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/llm"
)

// Fitting the judge's prompt into its context window.
//
// A judge prompt holds four variable fields (instruction, context,
// reference and answer) in a fixed template. When the filled prompt plus
// the reply budget (Judge.MaxTokens) exceeds the judge's context window,
// Rate shortens the fields "longest first": it finds the largest
// character cap L such that the prompt with every field clipped to at
// most L characters fits, so that short fields stay whole and the long
// ones are cut to the same length. A clipped field ends with
// TruncationMarker. The verdict records Truncated and JudgeStats counts
// the truncated items. Only when even the template with every field
// reduced to the marker does not fit does the item fail with FailTooLong.
//
// Tokens are counted the way the backend checks its window (llm.WindowOf:
// the backend's own token counter when it or a backend it wraps has one,
// the window from the backend or Judge.ContextTokens, else an estimate of
// CharsPerToken characters per token); without a known window nothing is
// shortened and a backend's context-length error gives FailTooLong.

// TruncationMarker ends a field the judge prompt had to shorten.
const TruncationMarker = " […]"

// CompactJudgePrompt is the judge prompt for small context windows: the
// same MT-bench style task (compare with the reference, which is correct,
// and rate 1–10 as "[[rating]]") in fewer tokens, with the rating format
// last. Rate uses it instead of DefaultJudgePrompt (when Judge.Prompt is
// empty) if the default template alone would take more than a quarter of
// the tokens the window leaves for the prompt.
const CompactJudgePrompt = `Judge the answer against the reference, which is correct.
Question: {instruction}
Context: {context}
Reference: {reference}
Answer: {answer}
{rating_format}`

// clipItem returns it with the instruction, context, reference and answer
// clipped to at most limit runes each (see clipField), and whether any
// field was clipped.
func clipItem(it JudgeItem, limit int) (JudgeItem, bool) {
	clipped := false
	for _, p := range []*string{&it.Instruction, &it.Context, &it.Reference, &it.Answer} {
		var cut bool
		*p, cut = clipField(*p, limit)
		clipped = clipped || cut
	}
	return it, clipped
}

// clipField shortens s to at most limit runes, preferring to cut at a
// space in the last fifth, and appends TruncationMarker; s is returned
// unchanged when it is short enough.
func clipField(s string, limit int) (string, bool) {
	if utf8.RuneCountInString(s) <= limit {
		return s, false
	}
	r := []rune(s)[:max(limit, 0)]
	cut := len(r)
	for i := len(r) - 1; i >= len(r)*4/5 && i > 0; i-- {
		if unicode.IsSpace(r[i]) {
			cut = i
			break
		}
	}
	return strings.TrimRightFunc(string(r[:cut]), unicode.IsSpace) + TruncationMarker, true
}

// longestField returns the rune length of the item's longest variable
// field.
func longestField(it JudgeItem) int {
	n := 0
	for _, s := range []string{it.Instruction, it.Context, it.Reference, it.Answer} {
		n = max(n, utf8.RuneCountInString(s))
	}
	return n
}

// fitItem returns the item with its fields shortened, longest first, so
// that the request build makes of it fits the window; truncated tells
// whether a field was cut, ok whether it fits at all. The largest cap is
// found by bisection (token counts grow with the cap).
func fitItem(f llm.Window, it JudgeItem, build func(JudgeItem) llm.Request) (out JudgeItem, truncated, ok bool) {
	if !f.Known() || f.Fits(build(it)) {
		return it, false, true
	}
	lo, hi := 0, longestField(it) // the cap lo is tested below; hi does not fit
	best, _ := clipItem(it, 0)
	if !f.Fits(build(best)) {
		return it, false, false
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		c, _ := clipItem(it, mid)
		if f.Fits(build(c)) {
			lo, best = mid, c
		} else {
			hi = mid
		}
	}
	return best, true, true
}
