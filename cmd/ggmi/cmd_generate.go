package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/batch"
	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

// exitIncomplete is the exit code of a generation that finished with some
// requests failed: the output is consistent and running the same command
// again retries only those.
const exitIncomplete = 3

type generateOptions struct {
	giveUpAfter   time.Duration
	anchors       string
	schema        string
	mapping       []string
	demos         int
	perPrompt     int
	target        int
	model         string
	baseURLs      []string
	template      string
	mode          string
	format        string
	concurrency   int
	concurrencyS  string
	rpm, tpm      float64
	price         string
	temperature   float64
	topP          float64
	maxTokens     int
	n             int
	samples       int
	seed          uint64
	timeout       time.Duration
	attempts      int
	apiKeyEnv     string
	workers       int
	threads       int
	topics        []string
	styles        []string
	personas      []string
	lengths       []string
	attributes    []string
	attrSampling  string
	decontaminate string
	testSchema    string
	cache         string
	dryRun        bool
	show          int
	noCurate      bool
	out           string
	json          bool
	batch         string
	batchResubmit bool
	batchPoll     time.Duration
	batchMax      int
}

func newGenerateCmd(g *globals) *cobra.Command {
	o := &generateOptions{}
	c := &cobra.Command{
		Use:   "generate",
		Short: "Generate synthetic instruction data from anchors with a model (S_anchor → p → M → ε → S_gen)",
		Long: `Run the generation chain of the reverse-bottleneck paper: draw --demos anchors per prompt,
render the prompt p = E(task, condition, demos) with --template, send it to the model M
(--model), parse the answers into records with provenance, and curate them with the
default ε (dedup, ROUGE-L against the anchors, filters; --no-curate skips it).

--model is one of
  http(s)://HOST/v1#MODEL   an OpenAI-compatible endpoint (key from $OPENAI_API_KEY or --api-key-env)
  builtin:PATH              a llama2.c .bin or .gguf file run by the built-in engine
  hf://owner/repo/file      the same, downloaded from the Hugging Face hub

In chat mode the default answer format is a JSON schema of {"tasks": [{instruction, context,
response}]} sent as response_format (the built-in engine enforces it; an endpoint that refuses it
gets free text and the parser copes); completion mode sends the prompt as text to continue.

Every answer is stored in --out/cache.db before it is used and every completed request is
journaled, so the same command run again after an interruption (even kill -9) sends only the
requests not yet done, and ends with the same files as an uninterrupted run.

Writes into --out: synthetic.jsonl, rejects.jsonl, prompts.jsonl, journal.jsonl, run.json,
summary.json, cache.db and, unless --no-curate, curated.jsonl, removed.jsonl, curation.json.

Exit codes: 0 every request done; 1 failure (e.g. refused credentials, unknown model);
2 a mistake in the command line or its files; 3 finished, but some requests failed after
their retries (run the same command again to retry them); 130 interrupted.`,
		Example: `  ggmi generate --anchors seed_tasks.jsonl --schema self-instruct --model https://api.openai.com/v1#gpt-4o-mini \
      --target 1000 --per-prompt 20 --demos 3 --rpm 500 --price 0.15,0.60 --out runs/gen
  ggmi generate --anchors hf://databricks/databricks-dolly-15k --schema dolly --model builtin:model.gguf --dry-run
  ggmi generate --anchors anchors.jsonl --model http://127.0.0.1:8080/v1#stories260K --mode completion --out runs/base`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGenerate(cmd, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.anchors, "anchors", "", "anchor data S_anchor: a file (.jsonl, .json, .csv, .parquet) or hf://owner/dataset (required)")
	f.StringVar(&o.schema, "schema", "auto", "schema of the anchors: auto, record, alpaca, dolly, self-instruct, gsm8k, chat, sharegpt, mt-bench")
	f.StringArrayVar(&o.mapping, "map", nil, "custom field mapping field=path for the anchors (repeatable), overrides --schema")
	f.IntVar(&o.demos, "demos", 3, "demonstrations per prompt (k)")
	f.IntVar(&o.perPrompt, "per-prompt", 20, "records each prompt asks for")
	f.IntVar(&o.target, "target", 1000, "records wanted in all (prompts = target / per-prompt, rounded up)")
	f.StringVar(&o.model, "model", "", "the model M: http(s)://HOST/v1#MODEL, builtin:PATH or hf://owner/repo/file (required)")
	f.StringSliceVar(&o.baseURLs, "base-url", nil, "further API roots serving the same model as an http(s) --model (repeatable or comma list): each request goes to the least loaded healthy endpoint, one that fails is left alone for a while and its requests move to the others")
	f.StringVar(&o.template, "template", "", "prompt template: default, completion or a template file (default: by --mode)")
	f.StringVar(&o.mode, "mode", "chat", "chat (instruction-tuned models) or completion (base models)")
	f.StringVar(&o.format, "format", "auto", "answer format: auto (task schema in chat mode, text in completion mode), task, json, text or a JSON schema file")
	f.StringVar(&o.concurrencyS, "concurrency", "8", "requests in flight: a number, or auto to follow the endpoint (grows while answers hold, halves on 429/503)")
	f.Float64Var(&o.rpm, "rpm", 0, "requests per minute (0: no limit)")
	f.Float64Var(&o.tpm, "tpm", 0, "tokens per minute (0: no limit)")
	f.StringVar(&o.price, "price", "", "price per million tokens as IN,OUT (e.g. 0.15,0.60) for the cost estimate")
	f.Float64Var(&o.temperature, "temperature", 0.7, "sampling temperature")
	f.Float64Var(&o.topP, "top-p", 1, "nucleus sampling mass")
	f.IntVar(&o.maxTokens, "max-tokens", 2048, "tokens per answer at most (0: the endpoint's default)")
	f.IntVar(&o.n, "n", 1, "choices per request")
	f.IntVar(&o.samples, "samples", 1, "requests per prompt, each with its own seed")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the plan (demonstrations, conditions, sampling seeds)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "time limit of one attempt")
	f.IntVar(&o.attempts, "attempts", 5, "attempts per request, the first included")
	f.DurationVar(&o.giveUpAfter, "give-up-after", time.Minute, "stop (state saved, exit 3) when every request has failed for this long (0: never)")
	f.StringVar(&o.apiKeyEnv, "api-key-env", llm.DefaultAPIKeyEnv, "name of the environment variable holding the API key")
	f.IntVar(&o.workers, "workers", 0, fmt.Sprintf("built-in engine: sequences decoded together by continuous batching (0: %d)", llm.DefaultWorkers))
	f.IntVar(&o.threads, "threads", 0, "built-in engine: cores used in all, shared by the running sequences (0: every core)")
	f.StringSliceVar(&o.topics, "topics", nil, "condition: topics to cycle through (comma list)")
	f.StringSliceVar(&o.styles, "styles", nil, "condition: styles to cycle through (comma list)")
	f.StringSliceVar(&o.personas, "personas", nil, "condition: personas to cycle through (comma list)")
	f.StringSliceVar(&o.lengths, "lengths", nil, "condition: lengths to cycle through (comma list)")
	f.StringArrayVar(&o.attributes, "attribute", nil, "attribute sampled per prompt and kept in each record's provenance (repeatable): NAME=V1,V2,… (uniform), NAME=V1:W1,V2:W2,… (weighted) or NAME=@FILE (one value per line, optionally TAB weight; or .json/.jsonl)")
	f.StringVar(&o.attrSampling, "attribute-sampling", "", "how --attribute values are drawn: uniform, weighted or cross (every combination once per block); default weighted when weights are given, else uniform")
	f.StringVar(&o.decontaminate, "decontaminate", "", "evaluation split: curation drops records sharing a 13-gram with it")
	f.StringVar(&o.testSchema, "test-schema", "auto", "schema of the evaluation split")
	f.StringVar(&o.cache, "cache", "", "request/response cache file (default: --out/cache.db)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the first prompts, the request count and the estimated tokens; send nothing")
	f.IntVar(&o.show, "show", 2, "prompts printed by --dry-run")
	f.BoolVar(&o.noCurate, "no-curate", false, "skip the curation step ε")
	f.StringVar(&o.out, "out", "", "output directory (required unless --dry-run)")
	f.BoolVar(&o.json, "json", false, "print the summary (or the dry-run estimate) as JSON on stdout")
	f.StringVar(&o.batch, "batch", "", "send the requests through the provider's batch API (half price, answers within 24 h): openai or anthropic (key from $ANTHROPIC_API_KEY unless --api-key-env is set)")
	f.BoolVar(&o.batchResubmit, "batch-resubmit", false, "batch mode: send again the requests that failed or expired in an earlier batch")
	f.DurationVar(&o.batchPoll, "batch-poll", 30*time.Second, "batch mode: time between two polls of a batch")
	f.IntVar(&o.batchMax, "batch-max-requests", 0, "batch mode: requests per batch at most (0: the provider's limit)")
	return c
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parsePrice reads IN,OUT prices per million tokens.
func parsePrice(s string) (llm.Price, error) {
	if s == "" {
		return llm.Price{}, nil
	}
	in, out, ok := strings.Cut(s, ",")
	a, err1 := strconv.ParseFloat(strings.TrimSpace(in), 64)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return llm.Price{}, fmt.Errorf("--price %q is not IN,OUT (two non-negative prices per million tokens, e.g. 0.15,0.60)", s)
	}
	return llm.Price{InputPerMTok: a, OutputPerMTok: b}, nil
}

// check validates the flags that need no file; every error is the user's.
func (o *generateOptions) check() (llm.ModelSpec, llm.Price, error) {
	var none llm.ModelSpec
	switch {
	case o.anchors == "":
		return none, llm.Price{}, errors.New("--anchors is required (a data file or hf://owner/dataset)")
	case o.model == "":
		return none, llm.Price{}, errors.New("--model is required (http(s)://HOST/v1#MODEL, builtin:PATH or hf://owner/repo/file)")
	case o.out == "" && !o.dryRun:
		return none, llm.Price{}, errors.New("--out is required")
	case o.mode != generate.ModeChat && o.mode != generate.ModeCompletion:
		return none, llm.Price{}, fmt.Errorf("--mode must be chat or completion (got %q)", o.mode)
	case o.demos < 0:
		return none, llm.Price{}, fmt.Errorf("--demos must be at least 0 (got %d)", o.demos)
	case o.perPrompt < 1:
		return none, llm.Price{}, fmt.Errorf("--per-prompt must be at least 1 (got %d)", o.perPrompt)
	case o.target < 1:
		return none, llm.Price{}, fmt.Errorf("--target must be at least 1 (got %d)", o.target)
	case o.concurrencyS != "auto" && !validConcurrency(o):
		return none, llm.Price{}, fmt.Errorf("--concurrency must be a whole number of at least 1 or auto (got %q)", o.concurrencyS)
	case o.rpm < 0 || o.tpm < 0:
		return none, llm.Price{}, fmt.Errorf("--rpm and --tpm must not be negative (got %v and %v)", o.rpm, o.tpm)
	case !(o.temperature >= 0 && o.temperature <= 2):
		return none, llm.Price{}, fmt.Errorf("--temperature must be between 0 and 2 (got %v)", o.temperature)
	case !(o.topP >= 0 && o.topP <= 1):
		return none, llm.Price{}, fmt.Errorf("--top-p must be between 0 and 1 (got %v)", o.topP)
	case o.maxTokens < 0:
		return none, llm.Price{}, fmt.Errorf("--max-tokens must not be negative (got %d)", o.maxTokens)
	case o.n < 1 || o.n > llm.MaxN:
		return none, llm.Price{}, fmt.Errorf("--n must be between 1 and %d (got %d)", llm.MaxN, o.n)
	case o.samples < 1:
		return none, llm.Price{}, fmt.Errorf("--samples must be at least 1 (got %d)", o.samples)
	case o.giveUpAfter < 0:
		return none, llm.Price{}, fmt.Errorf("--give-up-after must not be negative (got %v)", o.giveUpAfter)
	case o.attempts < 1:
		return none, llm.Price{}, fmt.Errorf("--attempts must be at least 1 (got %d)", o.attempts)
	case o.timeout < 0:
		return none, llm.Price{}, fmt.Errorf("--timeout must not be negative (got %v)", o.timeout)
	case o.threads < 0:
		return none, llm.Price{}, fmt.Errorf("--threads must be at least 0 (got %d)", o.threads)
	case o.workers < 0:
		return none, llm.Price{}, fmt.Errorf("--workers must be at least 0 (got %d)", o.workers)
	case o.batch != "" && o.batch != "openai" && o.batch != "anthropic":
		return none, llm.Price{}, fmt.Errorf("--batch must be openai or anthropic (got %q)", o.batch)
	case o.batchPoll <= 0 || o.batchMax < 0:
		return none, llm.Price{}, errors.New("--batch-poll must be positive and --batch-max-requests at least 0")
	case !envName.MatchString(o.apiKeyEnv):
		// The value is not echoed: it may be the key itself.
		return none, llm.Price{}, errors.New("--api-key-env takes the name of an environment variable (such as OPENAI_API_KEY), not a key")
	}
	price, err := parsePrice(o.price)
	if err != nil {
		return none, llm.Price{}, err
	}
	spec, err := llm.ParseModelSpec(o.model)
	if err != nil {
		return none, llm.Price{}, fmt.Errorf("--model: %w", err)
	}
	if spec.Kind == llm.SpecBuiltin {
		if err := checkModelFile(spec.Path); err != nil {
			return none, llm.Price{}, fmt.Errorf("--model: %w", err)
		}
	}
	if len(o.baseURLs) > 0 {
		switch {
		case spec.Kind != llm.SpecRemote:
			return none, llm.Price{}, errors.New("--base-url needs an http(s)://HOST/v1#MODEL --model (its endpoint is the first one)")
		case o.batch != "":
			return none, llm.Price{}, errors.New("--base-url does not go with --batch (a batch goes to one provider)")
		}
	}
	if len(o.mapping) > 0 {
		if _, err := dataset.CustomSchema(o.mapping); err != nil {
			return none, llm.Price{}, fmt.Errorf("--map: %w", err)
		}
	}
	return spec, price, nil
}

// formatOf reads --format.
func (o *generateOptions) formatOf() (*llm.ResponseFormat, error) {
	switch o.format {
	case "auto", "":
		return nil, nil
	case "task", "schema":
		return &llm.ResponseFormat{Type: generate.FormatTask}, nil
	case "json", "json_object":
		return &llm.ResponseFormat{Type: llm.FormatJSONObject}, nil
	case "text":
		return &llm.ResponseFormat{Type: llm.FormatText}, nil
	}
	b, err := os.ReadFile(o.format)
	if err != nil {
		return nil, fmt.Errorf("--format %q is not auto, task, json, text or a readable schema file: %w", o.format, err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--format file %s is not valid JSON", o.format)
	}
	return &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "response", Schema: b}, nil
}

// plan reads the anchors and builds the plan; every error is the user's
// except a failing download.
func (o *generateOptions) plan(ctx context.Context) (synth.Plan, error) {
	name := o.template
	if name == "" {
		name = "default"
		if o.mode == generate.ModeCompletion {
			name = "completion"
		}
	}
	tmpl, err := synth.TemplateByName(name)
	if err != nil {
		return synth.Plan{}, usageError{fmt.Errorf("--template: %w", err)}
	}
	anchors, _, err := dataset.NewHub().Load(ctx, o.anchors, dataset.ReadOptions{Schema: o.schema, Mapping: o.mapping})
	if err != nil {
		if strings.HasPrefix(o.anchors, "hf://") && !errors.Is(err, os.ErrNotExist) {
			return synth.Plan{}, fmt.Errorf("load anchors: %w", err)
		}
		return synth.Plan{}, usageError{fmt.Errorf("--anchors: %w", err)}
	}
	if len(anchors) == 0 {
		return synth.Plan{}, userErr("--anchors %s holds no records", o.anchors)
	}
	if o.demos > len(anchors) {
		return synth.Plan{}, userErr("--demos %d is more than the %d anchors in %s", o.demos, len(anchors), o.anchors)
	}
	return synth.Plan{
		Template:  tmpl,
		Anchors:   anchors,
		K:         o.demos,
		PerPrompt: o.perPrompt,
		Target:    o.target,
		Conditions: synth.ConditionSpace{
			Topics: o.topics, Styles: o.styles, Personas: o.personas, Lengths: o.lengths,
		},
		Seed: o.seed,
	}, nil
}

// attributeSpace reads --attribute and --attribute-sampling. An empty
// value in a list or file is left out with one line on warn; any other
// problem is the user's mistake.
func (o *generateOptions) attributeSpace(warn io.Writer) (synth.AttributeSpace, error) {
	s := synth.AttributeSpace{Mode: o.attrSampling}
	for _, f := range o.attributes {
		a, err := synth.ParseAttributeFlag(f)
		if errors.Is(err, synth.ErrEmptyValue) {
			fmt.Fprintf(warn, "warning: --%v\n", err)
		} else if err != nil {
			return s, fmt.Errorf("--attribute: %w", err)
		}
		s.Attributes = append(s.Attributes, a)
	}
	if o.attrSampling != "" && len(o.attributes) == 0 {
		return s, errors.New("--attribute-sampling needs at least one --attribute")
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("--attribute: %w", err)
	}
	cond := map[string][]string{"topic": o.topics, "style": o.styles, "persona": o.personas, "length": o.lengths}
	for _, a := range s.Attributes {
		if len(cond[a.Name]) > 0 {
			return s, fmt.Errorf("--attribute %s repeats --%ss; give it once", a.Name, a.Name)
		}
	}
	return s, nil
}

// generateGCPercent is the garbage collector's target while generating,
// unless GOGC is set: a generation holds little live data and spends its
// CPU on short-lived request and answer objects, so a larger target trades
// a little memory for less collection (bench/client.sh measures both).
const generateGCPercent = 400

func runGenerate(cmd *cobra.Command, g *globals, o *generateOptions) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(generateGCPercent)
	}
	spec, price, err := o.check()
	if err != nil {
		return usageError{err}
	}
	if err := g.checkMemory("generate with these flags", generateMemory(o, llm.DefaultWorkers)...); err != nil {
		return err
	}
	format, err := o.formatOf()
	if err != nil {
		return usageError{err}
	}
	attrs, err := o.attributeSpace(logWriter(g))
	if err != nil {
		return usageError{err}
	}
	ctx := cmd.Context()
	plan, err := o.plan(ctx)
	if err != nil {
		return err
	}
	plan.Attributes = attrs
	var eval []dataset.Record
	if o.decontaminate != "" && !o.noCurate {
		if eval, _, err = dataset.ReadFile(o.decontaminate, dataset.ReadOptions{Schema: o.testSchema}); err != nil {
			return usageError{fmt.Errorf("--decontaminate: %w", err)}
		}
	}
	opt := generate.Options{
		Plan:        plan,
		Mode:        o.mode,
		Params:      generate.Params{Temperature: o.temperature, TopP: o.topP, MaxTokens: o.maxTokens, N: o.n},
		Samples:     o.samples,
		Format:      format,
		Concurrency: o.concurrency,
		Price:       price,
		OutDir:      o.out,
		CachePath:   o.cache,
		Curate:      !o.noCurate,
		Eval:        eval,
	}
	if o.dryRun {
		est, err := generate.DryRun(opt, nil, o.show)
		if err != nil {
			return usageError{err}
		}
		if o.json {
			b, err := json.MarshalIndent(est, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s\n", b)
			return err
		}
		fmt.Fprintf(g.stdout, "dry run: nothing sent to %s\n", spec)
		_, err = fmt.Fprint(g.stdout, est.String())
		return err
	}

	mode := llm.ModeChat
	if o.mode == generate.ModeCompletion {
		mode = llm.ModeCompletion
	}
	opened, err := llm.Open(spec, llm.OpenOptions{Workers: o.workers, Threads: o.threads, APIKeyEnv: o.apiKeyEnv, Mode: mode})
	if err != nil {
		if spec.Kind == llm.SpecRemote {
			return usageError{fmt.Errorf("--model: %w", err)}
		}
		return err
	}
	defer opened.Close()
	backend := opened.Backend
	opt.Identity, opt.Model = opened.Identity, spec.Model
	if spec.Kind == llm.SpecBuiltin {
		opt.Model = backend.Models()[0]
	}
	if len(o.baseURLs) > 0 {
		multi, err := llm.OpenEndpoints(backend, spec, o.baseURLs, llm.OpenOptions{APIKeyEnv: o.apiKeyEnv, Mode: mode})
		if err != nil {
			return usageError{fmt.Errorf("--base-url: %w", err)}
		}
		backend, opt.Endpoints = multi, multi
	}
	limited := backend
	if o.concurrencyS == "auto" {
		opt.Adaptive = generate.NewAdaptive(backend, generate.AdaptiveOptions{})
		limited = opt.Adaptive
	}
	opt.Backend = llm.Limited(limited, llm.LimitOptions{
		Concurrency:       o.concurrency,
		RequestsPerMinute: o.rpm,
		TokensPerMinute:   o.tpm,
		Timeout:           o.timeout,
		MaxAttempts:       o.attempts,
		Prices:            map[string]llm.Price{opt.Model: price},
	})
	opt.Progress = newUnitReporter(g.stderr, g.quiet, "requests")
	if o.batch != "" {
		ob, ok := backend.(*llm.OpenAI)
		if !ok {
			return usageError{fmt.Errorf("--batch %s needs an http(s)://HOST/v1#MODEL endpoint as --model", o.batch)}
		}
		var prov batch.Provider = batch.NewOpenAI(ob)
		if o.batch == "anthropic" {
			keyEnv := o.apiKeyEnv
			if keyEnv == llm.DefaultAPIKeyEnv {
				keyEnv = batch.DefaultAnthropicKeyEnv
			}
			prov = batch.NewAnthropic(batch.AnthropicOptions{BaseURL: ob.BaseURL(), Model: spec.Model, APIKeyEnv: keyEnv})
		}
		opt.Batch = &generate.BatchOptions{Provider: prov, Resubmit: o.batchResubmit, Poll: o.batchPoll,
			Limits: batch.Limits{MaxRequests: o.batchMax}}
	}

	opt.GiveUpAfter = o.giveUpAfter
	sum, err := generate.Run(ctx, opt)
	if errors.Is(err, generate.ErrGaveUp) {
		printGenerateSummary(g, o, sum)
		return exitError{code: exitIncomplete, err: fmt.Errorf("%v; the state is saved: run the same command again once it is back", errors.Unwrap(err))}
	}
	if errors.Is(err, generate.ErrOtherRun) {
		return usageError{fmt.Errorf("--out %s holds a run made with other options; use the same options to resume it or a new --out", o.out)}
	}
	if err != nil {
		if sum.Requests > 0 {
			printGenerateSummary(g, o, sum)
		}
		return err
	}
	if o.json {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s\n", b)
	} else {
		printGenerateSummary(g, o, sum)
	}
	if !sum.Complete && sum.Batch != nil && sum.Failures["batch"] > 0 {
		return exitError{code: exitIncomplete, err: fmt.Errorf("%d of %d requests got no answer from their batch (%v); run the same command with --batch-resubmit to send them again", sum.Failed, sum.Requests, sum.Failures)}
	}
	if !sum.Complete {
		return exitError{code: exitIncomplete, err: fmt.Errorf("%d of %d requests failed after their retries (%s); run the same command again to retry them", sum.Failed, sum.Requests, counts(sum.Failures))}
	}
	return nil
}

// printGenerateSummary writes the human summary of a run on stdout.
func printGenerateSummary(g *globals, o *generateOptions, s generate.Summary) {
	w := g.stdout
	fmt.Fprintf(w, "requests: %d of %d done (%d resumed, %d sent, %d from the cache), %d failed\n",
		s.Done, s.Requests, s.Resumed, s.Fetched, s.CacheHits, s.Failed)
	fmt.Fprintf(w, "records: %d, rejects: %d", s.Records, s.Rejects)
	if len(s.RejectReasons) > 0 {
		fmt.Fprintf(w, " (%s)", counts(s.RejectReasons))
	}
	fmt.Fprintln(w)
	if s.Complete && !o.noCurate {
		fmt.Fprintf(w, "curated: kept %d, removed %d\n", s.Curated, s.Removed)
	}
	fmt.Fprintf(w, "tokens: %d in, %d out; cost %.4f (this run %.4f); %.1f s\n",
		s.PromptTokens, s.CompletionTokens, s.Cost, s.FetchedCost, s.Seconds)
	if s.PossiblyBilled > 0 {
		fmt.Fprintf(w, "possibly billed: %d requests were in flight when a run was killed (input about %.4f; see %s)\n",
			s.PossiblyBilled, s.PossiblyBilledCost, generate.FilePossiblyBilled)
	}
	if s.FormatIgnored {
		fmt.Fprintln(w, "note: the endpoint ignores response_format (its first answers were not JSON); later requests were sent without it and answers parsed as free text")
	} else if s.FormatRefused {
		fmt.Fprintln(w, "note: the endpoint refused the response format; answers were parsed as free text")
	}
	for _, e := range s.Endpoints {
		state := ""
		if e.Down {
			state = " (down at the end)"
		}
		fmt.Fprintf(w, "endpoint %s: %d answered, %d failed and moved on%s\n", e.Name, e.Done, e.Failed, state)
	}
	if b := s.Batch; b != nil {
		fmt.Fprintf(w, "batch %s: %d batches created (%d requests, %d resubmitted), %d resumed; %d answers stored, %d without answer\n",
			b.Provider, b.Created, b.Submitted, b.Resubmitted, b.Resumed, b.Answered, b.Failed)
		for _, n := range b.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	for _, e := range s.Errors {
		fmt.Fprintf(w, "failed: %s\n", e)
	}
	fmt.Fprintf(w, "→ %s\n", s.OutDir)
}

// validConcurrency parses a numeric --concurrency into o.concurrency.
func validConcurrency(o *generateOptions) bool {
	n, err := strconv.Atoi(o.concurrencyS)
	o.concurrency = n
	return err == nil && n >= 1
}
