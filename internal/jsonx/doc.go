// Package jsonx finds and decodes the JSON a language model writes into
// free text: the end of a bracketed value (strings in straight or
// typographic quotes skipped), the safe repairs of common defects (typographic
// quotes, trailing commas, raw control characters in strings), and the
// candidate texts of an answer (the whole text, code fences, balanced spans).
// The task parser of synth and the LLM judges of measure/judge share it.
package jsonx
