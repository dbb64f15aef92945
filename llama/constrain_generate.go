package llama

import (
	"fmt"
	"slices"
	"strings"
)

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
	st := m.stateFor(prompt, opt)
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate json: empty prompt (need at least BOS)")
	}
	if len(prompt) > st.ctx {
		return nil, fmt.Errorf("generate json: prompt of %d tokens exceeds context of %d", len(prompt), st.ctx)
	}
	if opt.MaxTokens < 0 {
		return nil, fmt.Errorf("generate json: negative MaxTokens %d", opt.MaxTokens)
	}
	tok := m.Tokenizer
	g := &Generation{Prompt: slices.Clone(prompt), FinishReason: FinishLength}
	for pos, t := range prompt[:len(prompt)-1] {
		if err := st.ForwardNoLogits(t, pos); err != nil {
			return nil, fmt.Errorf("generate json: %w", err)
		}
	}
	maxNew := st.ctx - len(prompt) + 1
	if opt.MaxTokens > 0 && opt.MaxTokens < maxNew {
		maxNew = opt.MaxTokens
	}
	maxStop := 0
	for _, s := range opt.Stop {
		maxStop = max(maxStop, len(s))
	}
	smp := NewSampler(opt.SampleOptions)
	var text strings.Builder
	token := prompt[len(prompt)-1]
	for pos := len(prompt) - 1; len(g.Tokens) < maxNew; pos++ {
		logits, err := st.Forward(token, pos)
		if err != nil {
			return nil, fmt.Errorf("generate json: %w", err)
		}
		if err := c.MaskLogits(logits, maxNew-len(g.Tokens)); err != nil {
			return nil, fmt.Errorf("generate json: after %d tokens: %w", len(g.Tokens), err)
		}
		next := smp.Sample(logits)
		if next == tok.EOS || next == tok.BOS {
			g.FinishReason = FinishEOS
			break
		}
		if err := c.Accept(tok, token, next); err != nil {
			return nil, fmt.Errorf("generate json: %w", err)
		}
		g.Tokens = append(g.Tokens, next)
		before := text.Len()
		text.WriteString(tok.Piece(token, next))
		token = next
		if maxStop > 0 {
			s := text.String()
			if cut, ok := findStop(s, max(0, before-maxStop+1), opt.Stop); ok {
				text.Reset()
				text.WriteString(s[:cut])
				g.FinishReason = FinishStop
				break
			}
		}
		if c.Done() {
			g.FinishReason = FinishStop
			break
		}
	}
	g.Text = text.String()
	return g, nil
}
