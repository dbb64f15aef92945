package llama

import "fmt"

// GenerateJSON encodes prompt (with BOS) and generates a JSON document
// valid for schema (see CompileJSONSchema for the supported subset) with
// the sampling options of opt. Generation stops as soon as the document is
// complete (FinishStop); the document is kept finishable within MaxTokens
// (or the context window), so a FinishLength result only happens when the
// budget is too small for the shortest document.
func (m *Model) GenerateJSON(prompt string, schema []byte, opt GenerateOptions) (*Generation, error) {
	s, err := CompileJSONSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("generate json: %w", err)
	}
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	return m.GenerateConstrained(m.Tokenizer.Encode(prompt, true, false), s, opt)
}

// GenerateConstrained is GenerateTokens with every step restricted to the
// tokens that can continue a document of schema. IgnoreEOS is ignored:
// EOS is allowed only when the document is complete.
func (m *Model) GenerateConstrained(prompt []int, schema *JSONSchema, opt GenerateOptions) (*Generation, error) {
	if m.Tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	v, err := VocabFor(m.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("generate json: %w", err)
	}
	c, err := NewConstraint(schema, v)
	if err != nil {
		return nil, fmt.Errorf("generate json: %w", err)
	}
	g, err := m.generate(m.stateFor(prompt, opt, m.Threads()), prompt, opt, c)
	if err != nil {
		return nil, fmt.Errorf("generate json: %w", err)
	}
	return g, nil
}
