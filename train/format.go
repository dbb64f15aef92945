package train

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
)

// PromptTemplate turns a record into the text a student is trained on: the
// prompt (instruction and optional context) followed by the response. The
// placeholders {instruction} and {context} are replaced by the record's
// Instruction and Input (context); the response (the record's Output) is
// appended after the prompt as is, and the built-in engine ends it with
// the end-of-sequence token.
type PromptTemplate struct {
	// Name identifies the template in results and files.
	Name string
	// WithContext is used for records that have a context.
	WithContext string
	// NoContext is used for records without one.
	NoContext string
}

// AlpacaTemplate is the prompt format of Stanford Alpaca (Taori et al.,
// 2023), the one the paper's generation template follows (App. G.1.2):
//
//	Below is an instruction that describes a task, paired with an input that
//	provides further context. Write a response that appropriately completes
//	the request.
//
//	### Instruction:
//	{instruction}
//
//	### Input:
//	{context}
//
//	### Response:
//
// (the first paragraph reads "Below is an instruction that describes a
// task. Write a response that appropriately completes the request." and
// the Input section is left out when the record has no context).
func AlpacaTemplate() PromptTemplate {
	return PromptTemplate{
		Name: "alpaca",
		WithContext: "Below is an instruction that describes a task, paired with an input that provides further context. " +
			"Write a response that appropriately completes the request.\n\n" +
			"### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n",
		NoContext: "Below is an instruction that describes a task. " +
			"Write a response that appropriately completes the request.\n\n" +
			"### Instruction:\n{instruction}\n\n### Response:\n",
	}
}

// CompactTemplate is AlpacaTemplate without the opening paragraph, for
// models whose context window is small:
//
//	### Instruction:
//	{instruction}
//
//	### Input:
//	{context}
//
//	### Response:
func CompactTemplate() PromptTemplate {
	return PromptTemplate{
		Name:        "compact",
		WithContext: "### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n",
		NoContext:   "### Instruction:\n{instruction}\n\n### Response:\n",
	}
}

// TemplateByName returns AlpacaTemplate ("alpaca") or CompactTemplate
// ("compact").
func TemplateByName(name string) (PromptTemplate, error) {
	switch name {
	case "alpaca":
		return AlpacaTemplate(), nil
	case "compact":
		return CompactTemplate(), nil
	}
	return PromptTemplate{}, fmt.Errorf("unknown prompt template %q (want alpaca or compact)", name)
}

// ErrNoResponse is returned for a record that has no response to train on
// or to compare with.
var ErrNoResponse = errors.New("record has no response")

// fields returns a record's instruction, context and response. Chat
// records without an instruction use their first user turn and the first
// assistant turn after it.
func fields(r dataset.Record) (instruction, context, response string) {
	instruction, context, response = r.Instruction, r.Input, r.Output
	if instruction == "" && len(r.Messages) > 0 {
		for i, m := range r.Messages {
			if m.Role != "user" {
				continue
			}
			instruction = m.Content
			if response == "" {
				for _, a := range r.Messages[i+1:] {
					if a.Role == "assistant" {
						response = a.Content
						break
					}
				}
			}
			break
		}
	}
	return instruction, context, response
}

// Prompt renders the prompt of a record (everything before the response).
func (t PromptTemplate) Prompt(r dataset.Record) string {
	instruction, context, _ := fields(r)
	tmpl := t.NoContext
	if strings.TrimSpace(context) != "" {
		tmpl = t.WithContext
	}
	return strings.NewReplacer("{instruction}", instruction, "{context}", context).Replace(tmpl)
}

// Example returns the prompt and response of a record. A record without a
// response gives an error wrapping ErrNoResponse.
func (t PromptTemplate) Example(r dataset.Record) (llama.Example, error) {
	_, _, response := fields(r)
	if strings.TrimSpace(response) == "" {
		return llama.Example{}, fmt.Errorf("record %q: %w", r.ID, ErrNoResponse)
	}
	return llama.Example{Prompt: t.Prompt(r), Response: response}, nil
}

// Examples converts records with Example.
func (t PromptTemplate) Examples(recs []dataset.Record) ([]llama.Example, error) {
	out := make([]llama.Example, len(recs))
	for i, r := range recs {
		ex, err := t.Example(r)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out[i] = ex
	}
	return out, nil
}

// Encode tokenizes records for the built-in engine: BOS, the prompt, the
// response and EOS. With responseOnly the loss covers only the response
// and EOS (the usual instruction-tuning mask); otherwise every token after
// BOS.
func (t PromptTemplate) Encode(tok llama.TextTokenizer, recs []dataset.Record, responseOnly bool) ([]llama.Sequence, error) {
	exs, err := t.Examples(recs)
	if err != nil {
		return nil, err
	}
	seqs, err := llama.EncodeExamples(tok, exs, responseOnly)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return seqs, nil
}

// TokenCounter returns a function counting the tokens a record occupies in
// training with this template and tokenizer (BOS, prompt, response, EOS),
// for Mix.
func (t PromptTemplate) TokenCounter(tok llama.TextTokenizer) func(dataset.Record) int {
	return func(r dataset.Record) int {
		if tok == nil {
			return WordCount(r)
		}
		_, _, response := fields(r)
		return len(tok.Encode(t.Prompt(r), true, false)) + len(tok.EncodeRaw(response)) + 1
	}
}

// WordCount counts the whitespace-separated words of a record's
// instruction, context and response: a tokenizer-free stand-in for token
// counts (for example when an external trainer uses its own tokenizer).
func WordCount(r dataset.Record) int {
	instruction, context, response := fields(r)
	return len(strings.Fields(instruction)) + len(strings.Fields(context)) + len(strings.Fields(response))
}

// chatMessages renders a record as a conversation for chat-format trainer
// files: one user turn (the instruction, then a blank line and the context
// when there is one) and one assistant turn (the response).
func chatMessages(r dataset.Record) []dataset.Message {
	instruction, context, response := fields(r)
	user := instruction
	if strings.TrimSpace(context) != "" {
		user += "\n\n" + context
	}
	return []dataset.Message{{Role: "user", Content: user}, {Role: "assistant", Content: response}}
}
