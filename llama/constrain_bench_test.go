package llama

import (
	"math/rand/v2"
	"testing"
)

const (
	benchStringSchema     = `{"type":"object","properties":{"story":{"type":"string"}},"required":["story"],"additionalProperties":false}`
	benchStructuredSchema = `{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":100000},"ok":{"type":"boolean"},"kind":{"enum":["cat","dog","bird"]},"score":{"type":"number","minimum":-10,"maximum":10}},"required":["id","ok","kind","score"],"additionalProperties":false},"minItems":40}`
)

func benchGenerate(b *testing.B, schema string) {
	m := loadBin(b)
	prompt := m.sp().Encode("Once upon a time", true, false)
	var js *JSONSchema
	if schema != "" {
		var err error
		if js, err = CompileJSONSchema([]byte(schema)); err != nil {
			b.Fatal(err)
		}
	}
	opt := GenerateOptions{MaxTokens: 256, IgnoreEOS: true}
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		var g *Generation
		var err error
		if js == nil {
			g, err = m.GenerateTokens(prompt, opt)
		} else {
			g, err = m.GenerateConstrained(prompt, js, opt)
		}
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(g.Tokens)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
}

// BenchmarkGreedyUnconstrained is greedy decoding of 256 tokens with
// stories260K through the public API (the baseline of the constrained
// benchmarks).
func BenchmarkGreedyUnconstrained(b *testing.B) { benchGenerate(b, "") }

// BenchmarkGreedyConstrainedString is greedy decoding under a schema whose
// document is mostly one free string.
func BenchmarkGreedyConstrainedString(b *testing.B) { benchGenerate(b, benchStringSchema) }

// BenchmarkGreedyConstrainedStrings is greedy decoding of 256 tokens
// under a schema of many strings (mostly free string content).
func BenchmarkGreedyConstrainedStrings(b *testing.B) {
	benchGenerate(b, `{"type":"array","items":{"type":"string"},"minItems":60}`)
}

// BenchmarkGreedyConstrainedStructured is greedy decoding under a schema
// of many small objects (keys, numbers, enums, booleans: the trie is
// walked at almost every step).
func BenchmarkGreedyConstrainedStructured(b *testing.B) { benchGenerate(b, benchStructuredSchema) }

// syntheticVocab returns n tokens: the 256 single bytes, then random
// strings with lengths drawn from a distribution like that of BPE
// vocabularies (mostly 3–8 bytes, up to 16; 40% start with a space;
// mostly lower-case letters, some upper case, digits and punctuation).
func syntheticVocab(n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	toks := make([][]byte, 0, n)
	seen := map[string]bool{}
	for b := range 256 {
		toks = append(toks, []byte{byte(b)})
		seen[string(rune(b))] = true
	}
	const alpha = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzeeeeaaaoooiiinnnsssttt"
	const other = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'\"-_(){}[]"
	for len(toks) < n {
		l := 2 + int(r.ExpFloat64()*4)
		l = min(l, 16)
		var t []byte
		if r.IntN(10) < 4 {
			t = append(t, ' ')
		}
		for len(t) < l {
			if r.IntN(10) == 0 {
				t = append(t, other[r.IntN(len(other))])
			} else {
				t = append(t, alpha[r.IntN(len(alpha))])
			}
		}
		if !seen[string(t)] {
			seen[string(t)] = true
			toks = append(toks, t)
		}
	}
	return toks
}

// maskStates are automaton states at which masking is measured: expecting
// a key, inside a free string, inside a number, expecting any value.
var maskStates = []struct{ name, schema, prefix string }{
	{"key", benchStructuredSchema, `[{"id":1,"ok":true,`},
	{"string", benchStringSchema, `{"story":"Once upon`},
	{"number", benchStructuredSchema, `[{"id":12`},
	{"anyvalue", `{}`, `[1,`},
}

func benchMask(b *testing.B, v *ConstraintVocab) {
	for _, s := range maskStates {
		b.Run(s.name, func(b *testing.B) {
			js, err := CompileJSONSchema([]byte(s.schema))
			if err != nil {
				b.Fatal(err)
			}
			c, err := NewConstraint(js, v)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.AcceptBytes([]byte(s.prefix)); err != nil {
				b.Fatal(err)
			}
			logits := make([]float32, v.Size())
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				if err := c.MaskLogits(logits, 200); err != nil {
					b.Fatal(err)
				}
				n = len(c.allowed)
			}
			b.ReportMetric(float64(n), "allowed")
		})
	}
}

// BenchmarkMask512 is the masking cost per step for the real 512-token
// vocabulary of stories260K.
func BenchmarkMask512(b *testing.B) {
	m := loadBin(b)
	v, err := VocabFor(m.sp())
	if err != nil {
		b.Fatal(err)
	}
	benchMask(b, v)
}

// BenchmarkMask32k is the masking cost per step for a synthetic
// 32,000-token vocabulary.
func BenchmarkMask32k(b *testing.B) {
	benchMask(b, NewConstraintVocab(syntheticVocab(32000, 1), -1, -1))
}
