package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ggmi-dev/ggmi/batch"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

// batchOptions switches a generator to its provider's batch API, as
// `ggmi generate --batch` does.
func batchOptions(g GeneratorSpec, backend llm.Backend, model string) (*generate.BatchOptions, error) {
	ob, ok := backend.(*llm.OpenAI)
	if !ok {
		return nil, fmt.Errorf("generator %s: batch %s needs an http(s)://HOST/v1#MODEL endpoint", g.ID, g.Batch)
	}
	var prov batch.Provider = batch.NewOpenAI(ob)
	if g.Batch == "anthropic" {
		keyEnv := g.APIKeyEnv
		if keyEnv == "" || keyEnv == llm.DefaultAPIKeyEnv {
			keyEnv = batch.DefaultAnthropicKeyEnv
		}
		prov = batch.NewAnthropic(batch.AnthropicOptions{BaseURL: ob.BaseURL(), Model: model, APIKeyEnv: keyEnv})
	}
	poll := 30 * time.Second
	if g.BatchPoll != "" {
		d, err := time.ParseDuration(g.BatchPoll)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("generator %s: batch_poll %q must be a positive duration", g.ID, g.BatchPoll)
		}
		poll = d
	}
	return &generate.BatchOptions{Provider: prov, Resubmit: g.BatchResubmit, Poll: poll,
		Limits: batch.Limits{MaxRequests: g.BatchMaxRequests}}, nil
}

// stageGenerate runs the configuration's prompts through its generator
// into gen/: the durable cache there makes an interrupted generation
// resume without repeating a request.
func (r *Runner) stageGenerate(ctx context.Context, c *Configuration, dir string) error {
	cc, g := c.Config, c.Generator
	anchors, err := r.loadSplit(anchorsFile)
	if err != nil {
		return err
	}
	tmplName := cc.Generation.Template
	if tmplName == "" && g.Mode == generate.ModeCompletion {
		tmplName = "completion"
	}
	if tmplName != "" && tmplName != "default" && tmplName != "chat" && tmplName != "completion" && tmplName != "base" {
		tmplName = cc.Resolve(tmplName)
	}
	tmpl, err := synth.TemplateByName(tmplName)
	if err != nil {
		return fmt.Errorf("generation.template: %w", err)
	}
	var embedFn synth.EmbedFunc
	if cc.Generation.Selector == "diverse" {
		lsa := embed.LSA{Dim: 64, Seed: cc.Seed}
		embedFn = func(texts []string) ([][]float32, error) { return lsa.Embed(ctx, texts) }
	}
	sel, err := synth.ParseSelector(cc.Generation.Selector, embedFn)
	if err != nil {
		return fmt.Errorf("generation.selector: %w", err)
	}
	attrs, err := cc.attributeSpace(r.opt.Log)
	if err != nil {
		return err
	}
	plan := synth.Plan{Template: tmpl, Task: cc.Generation.Task, Anchors: anchors, K: cc.Generation.Demos,
		PerPrompt: cc.Generation.PerPrompt, Target: cc.Generation.Target, Conditions: cc.Generation.Conditions,
		Attributes: attrs, Selector: sel, Seed: cc.Seed}

	ms, err := llm.ParseModelSpec(cc.Resolve(g.Model))
	if err != nil {
		return fmt.Errorf("generator %s: %w", g.ID, err)
	}
	mode := llm.ModeChat
	if g.Mode == generate.ModeCompletion {
		mode = llm.ModeCompletion
	}
	o, err := llm.Open(ms, llm.OpenOptions{APIKeyEnv: g.APIKeyEnv, Mode: mode, Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		return fmt.Errorf("generator %s: %w", g.ID, err)
	}
	defer o.Close()
	model := ms.Model
	if model == "" {
		model = o.Backend.Models()[0]
	}
	var price llm.Price
	if len(g.Price) == 2 {
		price = llm.Price{InputPerMTok: g.Price[0], OutputPerMTok: g.Price[1]}
	}
	backend := o.Backend
	var multi *llm.Multi
	if len(g.BaseURLs) > 0 {
		if multi, err = llm.OpenEndpoints(o.Backend, ms, g.BaseURLs, llm.OpenOptions{APIKeyEnv: g.APIKeyEnv, Mode: mode}); err != nil {
			return fmt.Errorf("generator %s: base_urls: %w", g.ID, err)
		}
		backend = multi
	}
	var adaptive *generate.Adaptive
	conc := int(g.Concurrency)
	if g.Concurrency == ConcurrencyAuto {
		adaptive = generate.NewAdaptive(backend, generate.AdaptiveOptions{})
		backend, conc = adaptive, 0
	} else if conc <= 0 {
		conc = 8
		if o.Model != nil {
			conc = runtime.GOMAXPROCS(0)
		}
	}
	opt := generate.Options{
		Plan: plan, Identity: o.Identity, Model: model, Mode: g.Mode,
		Params:      generate.Params{Temperature: g.Temperature, TopP: g.TopP, MaxTokens: g.MaxTokens},
		Concurrency: conc, Price: price, Progress: r.opt.Progress, OutDir: filepath.Join(dir, "gen"),
		Backend: llm.Limited(backend, llm.LimitOptions{Concurrency: conc, RequestsPerMinute: float64(g.RPM),
			TokensPerMinute: float64(g.TPM), Prices: map[string]llm.Price{model: price}}),
		Adaptive: adaptive,
	}
	if multi != nil {
		opt.Endpoints = multi
	}
	if g.Schema != nil && !*g.Schema {
		opt.Format = &llm.ResponseFormat{Type: llm.FormatText}
	}
	if g.Batch != "" {
		if opt.Batch, err = batchOptions(g, o.Backend, ms.Model); err != nil {
			return err
		}
	}
	sum, err := generate.Run(ctx, opt)
	if err != nil {
		return err
	}
	if !sum.Complete && sum.Batch != nil && sum.Failures["batch"] > 0 {
		return fmt.Errorf("generation incomplete: %d of %d requests got no answer from their batch (%v); set batch_resubmit: true on generator %s and run again to send them again", sum.Failed, sum.Requests, sum.Failures, g.ID)
	}
	if !sum.Complete {
		return fmt.Errorf("generation incomplete: %d of %d requests failed (run again to retry them)", sum.Failed, sum.Requests)
	}
	if sum.Records == 0 {
		return fmt.Errorf("the generator's %d answers held no parseable record (see gen/rejects.jsonl)", sum.Done)
	}
	return nil
}
