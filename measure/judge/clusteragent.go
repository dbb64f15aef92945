package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"

	"github.com/ggmi-dev/ggmi/internal/jsonx"
	"github.com/ggmi-dev/ggmi/internal/stats"
	"github.com/ggmi-dev/ggmi/measure"
)

// LLM Cluster-agent (NOTES §5; the diversity paper, arXiv 2410.15226,
// Sec. 2.1 and App. B–D). The pipeline:
//
//  1. Metadata and metric generation: M rounds; each shows J random texts
//     and asks for 3–5 metadata (categorical properties) and 3–5 metrics
//     (qualities scored 1–5), each with a definition.
//  2. Summaries: a metadata-summary and a metric-summary request merge the
//     proposals of all rounds into general definitions. When the proposals
//     do not fit one context window they are merged chunk by chunk and the
//     merged lists merged again until one list remains. A criteria request
//     then turns each summary into one sentence: the clustering criteria.
//  3. Clustering: N rounds; each shows K random texts and the criteria and
//     asks for JSON {"clusters":[{"cluster", "sample_indices",
//     "uniqueness_reasoning", "cluster_metadata", "cluster_metrics"}]}, with
//     single-text clusters listed too.
//  4. Self-verification: the clusters of more than one text are judged
//     ({"verdicts":[{"cluster", "valid", "reasoning"}]}); single-text
//     clusters are always valid; invalid clusters are dropped.
//  5. The score 𝒟 = (1/N) Σ_i 𝒞_i/𝒮_i over the rounds, with 𝒞_i the number
//     of verified clusters of round i and 𝒮_i the "number of samples per
//     cluster", which the paper leaves undefined (see SizeDefinition).
//
// The prompts are ggmi's own, written in the spirit of the paper's. Texts
// are shown with their white space folded to single spaces and truncated
// so that every prompt fits the model's context window next to the answer;
// when even short texts do not fit, brief instructions without the JSON
// example replace the full ones (they rely on the schema; small models such
// as the 512-token stories260K need them). The K texts of a clustering round
// are always shown in one prompt (splitting them would change what is
// clustered); only the metadata and metric proposals, which grow with M,
// are merged in chunks.
//
// Schemas are sent with Strict false: they use maxLength, minimum and
// maxItems, which some servers' strict modes refuse.

// SizeDefinition chooses 𝒮_i in 𝒟 = (1/N) Σ_i 𝒞_i/𝒮_i. The paper reports
// 5.12 at K = 5, above what any reading bounded by K allows, so none of
// these reproduces its scale; Result.Settings["by_definition"] reports all
// of them. With n_i the number of texts in the verified clusters of
// round i:
type SizeDefinition string

const (
	// SizeMean: 𝒮_i = n_i/𝒞_i, the mean cluster size, so a round scores
	// 𝒞_i²/n_i ∈ (0, K] (the default: the literal "samples per cluster").
	SizeMean SizeDefinition = "mean-size"
	// SizeSamples: 𝒮_i = n_i, so a round scores the fraction 𝒞_i/n_i ∈ (0, 1].
	SizeSamples SizeDefinition = "samples"
	// SizeMax: 𝒮_i is the size of the largest cluster.
	SizeMax SizeDefinition = "max-size"
	// SizeOne: 𝒮_i = 1, so 𝒟 is the mean number of clusters per round.
	SizeOne SizeDefinition = "clusters"
)

// SizeDefinitions lists the definitions of 𝒮_i in a stable order.
var SizeDefinitions = []SizeDefinition{SizeMean, SizeSamples, SizeMax, SizeOne}

// ClusterAgentOptions configure the Cluster-agent. Zero values take the
// defaults in brackets; the paper's values are noted where they differ.
type ClusterAgentOptions struct {
	// Model names the model (Request.Model); empty lets the backend choose.
	Model string

	// MetadataSamples is J, the texts shown per metadata round [5].
	MetadataSamples int
	// MetadataRounds is M, the number of metadata rounds [20; paper 100].
	MetadataRounds int
	// MinAttributes and MaxAttributes bound the metadata and the metrics
	// asked for per round [3 and 5, the paper's].
	MinAttributes, MaxAttributes int
	// SummaryItems caps the merged metadata and metrics of a summary [8].
	SummaryItems int

	// K is the number of texts per clustering round [10] (all texts when
	// fewer).
	K int
	// Repetitions is N, the number of clustering rounds [100; paper 5,000].
	Repetitions int
	// NoVerify skips self-verification (the paper's ablation).
	NoVerify bool
	// ClusterOnly skips stages 1–2 and clusters by a generic instruction
	// (the paper's "clustering only" ablation).
	ClusterOnly bool
	// Criteria, when not empty, are used as the clustering criteria and
	// stages 1–2 are skipped.
	Criteria []string

	// Size chooses 𝒮_i [SizeMean]; Settings report 𝒟 under every definition.
	Size SizeDefinition
	// InvalidAsSingletons counts the texts of clusters rejected by the
	// verifier as single-text clusters instead of dropping them.
	InvalidAsSingletons bool

	// Temperature of every request [0, greedy]; attempts after an answer
	// that did not parse sample at 0.7 at least.
	Temperature float64
	// Seed drives the choice of texts and the request seeds.
	Seed uint64
	// Concurrency is the number of rounds in flight [4]; results do not
	// depend on it.
	Concurrency int
	// Retries is the number of extra attempts when an answer does not
	// parse [2]; negative means none.
	Retries int

	// MaxSampleChars truncates each text shown [1,500]; prompts are
	// shortened further when they do not fit the context window.
	MaxSampleChars int
	// MaxFieldChars caps the free-text fields of the answers (schema
	// maxLength) [200].
	MaxFieldChars int
	// MaxTokens caps every answer [1,024], at most half the context window.
	MaxTokens int
	// ContextTokens is the model's context window; 0 asks the backend (a
	// ContextLength method on it or on a backend it wraps), and when none
	// is known, prompts are only shortened after the backend reports a
	// too-long context.
	ContextTokens int
	// CharsPerToken estimates prompt tokens when the backend cannot count
	// them [3].
	CharsPerToken float64
	// Progress receives the stages "cluster-agent metadata" (M rounds) and
	// "cluster-agent clustering" (N rounds); nil is quiet.
	Progress progress.Reporter
}

func (o ClusterAgentOptions) withDefaults() (ClusterAgentOptions, error) {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.MetadataSamples, 5)
	def(&o.MetadataRounds, 20)
	def(&o.SummaryItems, 8)
	def(&o.MinAttributes, 3)
	def(&o.MaxAttributes, 5)
	def(&o.K, 10)
	def(&o.Repetitions, 100)
	def(&o.Concurrency, 4)
	def(&o.Retries, 2)
	def(&o.MaxSampleChars, 1500)
	def(&o.MaxFieldChars, 200)
	def(&o.MaxTokens, 1024)
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Size == "" {
		o.Size = SizeMean
	}
	switch {
	case !slices.Contains(SizeDefinitions, o.Size):
		return o, fmt.Errorf("measure: unknown size definition %q (want one of %v)", o.Size, SizeDefinitions)
	case o.MetadataSamples < 1 || o.MetadataRounds < 1 || o.SummaryItems < 1:
		return o, errors.New("measure: metadata samples, rounds and summary items must be positive")
	case o.MinAttributes < 1 || o.MaxAttributes < o.MinAttributes:
		return o, fmt.Errorf("measure: invalid attribute bounds %d..%d", o.MinAttributes, o.MaxAttributes)
	case o.K < 2 || o.Repetitions < 1:
		return o, fmt.Errorf("measure: K must be at least 2 and repetitions positive (got %d, %d)", o.K, o.Repetitions)
	case o.Concurrency < 1 || o.MaxSampleChars < minItemChars || o.MaxFieldChars < 1 || o.MaxTokens < 1:
		return o, errors.New("measure: concurrency, sample and field lengths and max tokens must be positive")
	case math.IsNaN(o.Temperature) || o.Temperature < 0:
		return o, fmt.Errorf("measure: invalid temperature %g", o.Temperature)
	}
	return o, nil
}

// Attribute is a metadata field or a metric with its definition.
type Attribute struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// ClusterCriteria are the clustering criteria and the summaries they come
// from.
type ClusterCriteria struct {
	Metadata []Attribute // merged metadata definitions
	Metrics  []Attribute // merged metric definitions (scored 1–5)
	// Sentences are the criteria shown to the clustering requests.
	Sentences []string
	// MetadataRounds counts the metadata rounds whose answer parsed.
	MetadataRounds int
	// SummaryCalls counts the summary requests (more than two when the
	// proposals were merged chunk by chunk).
	SummaryCalls int
}

// ClusterRepairs counts the corrections made to cluster and verification
// answers.
type ClusterRepairs struct {
	OutOfRange        int // sample numbers outside 1..K, dropped
	Duplicates        int // texts listed again in a later cluster, removed there
	Missing           int // texts in no cluster, added as single-text clusters
	EmptyClusters     int // clusters left without texts, removed
	MissingVerdicts   int // multi-text clusters the verifier did not judge (kept)
	UnknownVerdicts   int // verdicts for clusters that were not asked about (ignored)
	DuplicateVerdicts int // second verdicts for a cluster (ignored)
}

func (r *ClusterRepairs) add(o ClusterRepairs) {
	r.OutOfRange += o.OutOfRange
	r.Duplicates += o.Duplicates
	r.Missing += o.Missing
	r.EmptyClusters += o.EmptyClusters
	r.MissingVerdicts += o.MissingVerdicts
	r.UnknownVerdicts += o.UnknownVerdicts
	r.DuplicateVerdicts += o.DuplicateVerdicts
}

// Total is the number of repairs.
func (r ClusterRepairs) Total() int {
	return r.OutOfRange + r.Duplicates + r.Missing + r.EmptyClusters + r.MissingVerdicts + r.UnknownVerdicts + r.DuplicateVerdicts
}

func (r ClusterRepairs) settings() map[string]any {
	return map[string]any{"out_of_range": r.OutOfRange, "duplicates": r.Duplicates, "missing": r.Missing,
		"empty_clusters": r.EmptyClusters, "missing_verdicts": r.MissingVerdicts,
		"unknown_verdicts": r.UnknownVerdicts, "duplicate_verdicts": r.DuplicateVerdicts, "total": r.Total()}
}

// ClusterRound is one clustering round.
type ClusterRound struct {
	// Samples are the indices (into the texts) of the texts shown, in
	// prompt order: sample number i+1 is Samples[i].
	Samples []int
	// Clusters are the verified clusters, as indices into the texts.
	Clusters [][]int
	// Rejected are the clusters the verifier judged invalid.
	Rejected [][]int
	// Repairs counts the corrections of this round's answers.
	Repairs ClusterRepairs
	// Failed says why the round has no clustering ("" when it has one);
	// failed rounds do not enter 𝒟.
	Failed string
}

// ClusterAgent runs the Cluster-agent pipeline on an llm.Backend. Wrap the
// backend with llm.Cached so that every request is paid for once (every
// request is reproducible: explicit seeds and sample indices). It is safe
// for concurrent use.
type ClusterAgent struct {
	c   *llmCaller
	opt ClusterAgentOptions
}

// NewClusterAgent returns a Cluster-agent on b.
func NewClusterAgent(b llm.Backend, opt ClusterAgentOptions) (*ClusterAgent, error) {
	o, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := newLLMCaller(b, o.Model, o.ContextTokens, o.CharsPerToken)
	if err != nil {
		return nil, err
	}
	return &ClusterAgent{c: c, opt: o}, nil
}

// Stats returns the request counters so far.
func (a *ClusterAgent) Stats() LLMCallStats { return a.c.stats() }

// ClusterAgentDiversity measures the diversity 𝒟 of texts with a
// Cluster-agent on b (see NewClusterAgent and ClusterAgent.Measure).
func ClusterAgentDiversity(ctx context.Context, b llm.Backend, texts []string, opt ClusterAgentOptions) (measure.Result, error) {
	a, err := NewClusterAgent(b, opt)
	if err != nil {
		return measure.Result{}, err
	}
	return a.Measure(ctx, texts)
}

// Measure runs the whole pipeline on texts and returns 𝒟 (Name
// "cluster-agent") with a 95% Student-t interval over the rounds.
// Settings hold the options, the criteria, the per-round values, 𝒟 under
// every size definition, the repairs and the request counters.
func (a *ClusterAgent) Measure(ctx context.Context, texts []string) (measure.Result, error) {
	if err := checkTexts(texts, 2); err != nil {
		return measure.Result{}, err
	}
	crit, err := a.Criteria(ctx, texts)
	if err != nil {
		return measure.Result{}, err
	}
	rounds, err := a.Rounds(ctx, texts, crit.Sentences)
	if err != nil {
		return measure.Result{}, err
	}
	vals, err := ClusterAgentScores(rounds, a.opt.Size, a.opt.InvalidAsSingletons)
	if err != nil {
		return measure.Result{}, err
	}
	o := a.opt
	set := map[string]any{
		"model": o.Model, "j": o.MetadataSamples, "m": o.MetadataRounds, "k": o.K, "repetitions": o.Repetitions,
		"verify": !o.NoVerify, "cluster_only": o.ClusterOnly, "size_definition": string(o.Size),
		"invalid_as_singletons": o.InvalidAsSingletons, "temperature": o.Temperature, "seed": o.Seed,
		"criteria": crit.Sentences, "metadata": crit.Metadata, "metrics": crit.Metrics,
		"metadata_rounds_parsed": crit.MetadataRounds, "summary_calls": crit.SummaryCalls,
		"per_round": vals, "rounds_used": len(vals),
	}
	byDef := map[string]float64{}
	for _, d := range SizeDefinitions {
		v, err := ClusterAgentScores(rounds, d, o.InvalidAsSingletons)
		if err != nil {
			return measure.Result{}, err
		}
		byDef[string(d)] = meanOf(v)
	}
	set["by_definition"] = byDef
	var rep ClusterRepairs
	failed, clusters, rejected := 0, 0, 0
	for _, r := range rounds {
		rep.add(r.Repairs)
		if r.Failed != "" {
			failed++
		}
		clusters += len(r.Clusters)
		rejected += len(r.Rejected)
	}
	set["repairs"], set["failed_rounds"], set["clusters"], set["rejected_clusters"] = rep.settings(), failed, clusters, rejected
	set["requests"] = a.Stats().settings()
	return measure.Result{Name: "cluster-agent", Value: meanOf(vals), CI95: tCI95(vals), N: len(texts), Settings: set}, nil
}

// ClusterAgentScores returns the per-round values 𝒞_i/𝒮_i of the rounds
// that did not fail (𝒟 is their mean). A round without a verified cluster
// scores 0. With invalidAsSingletons the texts of rejected clusters count as
// single-text clusters.
func ClusterAgentScores(rounds []ClusterRound, def SizeDefinition, invalidAsSingletons bool) ([]float64, error) {
	if !slices.Contains(SizeDefinitions, def) {
		return nil, fmt.Errorf("measure: unknown size definition %q", def)
	}
	var out []float64
	for _, r := range rounds {
		if r.Failed != "" {
			continue
		}
		var sizes []int
		for _, c := range r.Clusters {
			sizes = append(sizes, len(c))
		}
		if invalidAsSingletons {
			for _, c := range r.Rejected {
				for range c {
					sizes = append(sizes, 1)
				}
			}
		}
		c, n, big := 0, 0, 0
		for _, s := range sizes {
			if s > 0 {
				c++
				n += s
				big = max(big, s)
			}
		}
		if c == 0 {
			out = append(out, 0)
			continue
		}
		var s float64
		switch def {
		case SizeMean:
			s = float64(n) / float64(c)
		case SizeSamples:
			s = float64(n)
		case SizeMax:
			s = float64(big)
		case SizeOne:
			s = 1
		}
		out = append(out, float64(c)/s)
	}
	if len(out) == 0 {
		return nil, errors.New("measure: every clustering round failed")
	}
	return out, nil
}

// checkTexts rejects an empty sample or one of fewer than minN texts.
func checkTexts(texts []string, minN int) error {
	switch {
	case len(texts) == 0:
		return errors.New("measure: no texts")
	case len(texts) < minN:
		return fmt.Errorf("measure: %d texts, need at least %d", len(texts), minN)
	}
	return nil
}

func meanOf(v []float64) float64 { return stats.Mean(v) }

// tCI95 is the 95% Student-t interval of the mean of v ([NaN, NaN] for
// fewer than two values).
func tCI95(v []float64) measure.Interval {
	_, ci := stats.TInterval95(v)
	return ci
}

// forEach runs fn(i) for i in [0, n) on at most workers goroutines and
// returns the error of the lowest index; later indices are skipped once an
// error occurred.
func parallelFor(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					continue
				}
				if errs[i] = fn(ctx, i); errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var first error
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			return e
		}
		if e != nil && first == nil {
			first = e
		}
	}
	return first
}

// pickSamples draws k distinct indices of [0, n) (all of them, shuffled,
// when k ≥ n) from the stream (seed, stream).
func pickSamples(n, k int, seed, stream uint64) []int {
	rng := rand.New(rand.NewPCG(seed, stream))
	p := rng.Perm(n)
	return p[:min(k, n)]
}

// numbered lists texts as "[1] …" lines, each folded and clipped to limit
// bytes.
func numberedTexts(texts []string, idx []int, limit int) string {
	var b strings.Builder
	for i, j := range idx {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, clipText(foldSpace(texts[j]), limit))
	}
	return b.String()
}

// attributeList lists attributes as "- name: definition" lines, each
// clipped to limit bytes.
func attributeList(items []Attribute, limit int) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "- %s\n", clipText(foldSpace(it.Name+": "+it.Definition), limit))
	}
	return b.String()
}

// briefMsgs is a single user message with the brief instructions.
func briefMsgs(user string) []llm.Message { return []llm.Message{{Role: llm.RoleUser, Content: user}} }

func chatMsgs(system, user string) []llm.Message {
	return []llm.Message{{Role: llm.RoleSystem, Content: system}, {Role: llm.RoleUser, Content: user}}
}

const agentSystem = "You are a careful data analyst who studies how varied a collection of texts is. You answer with JSON only."

func mustSchema(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // schemas are built from plain maps
	}
	return b
}

func strSchema(maxLen int) map[string]any {
	return map[string]any{"type": "string", "maxLength": maxLen}
}

func objSchema(props map[string]any) map[string]any {
	req := make([]string, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	slices.Sort(req)
	return map[string]any{"type": "object", "properties": props, "required": req, "additionalProperties": false}
}

func arrSchema(items map[string]any, lo, hi int) map[string]any {
	return map[string]any{"type": "array", "items": items, "minItems": lo, "maxItems": hi}
}

func (a *ClusterAgent) attrSchema(lo, hi int) map[string]any {
	name := 48
	return arrSchema(objSchema(map[string]any{"name": strSchema(min(name, a.opt.MaxFieldChars)), "definition": strSchema(a.opt.MaxFieldChars)}), lo, hi)
}

// attributesOut is a metadata answer or a summary answer.
type attributesOut struct {
	Metadata []Attribute
	Metrics  []Attribute
	Items    []Attribute
}

func (o *attributesOut) UnmarshalJSON(b []byte) error {
	m, err := normObject(b)
	if err != nil {
		return err
	}
	get := func(keys ...string) ([]Attribute, error) {
		raw, ok := pickKey(m, keys...)
		if !ok {
			return nil, nil
		}
		return decodeAttributes(raw)
	}
	if o.Metadata, err = get("metadata", "metadatafields", "fields"); err != nil {
		return err
	}
	if o.Metrics, err = get("metrics", "metric"); err != nil {
		return err
	}
	o.Items, err = get("items", "merged", "definitions")
	return err
}

// decodeAttributes accepts [{"name", "definition"}], ["name: definition"]
// and {"name": "definition"}.
func decodeAttributes(raw json.RawMessage) ([]Attribute, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		var obj map[string]flexText
		if err2 := json.Unmarshal(raw, &obj); err2 != nil {
			return nil, err
		}
		var out []Attribute
		for k, v := range obj {
			out = append(out, Attribute{Name: k, Definition: string(v)})
		}
		slices.SortFunc(out, func(x, y Attribute) int { return strings.Compare(x.Name, y.Name) })
		return out, nil
	}
	var out []Attribute
	for _, it := range list {
		var s string
		if json.Unmarshal(it, &s) == nil {
			name, def, _ := strings.Cut(s, ":")
			out = append(out, Attribute{Name: strings.TrimSpace(name), Definition: strings.TrimSpace(def)})
			continue
		}
		m, err := normObject(it)
		if err != nil {
			return nil, err
		}
		var at Attribute
		if v, ok := pickKey(m, "name", "field", "metric", "metadata", "title"); ok {
			var t flexText
			if err := json.Unmarshal(v, &t); err != nil {
				return nil, err
			}
			at.Name = string(t)
		}
		if v, ok := pickKey(m, "definition", "description", "meaning", "def"); ok {
			var t flexText
			if err := json.Unmarshal(v, &t); err != nil {
				return nil, err
			}
			at.Definition = string(t)
		}
		out = append(out, at)
	}
	return out, nil
}

// cleanAttributes trims, drops nameless entries and caps the list.
func cleanAttributes(in []Attribute, maxN int) []Attribute {
	var out []Attribute
	for _, at := range in {
		at.Name, at.Definition = foldSpace(at.Name), foldSpace(at.Definition)
		if at.Name == "" && at.Definition == "" {
			continue
		}
		out = append(out, at)
		if len(out) == maxN {
			break
		}
	}
	return out
}

// Criteria runs stages 1 and 2 (or returns the configured criteria).
func (a *ClusterAgent) Criteria(ctx context.Context, texts []string) (ClusterCriteria, error) {
	if len(a.opt.Criteria) > 0 {
		return ClusterCriteria{Sentences: slices.Clone(a.opt.Criteria)}, nil
	}
	if a.opt.ClusterOnly {
		return ClusterCriteria{}, nil
	}
	if err := checkTexts(texts, 1); err != nil {
		return ClusterCriteria{}, err
	}
	o := a.opt
	type round struct {
		meta, metrics []Attribute
		ok            bool
	}
	rounds := make([]round, o.MetadataRounds)
	lo, hi := o.MinAttributes, o.MaxAttributes
	schema := mustSchema(objSchema(map[string]any{"metadata": a.attrSchema(lo, hi), "metrics": a.attrSchema(lo, hi)}))
	pr := progress.OrNop(o.Progress)
	pr.Start("cluster-agent metadata", o.MetadataRounds)
	err := parallelFor(ctx, o.MetadataRounds, o.Concurrency, func(ctx context.Context, r int) error {
		defer pr.Add(1)
		idx := pickSamples(len(texts), o.MetadataSamples, o.Seed, stageSeed("metadata")+uint64(r))
		var out attributesOut
		_, err := a.c.call(ctx, jsonCall{
			stage: "cluster_agent_metadata", schema: schema, limit: o.MaxSampleChars,
			maxTokens: o.MaxTokens, temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("metadata"), uint64(r)),
			attempts: 1 + o.Retries,
			build: func(limit int, brief bool) []llm.Message {
				if brief {
					return briefMsgs(fmt.Sprintf("Texts:\n%sName %d-%d metadata fields and %d-%d metrics (scored 1-5) that tell such texts apart, each with a definition.",
						numberedTexts(texts, idx, limit), lo, hi, lo, hi))
				}
				return chatMsgs(agentSystem, fmt.Sprintf("Here are %d texts drawn at random from one data set:\n%s\n"+
					"Propose %d to %d metadata fields (categorical properties such as topic, task type, genre, tone or audience) and "+
					"%d to %d metrics (qualities a reader could score from 1 to 5, such as difficulty, specificity or creativity) "+
					"that would best tell the texts of this data set apart. Give each a short name and a one-line definition.\n"+
					`Answer with JSON: {"metadata": [{"name": "...", "definition": "..."}], "metrics": [{"name": "...", "definition": "..."}]}`,
					len(idx), numberedTexts(texts, idx, limit), lo, hi, lo, hi))
			},
			parse: func(text string) error {
				v, err := jsonx.DecodeFirst(text, func(v *attributesOut) error {
					if len(cleanAttributes(v.Metadata, hi))+len(cleanAttributes(v.Metrics, hi)) == 0 {
						return errors.New("no metadata or metrics")
					}
					return nil
				})
				out = v
				return err
			},
		})
		if errors.Is(err, errUnparsed) {
			return nil // the round is skipped
		}
		if err != nil {
			return fmt.Errorf("measure: cluster-agent: metadata round %d: %w", r, err)
		}
		rounds[r] = round{cleanAttributes(out.Metadata, hi), cleanAttributes(out.Metrics, hi), true}
		return nil
	})
	pr.Done()
	if err != nil {
		return ClusterCriteria{}, err
	}
	var crit ClusterCriteria
	var meta, metrics []Attribute
	for _, r := range rounds {
		if r.ok {
			crit.MetadataRounds++
			meta = append(meta, r.meta...)
			metrics = append(metrics, r.metrics...)
		}
	}
	if crit.MetadataRounds == 0 {
		return crit, fmt.Errorf("measure: cluster-agent: no metadata round gave a usable answer (%d rounds)", o.MetadataRounds)
	}
	kinds := []struct {
		name, what string
		items      []Attribute
		dst        *[]Attribute
	}{
		{"metadata", "metadata fields (categorical properties of a text)", meta, &crit.Metadata},
		{"metrics", "metrics (qualities of a text scored from 1 to 5)", metrics, &crit.Metrics},
	}
	for _, k := range kinds {
		merged, calls, err := a.summarize(ctx, k.name, k.what, k.items)
		if err != nil {
			return crit, err
		}
		crit.SummaryCalls += calls
		*k.dst = merged
	}
	for _, k := range kinds {
		if len(*k.dst) == 0 {
			continue
		}
		s, err := a.criterion(ctx, k.name, k.what, *k.dst)
		if err != nil {
			return crit, err
		}
		if s != "" {
			crit.Sentences = append(crit.Sentences, s)
		}
	}
	return crit, nil
}

// summarize merges attribute proposals into at most SummaryItems general
// definitions, chunk by chunk when they do not fit one prompt, and returns
// the number of requests made.
func (a *ClusterAgent) summarize(ctx context.Context, name, what string, items []Attribute) ([]Attribute, int, error) {
	o := a.opt
	items = dedupAttributes(items)
	if len(items) == 0 {
		return nil, 0, nil
	}
	schema := mustSchema(objSchema(map[string]any{"items": a.attrSchema(1, o.SummaryItems)}))
	maxTokens := a.c.answerTokens(o.MaxTokens)
	prompt := func(chunk []Attribute, limit int, brief bool) []llm.Message {
		if brief {
			return briefMsgs(fmt.Sprintf("Proposed %s:\n%sMerge them into at most %d general ones, each with a definition.",
				name, attributeList(chunk, limit), o.SummaryItems))
		}
		return chatMsgs(agentSystem, fmt.Sprintf("Analysts looking at different samples of one data set proposed these %s; many overlap:\n%s\n"+
			"Merge duplicates and near-duplicates and keep the ones that apply across the whole data set: at most %d, "+
			"each with a general one-line definition.\n"+`Answer with JSON: {"items": [{"name": "...", "definition": "..."}]}`,
			what, attributeList(chunk, limit), o.SummaryItems))
	}
	limit := min(o.MaxSampleChars, 300)
	calls := 0
	for level := 0; ; level++ {
		if level > 12 {
			return nil, calls, fmt.Errorf("measure: cluster-agent: %s summary does not converge", name)
		}
		brief := len(items) > 1 && !a.c.fits(prompt(items[:2], min(limit, fullFloor), false), maxTokens)
		chunks, err := a.pack(items, limit, maxTokens, func(c []Attribute, l int) []llm.Message { return prompt(c, l, brief) })
		if err != nil {
			return nil, calls, fmt.Errorf("measure: cluster-agent: %s summary: %w", name, err)
		}
		merged := make([][]Attribute, len(chunks))
		err = parallelFor(ctx, len(chunks), o.Concurrency, func(ctx context.Context, ci int) error {
			chunk := chunks[ci]
			var out attributesOut
			_, err := a.c.call(ctx, jsonCall{
				stage: "cluster_agent_summary", schema: schema, limit: limit, maxTokens: o.MaxTokens,
				temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("summary-"+name), uint64(level), uint64(ci)),
				attempts: 1 + o.Retries,
				build:    func(l int, brief bool) []llm.Message { return prompt(chunk, l, brief) },
				parse: func(text string) error {
					v, err := jsonx.DecodeFirst(text, func(v *attributesOut) error {
						if len(cleanAttributes(v.Items, o.SummaryItems)) == 0 {
							return errors.New("no merged items")
						}
						return nil
					})
					out = v
					return err
				},
			})
			switch {
			case errors.Is(err, errUnparsed):
				merged[ci] = chunk[:min(len(chunk), o.SummaryItems)] // keep the first proposals unmerged
			case err != nil:
				return err
			default:
				merged[ci] = cleanAttributes(out.Items, o.SummaryItems)
			}
			return nil
		})
		calls += len(chunks)
		if err != nil {
			return nil, calls, fmt.Errorf("measure: cluster-agent: %s summary: %w", name, err)
		}
		var next []Attribute
		for _, m := range merged {
			next = append(next, m...)
		}
		next = dedupAttributes(next)
		if len(chunks) == 1 {
			return next, calls, nil
		}
		if len(next) >= len(items) {
			limit = max(limit/2, minItemChars) // no progress: show shorter items so more fit a chunk
		}
		items = next
	}
}

// pack splits items into consecutive chunks whose prompt fits the context
// window; a chunk holds at least two items when there are two.
func (a *ClusterAgent) pack(items []Attribute, limit, maxTokens int, prompt func([]Attribute, int) []llm.Message) ([][]Attribute, error) {
	var chunks [][]Attribute
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && a.c.fits(prompt(items[start:end+1], limit), maxTokens) {
			end++
		}
		if end == start+1 && end < len(items) && !a.c.fits(prompt(items[start:end+1], limit), maxTokens) {
			if limit > minItemChars {
				return a.pack(items, max(limit/2, minItemChars), maxTokens, prompt)
			}
			if !a.c.fits(prompt(items[start:end], limit), maxTokens) {
				return nil, errors.New("one proposal does not fit the context window")
			}
		}
		chunks = append(chunks, items[start:end])
		start = end
	}
	return chunks, nil
}

func dedupAttributes(in []Attribute) []Attribute {
	seen := map[string]bool{}
	var out []Attribute
	for _, at := range in {
		k := normKey(at.Name) + "\x00" + normKey(at.Definition)
		if !seen[k] {
			seen[k] = true
			out = append(out, at)
		}
	}
	return out
}

// criterionOut is the answer of a criteria request.
type criterionOut struct{ Criterion string }

func (o *criterionOut) UnmarshalJSON(b []byte) error {
	m, err := normObject(b)
	if err != nil {
		return err
	}
	if v, ok := pickKey(m, "criterion", "criteria", "sentence", "rule"); ok {
		var t flexText
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		o.Criterion = foldSpace(string(t))
	}
	return nil
}

// criterion turns a summary into one sentence.
func (a *ClusterAgent) criterion(ctx context.Context, name, what string, items []Attribute) (string, error) {
	o := a.opt
	var out criterionOut
	schema := mustSchema(objSchema(map[string]any{"criterion": strSchema(2 * o.MaxFieldChars)}))
	_, err := a.c.call(ctx, jsonCall{
		stage: "cluster_agent_criterion", schema: schema, limit: min(o.MaxSampleChars, 300), maxTokens: o.MaxTokens,
		temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("criterion-"+name)), attempts: 1 + o.Retries,
		build: func(limit int, brief bool) []llm.Message {
			if brief {
				return briefMsgs(fmt.Sprintf("%s:\n%sIn one sentence: when do two texts belong together?", name, attributeList(items, limit)))
			}
			return chatMsgs(agentSystem, fmt.Sprintf("These %s describe a data set:\n%s\n"+
				"Write one sentence that tells an annotator how to decide, using them, whether two texts of the data set belong in the same group.\n"+
				`Answer with JSON: {"criterion": "..."}`, what, attributeList(items, limit)))
		},
		parse: func(text string) error {
			v, err := jsonx.DecodeFirst(text, func(v *criterionOut) error {
				if v.Criterion == "" {
					return errors.New("empty criterion")
				}
				return nil
			})
			out = v
			return err
		},
	})
	if errors.Is(err, errUnparsed) {
		// Fall back on the summary itself as the criterion.
		var names []string
		for _, it := range items {
			names = append(names, it.Name)
		}
		return "Texts belong together when they agree on: " + strings.Join(names, ", ") + ".", nil
	}
	if err != nil {
		return "", fmt.Errorf("measure: cluster-agent: %s criterion: %w", name, err)
	}
	return out.Criterion, nil
}

// clusterItem is one cluster of a clustering answer.
type clusterItem struct {
	ID      int
	Samples []int
}

func (c *clusterItem) UnmarshalJSON(b []byte) error {
	m, err := normObject(b)
	if err != nil {
		return err
	}
	if v, ok := pickKey(m, "cluster", "clusterid", "id", "group"); ok {
		var id flexInt
		if json.Unmarshal(v, &id) == nil {
			c.ID = int(id)
		}
	}
	v, ok := pickKey(m, "sampleindices", "samples", "indices", "sampleids", "members", "texts", "items")
	if !ok {
		return errors.New("cluster without sample indices")
	}
	var s flexInts
	if err := json.Unmarshal(v, &s); err != nil {
		return err
	}
	c.Samples = s
	return nil
}

// clustersOut is a clustering answer: {"clusters": [...]} or a bare list.
type clustersOut struct{ Clusters []clusterItem }

func (o *clustersOut) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") {
		return json.Unmarshal(b, &o.Clusters)
	}
	m, err := normObject(b)
	if err != nil {
		return err
	}
	v, ok := pickKey(m, "clusters", "groups")
	if !ok {
		return errors.New("no clusters")
	}
	return json.Unmarshal(v, &o.Clusters)
}

// verdictItem is one verdict of a verification answer.
type verdictItem struct {
	Cluster int
	Valid   bool
}

func (v *verdictItem) UnmarshalJSON(b []byte) error {
	m, err := normObject(b)
	if err != nil {
		return err
	}
	c, ok := pickKey(m, "cluster", "clusterid", "id", "group")
	if !ok {
		return errors.New("verdict without cluster")
	}
	var id flexInt
	if err := json.Unmarshal(c, &id); err != nil {
		return err
	}
	val, ok := pickKey(m, "valid", "isvalid", "verdict")
	if !ok {
		return errors.New("verdict without validity")
	}
	var fb flexBool
	if err := json.Unmarshal(val, &fb); err != nil {
		return err
	}
	v.Cluster, v.Valid = int(id), bool(fb)
	return nil
}

// verdictsOut is a verification answer.
type verdictsOut struct{ Verdicts []verdictItem }

func (o *verdictsOut) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") {
		return json.Unmarshal(b, &o.Verdicts)
	}
	m, err := normObject(b)
	if err != nil {
		return err
	}
	v, ok := pickKey(m, "verdicts", "clusters", "results", "verifications")
	if !ok {
		return errors.New("no verdicts")
	}
	return json.Unmarshal(v, &o.Verdicts)
}

// parseClusters reads the clusters (lists of 1-based sample numbers) of a
// clustering answer: JSON, possibly inside prose or a code fence, with the
// schema's keys or close variants ("sample indices", "members", "groups"),
// numbers possibly written as strings.
func parseClusters(text string) ([][]int, error) {
	v, err := jsonx.DecodeFirst(text, func(v *clustersOut) error {
		if len(v.Clusters) == 0 {
			return errors.New("no clusters")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	groups := make([][]int, len(v.Clusters))
	for i, c := range v.Clusters {
		groups[i] = c.Samples
	}
	return groups, nil
}

// parseVerdicts reads the verdicts of a verification answer (validity as
// 0/1, true/false or yes/no/valid/invalid).
func parseVerdicts(text string) ([]verdictItem, error) {
	v, err := jsonx.DecodeFirst(text, func(v *verdictsOut) error {
		if len(v.Verdicts) == 0 {
			return errors.New("no verdicts")
		}
		return nil
	})
	return v.Verdicts, err
}

// RepairClusters turns the clusters of an answer (1-based sample numbers
// of a round of k texts) into a partition of 0..k−1: numbers outside 1..k
// are dropped, a text listed again is removed from the later cluster,
// clusters left empty are removed and texts in no cluster become
// single-text clusters (appended in order). It counts every repair.
func RepairClusters(groups [][]int, k int) ([][]int, ClusterRepairs) {
	var r ClusterRepairs
	seen := make([]bool, k)
	var out [][]int
	for _, g := range groups {
		var c []int
		for _, s := range g {
			switch {
			case s < 1 || s > k:
				r.OutOfRange++
			case seen[s-1]:
				r.Duplicates++
			default:
				seen[s-1] = true
				c = append(c, s-1)
			}
		}
		if len(c) == 0 {
			r.EmptyClusters++
			continue
		}
		out = append(out, c)
	}
	for i, ok := range seen {
		if !ok {
			r.Missing++
			out = append(out, []int{i})
		}
	}
	return out, r
}

// Rounds runs stages 3 and 4: Repetitions clustering rounds of K random
// texts each under the criteria, each followed by self-verification unless
// NoVerify. Rounds whose answers never parse are marked Failed; backend
// errors abort.
func (a *ClusterAgent) Rounds(ctx context.Context, texts []string, criteria []string) ([]ClusterRound, error) {
	if err := checkTexts(texts, 2); err != nil {
		return nil, err
	}
	o := a.opt
	rounds := make([]ClusterRound, o.Repetitions)
	pr := progress.OrNop(o.Progress)
	pr.Start("cluster-agent clustering", o.Repetitions)
	defer pr.Done()
	err := parallelFor(ctx, o.Repetitions, o.Concurrency, func(ctx context.Context, r int) error {
		defer pr.Add(1)
		idx := pickSamples(len(texts), o.K, o.Seed, stageSeed("cluster")+uint64(r))
		round, err := a.round(ctx, texts, idx, criteria, r)
		if err != nil {
			return fmt.Errorf("measure: cluster-agent: round %d: %w", r, err)
		}
		rounds[r] = round
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rounds, nil
}

func criteriaText(criteria []string) string {
	if len(criteria) == 0 {
		return "Texts belong together when they share their topic, their kind of task and their style."
	}
	var b strings.Builder
	for _, c := range criteria {
		fmt.Fprintf(&b, "- %s\n", foldSpace(c))
	}
	return strings.TrimRight(b.String(), "\n")
}

// round clusters and verifies the texts idx.
func (a *ClusterAgent) round(ctx context.Context, texts []string, idx []int, criteria []string, r int) (ClusterRound, error) {
	o := a.opt
	k := len(idx)
	res := ClusterRound{Samples: idx}
	field := strSchema(o.MaxFieldChars)
	schema := mustSchema(objSchema(map[string]any{"clusters": arrSchema(objSchema(map[string]any{
		"cluster":              map[string]any{"type": "integer", "minimum": 1, "maximum": k},
		"sample_indices":       arrSchema(map[string]any{"type": "integer", "minimum": 1, "maximum": k}, 1, k),
		"uniqueness_reasoning": field,
		"cluster_metadata":     field,
		"cluster_metrics":      field,
	}), 1, k)}))
	crit := criteriaText(criteria)
	var groups [][]int
	_, err := a.c.call(ctx, jsonCall{
		stage: "cluster_agent_clusters", schema: schema, limit: o.MaxSampleChars, maxTokens: o.MaxTokens,
		temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("cluster"), uint64(r)), attempts: 1 + o.Retries,
		build: func(limit int, brief bool) []llm.Message {
			if brief {
				return briefMsgs(fmt.Sprintf("Criteria:\n%s\nTexts:\n%sCluster texts 1-%d by the criteria; each number in one cluster.",
					clipText(crit, 4*limit), numberedTexts(texts, idx, limit), k))
			}
			return chatMsgs(agentSystem, fmt.Sprintf("Criteria:\n%s\n\nTexts:\n%s\n"+
				"Group these %d texts by the criteria: texts in one cluster must agree on them, and a text unlike all the others forms a cluster of its own. "+
				"Every number from 1 to %d must appear in exactly one cluster. For each cluster say why it differs from the others and "+
				"summarise its metadata and metric scores (1 to 5).\n"+
				`Answer with JSON: {"clusters": [{"cluster": 1, "sample_indices": [1, 2], "uniqueness_reasoning": "...", "cluster_metadata": "...", "cluster_metrics": "..."}]}`,
				crit, numberedTexts(texts, idx, limit), k, k))
		},
		parse: func(text string) (err error) {
			groups, err = parseClusters(text)
			return err
		},
	})
	if errors.Is(err, errUnparsed) {
		res.Failed = "clustering answer did not parse"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	local, rep := RepairClusters(groups, k)
	res.Repairs = rep
	valid := make([]bool, len(local))
	for i := range valid {
		valid[i] = true
	}
	if !o.NoVerify {
		var multi []int // positions in local of clusters with more than one text
		for i, c := range local {
			if len(c) > 1 {
				multi = append(multi, i)
			}
		}
		if len(multi) > 0 {
			v, vr, err := a.verify(ctx, texts, idx, local, multi, crit, r)
			if errors.Is(err, errUnparsed) {
				res.Failed = "verification answer did not parse"
				return res, nil
			}
			if err != nil {
				return res, err
			}
			res.Repairs.add(vr)
			for j, p := range multi {
				valid[p] = v[j]
			}
		}
	}
	for i, c := range local {
		g := make([]int, len(c))
		for j, s := range c {
			g[j] = idx[s]
		}
		if valid[i] {
			res.Clusters = append(res.Clusters, g)
		} else {
			res.Rejected = append(res.Rejected, g)
		}
	}
	return res, nil
}

// verify asks whether the clusters local[multi[j]] are valid; clusters
// without a verdict stay valid.
func (a *ClusterAgent) verify(ctx context.Context, texts []string, idx []int, local [][]int, multi []int, crit string, r int) ([]bool, ClusterRepairs, error) {
	o := a.opt
	n := len(multi)
	schema := mustSchema(objSchema(map[string]any{"verdicts": arrSchema(objSchema(map[string]any{
		"cluster":   map[string]any{"type": "integer", "minimum": 1, "maximum": n},
		"valid":     map[string]any{"type": "integer", "enum": []int{0, 1}},
		"reasoning": strSchema(o.MaxFieldChars),
	}), 1, n)}))
	var groups strings.Builder
	for j, p := range multi {
		nums := make([]string, len(local[p]))
		for t, s := range local[p] {
			nums[t] = fmt.Sprint(s + 1)
		}
		fmt.Fprintf(&groups, "Cluster %d: texts %s\n", j+1, strings.Join(nums, ", "))
	}
	var verdicts []verdictItem
	_, err := a.c.call(ctx, jsonCall{
		stage: "cluster_agent_verification", schema: schema, limit: o.MaxSampleChars, maxTokens: o.MaxTokens,
		temperature: o.Temperature, seed: mixSeed(o.Seed, stageSeed("verify"), uint64(r)), attempts: 1 + o.Retries,
		build: func(limit int, brief bool) []llm.Message {
			if brief {
				return briefMsgs(fmt.Sprintf("Criteria:\n%s\nTexts:\n%s%sIs each cluster valid under the criteria (1) or not (0)?",
					clipText(crit, 4*limit), numberedTexts(texts, idx, limit), groups.String()))
			}
			return chatMsgs(agentSystem, fmt.Sprintf("Criteria:\n%s\n\nTexts:\n%s\nProposed clusters:\n%s\n"+
				"Check each cluster: valid is 1 when all of its texts truly belong together under the criteria, 0 otherwise; give a short reason.\n"+
				`Answer with JSON: {"verdicts": [{"cluster": 1, "valid": 1, "reasoning": "..."}]}`,
				crit, numberedTexts(texts, idx, limit), groups.String()))
		},
		parse: func(text string) (err error) {
			verdicts, err = parseVerdicts(text)
			return err
		},
	})
	if err != nil {
		return nil, ClusterRepairs{}, err
	}
	var rep ClusterRepairs
	valid := make([]bool, n)
	judged := make([]bool, n)
	for _, v := range verdicts {
		switch {
		case v.Cluster < 1 || v.Cluster > n:
			rep.UnknownVerdicts++
		case judged[v.Cluster-1]:
			rep.DuplicateVerdicts++
		default:
			judged[v.Cluster-1] = true
			valid[v.Cluster-1] = v.Valid
		}
	}
	for j := range n {
		if !judged[j] {
			rep.MissingVerdicts++
			valid[j] = true
		}
	}
	return valid, rep, nil
}
