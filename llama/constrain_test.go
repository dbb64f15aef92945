package llama

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// accepts feeds s to a fresh automaton and reports whether every byte is
// accepted and whether the result is a complete document.
func accepts(t *testing.T, schema string, s string) (prefix, complete bool) {
	t.Helper()
	js, err := CompileJSONSchema([]byte(schema))
	if err != nil {
		t.Fatalf("compile %s: %v", schema, err)
	}
	m := newMachine(js.root)
	for i := 0; i < len(s); i++ {
		if !m.feed(s[i]) {
			return false, false
		}
	}
	return true, m.complete()
}

func TestConstraintAutomaton(t *testing.T) {
	const person = `{"type":"object","properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"type":"string","enum":["a","bc"]},"minItems":1,"maxItems":2}},"required":["name","age"],"additionalProperties":false}`
	cases := []struct {
		schema, in       string
		prefix, complete bool
	}{
		{person, `{"name":"Ann","age":7}`, true, true},
		{person, ` {"age": 7, "name":"Ann"}`, true, true},
		{person, `{"name":"Ann"}`, false, false},           // age required
		{person, `{"name":"Annabel"`, false, false},        // maxLength 5
		{person, `{"name":"Ann","name":"B"`, false, false}, // repeated
		{person, `{"nick":"x"}`, false, false},             // additionalProperties false
		{person, `{"name":"A","age":121}`, false, false},
		{person, `{"name":"A","age":12`, true, false},
		{person, `{"name":"A","age":-1`, false, false},
		{person, `{"name":"A","age":1.5`, false, false}, // integer
		{person, `{"name":"A","age":3,"tags":[]}`, false, false},
		{person, `{"name":"A","age":3,"tags":["bc","a"]}`, true, true},
		{person, `{"name":"A","age":3,"tags":["a","a","a"]}`, false, false},
		{person, `{"name":"A","age":3,"tags":["b"]}`, false, false},
		{person, `{   "name":"A","age":3}`, false, false}, // whitespace run > 2
		{`{"type":"number","minimum":1.5,"maximum":2.25}`, `2.25`, true, true},
		{`{"type":"number","minimum":1.5,"maximum":2.25}`, `2.26`, false, false},
		{`{"type":"number","minimum":1.5,"maximum":2.25}`, `1`, true, false},
		{`{"type":"number","minimum":1.5,"maximum":2.25}`, `1.4`, false, false},
		{`{"type":"number","minimum":1.5,"maximum":2.25}`, `3`, false, false},
		{`{"type":"integer","minimum":-20,"maximum":-10}`, `-15`, true, true},
		{`{"type":"integer","minimum":-20,"maximum":-10}`, `-9`, false, false},
		{`{"type":"integer","minimum":100}`, `1`, true, false},
		{`{"type":"integer"}`, `01`, false, false},
		{`{"type":"boolean"}`, `false`, true, true},
		{`{"type":"boolean"}`, `tru`, true, false},
		{`{"type":"null"}`, `nul1`, false, false},
		{`{"type":"string"}`, `"a\"b\u00e9\ud800"`, false, false}, // lone surrogate escape
		{`{"type":"string"}`, `"a\"b\u00e9 é"`, true, true},
		{`{"type":"string"}`, "\"a\nb\"", false, false},
		{`{"type":"string"}`, "\"\xff\"", false, false},
		{`{"type":"string","maxLength":2}`, `"éé"`, true, true},
		{`{"type":"string","maxLength":2}`, `"ééé"`, false, false},
		{`{"enum":["x",1,null,{"a":[1]}]}`, `{"a":[1]}`, true, true},
		{`{"enum":["x",1,12]}`, `1`, true, true},
		{`{"enum":["x",1,12]}`, `12`, true, true},
		{`{"enum":["x",1,12]}`, `13`, false, false},
		{`{}`, `[1,{"a":"b","c":[true,null]},-2.5,"x"]`, true, true},
		{`{}`, `[1,]`, false, false},
		{`{"type":"object"}`, `{"k_1":{"z":[]}}`, true, true},
		{`{"type":"object"}`, `[]`, false, false},
		{`{"type":"object","properties":{"a":{"type":"string"}}}`, `{"ab":1,"a":"x"}`, true, true},
		{`{"type":"object","properties":{"a":{"type":"string"}}}`, `{"a":1}`, false, false},
		{`{"type":"array","minItems":2}`, `[1,`, true, false},
		{`{"type":"array","minItems":2}`, `[1,2]`, true, true},
		{`{"type":"string"}`, `"x" `, false, false}, // nothing after a complete document
	}
	for _, c := range cases {
		p, done := accepts(t, c.schema, c.in)
		if p != c.prefix || done != c.complete {
			t.Errorf("schema %s input %q: prefix %v complete %v, want %v %v", c.schema, c.in, p, done, c.prefix, c.complete)
		}
	}
}

func TestConstraintUnsupported(t *testing.T) {
	cases := map[string]string{
		`{"type":"object","properties":{"x":{"type":"object","patternProperties":{}}}}`: `unsupported schema keyword "patternProperties" at /properties/x`,
		`{"type":"string","pattern":"a+"}`:                                              `unsupported schema keyword "pattern" at /`,
		`{"anyOf":[{"type":"string"}]}`:                                                 `unsupported schema keyword "anyOf" at /`,
		`{"type":["string","null"]}`:                                                    `must be a single string`,
		`{"type":"array","items":{"$ref":"#"}}`:                                         `unsupported schema keyword "$ref" at /items`,
		`{"type":"integer","minimum":0.2,"maximum":0.8}`:                                `no number`,
		`{"type":"array","minItems":3,"maxItems":1}`:                                    `minItems 3 exceeds maxItems 1`,
		`{"type":"widget"}`:                                                             `unsupported type "widget"`,
		`{"enum":[]}`:                                                                   `non-empty`,
		`not json`:                                                                      `json schema`,
	}
	for schema, want := range cases {
		_, err := CompileJSONSchema([]byte(schema))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CompileJSONSchema(%s) = %v, want an error containing %q", schema, err, want)
		}
	}
}

// randomSchema returns a random schema of the supported subset.
func randomSchema(r *rand.Rand, depth int) map[string]any {
	kinds := []string{"string", "number", "integer", "boolean", "null", "enum", "any", "object", "array"}
	if depth >= 2 {
		kinds = kinds[:7]
	}
	switch kinds[r.IntN(len(kinds))] {
	case "string":
		s := map[string]any{"type": "string"}
		if r.IntN(2) == 0 {
			s["maxLength"] = r.IntN(12)
		}
		return s
	case "number", "integer":
		typ := "number"
		if r.IntN(2) == 0 {
			typ = "integer"
		}
		s := map[string]any{"type": typ}
		lo := float64(r.IntN(200) - 100)
		if typ == "number" {
			lo += float64(r.IntN(4)) / 4
		}
		if r.IntN(3) > 0 {
			s["minimum"] = lo
		}
		if r.IntN(3) > 0 {
			s["maximum"] = lo + float64(r.IntN(300))
		}
		return s
	case "boolean":
		return map[string]any{"type": "boolean"}
	case "null":
		return map[string]any{"type": "null"}
	case "enum":
		vals := []any{"red", "green", "blue", "a\"b", 3, 4.5, nil, true}
		r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		if r.IntN(2) == 0 {
			return map[string]any{"type": "string", "enum": []any{"cat", "dog", "bird"}[:1+r.IntN(3)]}
		}
		return map[string]any{"enum": vals[:1+r.IntN(4)]}
	case "any":
		return map[string]any{}
	case "object":
		s := map[string]any{"type": "object"}
		props := map[string]any{}
		var req []string
		for _, name := range []string{"name", "age", "id", "tags", "x y", "nested"}[:r.IntN(5)] {
			props[name] = randomSchema(r, depth+1)
			if r.IntN(2) == 0 {
				req = append(req, name)
			}
		}
		s["properties"] = props
		if len(req) > 0 {
			s["required"] = req
		}
		if r.IntN(3) > 0 {
			s["additionalProperties"] = false
		}
		return s
	default:
		s := map[string]any{"type": "array", "items": randomSchema(r, depth+1)}
		mn := r.IntN(3)
		if r.IntN(2) == 0 {
			s["minItems"] = mn
		}
		if r.IntN(3) > 0 {
			s["maxItems"] = mn + r.IntN(3)
		}
		return s
	}
}

// validate checks doc against schema with the santhosh-tekuri validator.
func validate(t *testing.T, schema []byte, doc string) error {
	t.Helper()
	sv, err := jsonschema.UnmarshalJSON(strings.NewReader(string(schema)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", sv); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("validator cannot compile %s: %v", schema, err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return fmt.Errorf("output is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// TestConstrainedGenerationProperty generates with stories260K and
// temperature sampling under many random schemas and checks every output
// with an independent validator.
func TestConstrainedGenerationProperty(t *testing.T) {
	m := loadBin(t)
	r := rand.New(rand.NewPCG(7, 11))
	n := 240
	if testing.Short() {
		n = 40
	}
	lengths := 0
	for i := range n {
		schema, err := json.Marshal(randomSchema(r, 0))
		if err != nil {
			t.Fatal(err)
		}
		maxTok := 64 + r.IntN(200)
		g, err := m.GenerateJSON("Once upon a time", schema, GenerateOptions{
			SampleOptions: SampleOptions{Temperature: 0.5 + r.Float32(), Seed: r.Uint64()},
			MaxTokens:     maxTok,
		})
		if err != nil {
			t.Fatalf("schema %d %s: %v", i, schema, err)
		}
		if g.FinishReason == FinishLength {
			t.Errorf("schema %d %s: not finished within %d tokens: %q", i, schema, maxTok, g.Text)
			continue
		}
		lengths += len(g.Tokens)
		if err := validate(t, schema, g.Text); err != nil {
			t.Errorf("schema %d %s: output %q does not validate: %v", i, schema, g.Text, err)
		}
	}
	t.Logf("%d schemas, %d tokens", n, lengths)
}

// TestConstrainedTightBudget checks that a small MaxTokens still yields a
// complete document (the constraint steers towards closing it).
func TestConstrainedTightBudget(t *testing.T) {
	m := loadBin(t)
	schema := []byte(`{"type":"object","properties":{"story":{"type":"string"},"n":{"type":"array","items":{"type":"integer"}}},"required":["story","n"]}`)
	for seed := range uint64(20) {
		g, err := m.GenerateJSON("Once upon a time", schema, GenerateOptions{
			SampleOptions: SampleOptions{Temperature: 1, Seed: seed}, MaxTokens: 24})
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, schema, g.Text); err != nil {
			t.Errorf("seed %d: %q: %v (finish %s)", seed, g.Text, err, g.FinishReason)
		}
	}
}

// FuzzConstraint feeds random bytes to the automaton of a few schemas: it
// must never panic, and the cost estimate stays non-negative.
func FuzzConstraint(f *testing.F) {
	schemas := []string{
		`{}`,
		`{"type":"object","properties":{"a":{"type":"array","items":{"type":"number","minimum":-1.5,"maximum":3}},"b":{"enum":["x",1,null]}},"required":["a"],"additionalProperties":false}`,
		`{"type":"string","maxLength":3}`,
		`{"type":"integer","minimum":10,"maximum":1000}`,
	}
	var compiled []*JSONSchema
	for _, s := range schemas {
		js, err := CompileJSONSchema([]byte(s))
		if err != nil {
			f.Fatal(err)
		}
		compiled = append(compiled, js)
	}
	f.Add(uint8(0), []byte(`[1,{"a":"b"}]`))
	f.Add(uint8(1), []byte(`{"a":[1.25,-1],"b":null}`))
	f.Add(uint8(2), []byte(`"\u00e9x"`))
	f.Add(uint8(3), []byte(`999`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		m := newMachine(compiled[int(which)%len(compiled)].root)
		for _, b := range data {
			var tmp machine
			tmp.copyFrom(&m)
			if !tmp.feed(b) {
				continue
			}
			m.copyFrom(&tmp)
			if m.remaining() < 0 {
				t.Fatalf("negative remaining cost")
			}
			m.complete()
			m.done()
		}
	})
}

// TestAllowedMatchesBruteForce checks the trie walk (and the bulk
// string-content path) against feeding every token on its own, on states
// reached by random walks through allowed tokens, for the real vocabulary
// and a synthetic one. It also checks that no reachable state is a dead
// end.
func TestAllowedMatchesBruteForce(t *testing.T) {
	vocabs := []*ConstraintVocab{NewConstraintVocab(syntheticVocab(3000, 2), -1, -1)}
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "models", "stories260K", "stories260K.bin")); err == nil {
		v, err := VocabFor(loadBin(t).sp())
		if err != nil {
			t.Fatal(err)
		}
		vocabs = append(vocabs, v)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range vocabs {
		for range 60 {
			schema, _ := json.Marshal(randomSchema(r, 0))
			js, err := CompileJSONSchema(schema)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := NewConstraint(js, v)
			for step := 0; step < 40 && !c.Done(); step++ {
				budget := -1
				if step%2 == 1 {
					budget = 30 + r.IntN(20)
				}
				got := map[int32]bool{}
				for _, id := range c.Allowed(budget) {
					got[id] = true
				}
				want := map[int32]bool{}
				for id, tk := range v.tokens {
					if tk == nil {
						continue
					}
					var m machine
					m.copyFrom(&c.m)
					ok := true
					for _, b := range tk {
						if !m.feed(b) {
							ok = false
							break
						}
					}
					if ok && (budget < 0 || !v.singleBytes || m.remaining() <= budget) {
						want[int32(id)] = true
					}
				}
				if len(got) != len(want) {
					for id := range want {
						if !got[id] {
							t.Logf("missing %q", v.tokens[id])
						}
					}
					t.Fatalf("schema %s state %d: trie allows %d tokens, brute force %d", schema, step, len(got), len(want))
				}
				for id := range want {
					if !got[id] {
						t.Fatalf("schema %s: token %q missing", schema, v.tokens[id])
					}
				}
				all := c.Allowed(-1)
				if len(all) == 0 {
					if !c.Complete() {
						t.Fatalf("schema %s: dead end", schema)
					}
					break
				}
				if err := c.AcceptBytes(v.tokens[all[r.IntN(len(all))]]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
