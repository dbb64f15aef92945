package llm

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/ggmi-dev/ggmi/llama"
)

// Response format types (OpenAI's response_format.type).
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat asks for structured output: FormatJSONObject for any JSON
// object, FormatJSONSchema for a JSON document valid for Schema (the
// subset of llama.CompileJSONSchema). FormatText (or a nil format) leaves
// the output free.
type ResponseFormat struct {
	Type string
	// Name, Schema and Strict are OpenAI's json_schema members. A missing
	// Schema allows any JSON value. Strict is accepted either way: the
	// built-in engine always enforces the schema.
	Name   string
	Schema json.RawMessage
	Strict bool
}

// Compile returns the schema the output must follow, nil for free text.
// Unsupported formats or schemas yield an error wrapping ErrInvalidRequest
// whose message names the problem.
func (f *ResponseFormat) Compile() (*llama.JSONSchema, error) {
	if f == nil {
		return nil, nil
	}
	switch f.Type {
	case "", FormatText:
		return nil, nil
	case FormatJSONObject:
		return llama.AnyJSONObject(), nil
	case FormatJSONSchema:
		schema := f.Schema
		if len(schema) == 0 || string(schema) == "null" {
			schema = json.RawMessage("{}")
		}
		js, err := llama.CompileJSONSchema(schema)
		if err != nil {
			return nil, reqErr(ErrInvalidRequest, "response_format", "unsupported schema: %v", err)
		}
		return js, nil
	}
	return nil, reqErr(ErrInvalidRequest, "response_format", "unsupported response format type %q (want text, json_object or json_schema)", f.Type)
}

// newConstraint returns the per-sequence constraint of schema, nil when
// schema is nil.
func (b *Builtin) newConstraint(schema *llama.JSONSchema) (*llama.Constraint, error) {
	if schema == nil {
		return nil, nil
	}
	v, err := llama.VocabFor(b.m.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("response format: %w", err)
	}
	return llama.NewConstraint(schema, v)
}

// finiteTop drops the alternatives of probability zero (masked tokens),
// whose log-probability JSON cannot carry.
func finiteTop(top []TopLogProb) []TopLogProb {
	out := top[:0]
	for _, t := range top {
		if !math.IsInf(t.LogProb, 0) && !math.IsNaN(t.LogProb) {
			out = append(out, t)
		}
	}
	return out
}
