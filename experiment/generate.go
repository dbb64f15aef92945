package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

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
	plan := synth.Plan{Template: tmpl, Task: cc.Generation.Task, Anchors: anchors, K: cc.Generation.Demos,
		PerPrompt: cc.Generation.PerPrompt, Target: cc.Generation.Target, Conditions: cc.Generation.Conditions,
		Selector: sel, Seed: cc.Seed}

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
	conc := g.Concurrency
	if conc <= 0 {
		conc = 8
		if o.Model != nil {
			conc = runtime.GOMAXPROCS(0)
		}
	}
	opt := generate.Options{
		Plan: plan, Identity: o.Identity, Model: model, Mode: g.Mode,
		Params:      generate.Params{Temperature: g.Temperature, TopP: g.TopP, MaxTokens: g.MaxTokens},
		Concurrency: conc, Price: price, Progress: r.opt.Progress, OutDir: filepath.Join(dir, "gen"),
		Backend: llm.Limited(o.Backend, llm.LimitOptions{Concurrency: conc, RequestsPerMinute: float64(g.RPM),
			TokensPerMinute: float64(g.TPM), Prices: map[string]llm.Price{model: price}}),
	}
	if g.Schema != nil && !*g.Schema {
		opt.Format = &llm.ResponseFormat{Type: llm.FormatText}
	}
	sum, err := generate.Run(ctx, opt)
	if err != nil {
		return err
	}
	if !sum.Complete {
		return fmt.Errorf("generation incomplete: %d of %d requests failed (run again to retry them)", sum.Failed, sum.Requests)
	}
	if sum.Records == 0 {
		return fmt.Errorf("the generator's %d answers held no parseable record (see gen/rejects.jsonl)", sum.Done)
	}
	return nil
}
