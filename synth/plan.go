package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Plan describes a generation job: which prompts to send to the model M.
type Plan struct {
	// Template is the prompt template E (DefaultTemplate when nil).
	Template *Template
	// Task is the task element e_task (DefaultTask when empty).
	Task string
	// Schema is an optional JSON schema passed to the template.
	Schema string
	// Anchors is S_anchor, from which the demonstrations are drawn.
	Anchors []dataset.Record
	// K is the number of demonstrations per prompt (the paper's k-ins).
	K int
	// PerPrompt is the number of records each prompt asks for (N).
	PerPrompt int
	// Target is the number of records wanted in all; the plan has
	// ceil(Target/PerPrompt) prompts and the last asks for the remainder.
	Target int
	// Conditions are the condition elements to cycle or draw from.
	Conditions ConditionSpace
	// Attributes are named attributes (persona, topic, difficulty,
	// language, …) sampled per prompt; part of e_condition.
	Attributes AttributeSpace
	// Selector chooses the demonstrations (RandomSelector when nil).
	Selector Selector
	// Seed makes the whole plan deterministic.
	Seed uint64
}

// Prompt is one prompt p of a plan, with everything needed to trace the
// records it produces back to the anchors.
type Prompt struct {
	// ID is a stable hash of the template, task, schema, demonstrations,
	// condition, N and index.
	ID string `json:"id"`
	// Index is the prompt's position in the plan.
	Index int `json:"index"`
	// Text is the rendered prompt.
	Text string `json:"text"`
	// N is the number of records asked for.
	N int `json:"n"`
	// DemoIDs are the IDs of the anchors shown, in prompt order.
	DemoIDs []string `json:"demo_ids"`
	// Condition is the prompt's condition element.
	Condition Condition `json:"condition,omitzero"`
	// Attributes are the prompt's sampled attributes (name → value).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Seed is the sampling seed derived for this prompt (below 2⁶³, so it
	// fits dataset.Provenance.Seed).
	Seed uint64 `json:"seed"`
	// Template is the name of the template used.
	Template string `json:"template"`
}

// Provenance returns the provenance of the records parsed from the model's
// response to this prompt; it suits Parser.Provenance:
//
//	parser.Provenance = func(int) dataset.Provenance { return p.Provenance(model, params, rawKey, time.Now()) }
func (p Prompt) Provenance(model string, params map[string]any, rawKey string, at time.Time) dataset.Provenance {
	return dataset.Provenance{
		PromptID:   p.ID,
		Attributes: p.AttributeValues(),
		DemoIDs:    append([]string(nil), p.DemoIDs...),
		Model:      model,
		Params:     params,
		Seed:       int64(p.Seed),
		Time:       at,
		RawKey:     rawKey,
	}
}

// AttributeValues returns the prompt's attributes and its condition's
// factors (topic, style, persona, length) as one map, nil when empty: what
// the provenance records and the report groups by.
func (p Prompt) AttributeValues() map[string]string {
	c := p.Condition
	if len(p.Attributes) == 0 && c.IsZero() {
		return nil
	}
	out := make(map[string]string, len(p.Attributes)+4)
	for k, v := range map[string]string{"topic": c.Topic, "style": c.Style, "persona": c.Persona, "length": c.Length} {
		if v != "" {
			out[k] = v
		}
	}
	for k, v := range p.Attributes {
		out[k] = v
	}
	return out
}

// Requests returns the number of prompts the plan makes.
func (pl Plan) Requests() int {
	if pl.PerPrompt <= 0 || pl.Target <= 0 {
		return 0
	}
	return (pl.Target + pl.PerPrompt - 1) / pl.PerPrompt
}

func (pl Plan) validate() error {
	switch {
	case pl.PerPrompt <= 0:
		return fmt.Errorf("synth: plan: records per prompt must be at least 1 (got %d)", pl.PerPrompt)
	case pl.Target <= 0:
		return fmt.Errorf("synth: plan: target must be at least 1 (got %d)", pl.Target)
	case pl.K < 0:
		return fmt.Errorf("synth: plan: k must not be negative (got %d)", pl.K)
	case pl.K > len(pl.Anchors):
		return fmt.Errorf("synth: plan: k = %d demonstrations but only %d anchors", pl.K, len(pl.Anchors))
	}
	if err := pl.Attributes.Validate(); err != nil {
		return fmt.Errorf("synth: plan: %w", err)
	}
	cs := pl.Conditions
	for _, a := range pl.Attributes.Attributes {
		if set := map[string]bool{"topic": len(cs.Topics) > 0, "style": len(cs.Styles) > 0, "persona": len(cs.Personas) > 0, "length": len(cs.Lengths) > 0}; set[a.Name] {
			return fmt.Errorf("synth: plan: attribute %s is also a condition factor; give it once", a.Name)
		}
	}
	return nil
}

// mix derives the seed of stream i from the plan seed through SHA-256.
func mix(seed uint64, stream string, i int) uint64 {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(i))
	h.Write(b[:])
	h.Write([]byte(stream))
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

// Prompts renders every prompt of the plan. The result depends only on the
// plan's fields: a resumed run gets identical prompts and IDs.
func (pl Plan) Prompts() ([]Prompt, error) {
	if err := pl.validate(); err != nil {
		return nil, err
	}
	tmpl := pl.Template
	if tmpl == nil {
		tmpl = DefaultTemplate()
	}
	task := pl.Task
	if task == "" {
		task = DefaultTask
	}
	sel := pl.Selector
	if sel == nil {
		sel = RandomSelector{}
	}
	n := pl.Requests()
	conds, err := pl.Conditions.Draw(n, mix(pl.Seed, "conditions", 0))
	if err != nil {
		return nil, err
	}
	th := tmpl.Hash()
	out := make([]Prompt, 0, n)
	for i := range n {
		want := pl.PerPrompt
		if rest := pl.Target - i*pl.PerPrompt; rest < want {
			want = rest
		}
		idx, err := sel.Select(pl.Anchors, pl.K, mix(pl.Seed, "demos", i))
		if err != nil {
			return nil, fmt.Errorf("synth: plan: prompt %d: %w", i, err)
		}
		demos := make([]dataset.Record, len(idx))
		ids := make([]string, len(idx))
		for j, a := range idx {
			if a < 0 || a >= len(pl.Anchors) {
				return nil, fmt.Errorf("synth: plan: prompt %d: selector %s returned index %d of %d anchors", i, sel.Name(), a, len(pl.Anchors))
			}
			demos[j] = pl.Anchors[a]
			ids[j] = pl.Anchors[a].ID
			if ids[j] == "" {
				ids[j] = dataset.ContentID(pl.Anchors[a])
			}
		}
		attrs, err := pl.Attributes.Draw(i, mix(pl.Seed, "attributes", 0))
		if err != nil {
			return nil, err
		}
		text, err := tmpl.Render(TemplateData{Task: task, Condition: conds[i], Attributes: attrs, Demos: demos, N: want, Schema: pl.Schema})
		if err != nil {
			return nil, fmt.Errorf("synth: plan: prompt %d: %w", i, err)
		}
		out = append(out, Prompt{
			ID:         PromptIDAttrs(th, task, pl.Schema, ids, conds[i], attrs, want, i),
			Attributes: attrs,
			Index:      i,
			Text:       text,
			N:          want,
			DemoIDs:    ids,
			Condition:  conds[i],
			Seed:       mix(pl.Seed, "sample", i) >> 1, // fits Provenance.Seed (int64)
			Template:   tmpl.Name(),
		})
	}
	return out, nil
}

// PromptID is the stable identity of a prompt: the first 16 bytes, in hex,
// of SHA-256 over the template hash, the task, the schema, the
// demonstrations' IDs, the condition's factors, N and the index, each
// terminated by a NUL byte.
func PromptID(templateHash, task, schema string, demoIDs []string, c Condition, n, index int) string {
	return PromptIDAttrs(templateHash, task, schema, demoIDs, c, nil, n, index)
}

// PromptIDAttrs is PromptID with the prompt's sampled attributes: each
// name and value, in the order of the names, after the condition. Without
// attributes it equals PromptID.
func PromptIDAttrs(templateHash, task, schema string, demoIDs []string, c Condition, attrs map[string]string, n, index int) string {
	h := sha256.New()
	put := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	put("synth-prompt-v1")
	put(templateHash)
	put(task)
	put(schema)
	put(fmt.Sprint(len(demoIDs)))
	for _, id := range demoIDs {
		put(id)
	}
	put(c.Topic)
	put(c.Style)
	put(c.Persona)
	put(c.Length)
	if len(attrs) > 0 {
		names := make([]string, 0, len(attrs))
		for k := range attrs {
			names = append(names, k)
		}
		slices.Sort(names)
		put("attributes")
		put(fmt.Sprint(len(names)))
		for _, k := range names {
			put(k)
			put(attrs[k])
		}
	}
	put(fmt.Sprint(n))
	put(fmt.Sprint(index))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TokenFunc counts the tokens of a text (a tokenizer's encoder).
type TokenFunc func(text string) int

// EstimateTokens is the default token count: the number of characters
// divided by four, rounded up.
func EstimateTokens(text string) int {
	return (utf8.RuneCountInString(text) + 3) / 4
}

// DryRunSummary says what a plan would send without sending it.
type DryRunSummary struct {
	// Requests is the number of prompts.
	Requests int `json:"requests"`
	// Records is the number of records asked for in all.
	Records int `json:"records"`
	// PromptTokens is the estimated number of prompt tokens in all.
	PromptTokens int `json:"prompt_tokens"`
	// MaxPromptTokens is the estimate for the longest prompt.
	MaxPromptTokens int `json:"max_prompt_tokens"`
	// TokenMethod is "chars/4" or "tokenizer".
	TokenMethod string `json:"token_method"`
	// Selector names the demonstration selection.
	Selector string `json:"selector"`
	// First holds the first prompts, rendered.
	First []Prompt `json:"first"`
}

// DryRun renders every prompt to count requests and prompt tokens (with
// tokens, or EstimateTokens when nil) and keeps the first show prompts.
func (pl Plan) DryRun(tokens TokenFunc, show int) (DryRunSummary, error) {
	ps, err := pl.Prompts()
	if err != nil {
		return DryRunSummary{}, err
	}
	s := DryRunSummary{Requests: len(ps), TokenMethod: "tokenizer", Selector: "random"}
	if pl.Selector != nil {
		s.Selector = pl.Selector.Name()
	}
	if tokens == nil {
		tokens, s.TokenMethod = EstimateTokens, "chars/4"
	}
	for _, p := range ps {
		s.Records += p.N
		t := tokens(p.Text)
		s.PromptTokens += t
		s.MaxPromptTokens = max(s.MaxPromptTokens, t)
	}
	s.First = ps[:min(max(show, 0), len(ps))]
	return s, nil
}

// String summarises the dry run in a few lines, followed by the first
// prompts.
func (s DryRunSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests for %d records, about %d prompt tokens (%s; longest prompt %d), demonstrations: %s\n",
		s.Requests, s.Records, s.PromptTokens, s.TokenMethod, s.MaxPromptTokens, s.Selector)
	for _, p := range s.First {
		fmt.Fprintf(&b, "\n--- prompt %d (%s, n=%d, demos %s) ---\n%s\n", p.Index, p.ID, p.N, strings.Join(p.DemoIDs, ","), p.Text)
	}
	return b.String()
}
