package generate

import (
	"fmt"
	"strings"

	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

// Estimate says what a run would send, computed without sending anything.
type Estimate struct {
	synth.DryRunSummary
	// Samples is the number of requests per prompt and Calls the number of
	// requests in all (Requests × Samples).
	Samples int `json:"samples"`
	Calls   int `json:"calls"`
	// InputTokens is the estimated prompt tokens of all requests;
	// MaxOutputTokens the most they may generate (calls × n × max tokens,
	// 0 when max tokens is unset).
	InputTokens     int `json:"input_tokens"`
	MaxOutputTokens int `json:"max_output_tokens"`
	// MaxCost is the price of InputTokens and MaxOutputTokens.
	MaxCost float64 `json:"max_cost"`
}

// DryRun renders the plan of opt and estimates its requests and tokens
// (with tokens, or synth.EstimateTokens when nil), keeping the first show
// prompts. It calls no backend and writes nothing.
func DryRun(opt Options, tokens synth.TokenFunc, show int) (Estimate, error) {
	d, err := opt.Plan.DryRun(tokens, show)
	if err != nil {
		return Estimate{}, fmt.Errorf("generate: %w", err)
	}
	e := Estimate{DryRunSummary: d, Samples: max(opt.Samples, 1)}
	e.Calls = d.Requests * e.Samples
	e.InputTokens = d.PromptTokens * e.Samples
	e.MaxOutputTokens = e.Calls * max(opt.Params.N, 1) * opt.Params.MaxTokens
	e.MaxCost = opt.Price.Cost(llm.Usage{PromptTokens: e.InputTokens, CompletionTokens: e.MaxOutputTokens})
	return e, nil
}

// String summarises the estimate, followed by the first prompts.
func (e Estimate) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d prompts × %d samples = %d requests for about %d records\n", e.Requests, e.Samples, e.Calls, e.Records*e.Samples)
	fmt.Fprintf(&b, "estimated input tokens: %d (%s; longest prompt %d)\n", e.InputTokens, e.TokenMethod, e.MaxPromptTokens)
	if e.MaxOutputTokens > 0 {
		fmt.Fprintf(&b, "output tokens: at most %d\n", e.MaxOutputTokens)
	}
	if e.MaxCost > 0 {
		fmt.Fprintf(&b, "cost: at most %.4f\n", e.MaxCost)
	}
	fmt.Fprintf(&b, "demonstrations: %s\n", e.Selector)
	for _, p := range e.First {
		fmt.Fprintf(&b, "\n--- prompt %d (%s, n=%d, demos %s) ---\n%s\n", p.Index, p.ID, p.N, strings.Join(p.DemoIDs, ","), p.Text)
	}
	return b.String()
}
