package llm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestResponseFormatBuiltin checks that Request.Format constrains every choice, with streaming and top log-probabilities, and
// that the constrained run equals llama.Model.GenerateConstrained.
func TestResponseFormatBuiltin(t *testing.T) {
	b := newBuiltin(t, 2)
	rf := &ResponseFormat{Type: FormatJSONSchema, Name: "pet", Schema: json.RawMessage(
		`{"type":"object","properties":{"name":{"type":"string","maxLength":8},"legs":{"type":"integer","minimum":0,"maximum":8}},"required":["name","legs"],"additionalProperties":false}`)}
	var streamed [3]strings.Builder
	res, err := b.Generate(context.Background(), Request{Model: b.Name(), Prompt: "Once upon a time", N: 3, Seed: seed(9), Temperature: 1,
		MaxTokens: 80, Format: rf, LogProbs: true, TopLogProbs: 5, OnDelta: func(d Delta) error {
			streamed[d.Index].WriteString(d.Text)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range res.Choices {
		var v struct {
			Name *string `json:"name"`
			Legs *int    `json:"legs"`
		}
		dec := json.NewDecoder(strings.NewReader(c.Text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || v.Name == nil || v.Legs == nil || *v.Legs < 0 || *v.Legs > 8 || len([]rune(*v.Name)) > 8 {
			t.Errorf("choice %d: %q does not follow the schema (%v)", i, c.Text, err)
		}
		if c.FinishReason != FinishStop {
			t.Errorf("choice %d: finish %q", i, c.FinishReason)
		}
		if streamed[i].String() != c.Text {
			t.Errorf("choice %d: streamed %q, final %q", i, streamed[i].String(), c.Text)
		}
	}
	g, err := b.m.GenerateConstrained(b.m.Tokenizer.Encode("Once upon a time", true, false), mustCompile(t, rf), llamaOpts(9, 80))
	if err != nil {
		t.Fatal(err)
	}
	if g.Text != res.Choices[0].Text {
		t.Errorf("backend %q, engine %q", res.Choices[0].Text, g.Text)
	}
}

func TestResponseFormatErrors(t *testing.T) {
	b := newBuiltin(t, 1)
	for _, rf := range []*ResponseFormat{
		{Type: FormatJSONSchema, Schema: json.RawMessage(`{"type":"string","pattern":"x"}`)},
		{Type: "xml"},
	} {
		_, err := b.Generate(context.Background(), Request{Model: b.Name(), Prompt: "x", MaxTokens: 4, Format: rf})
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: got %v, want ErrInvalidRequest", rf, err)
		}
	}
}
