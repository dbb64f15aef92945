package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/internal/budget"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/measure"
	_ "github.com/ggmi-dev/ggmi/measure/judge" // registers the LLM-based metrics (cluster-agent, se-llm)
	"github.com/ggmi-dev/ggmi/report"
)

type measureOptions struct {
	format                string
	lossyUTF8             bool
	anchors, train        string
	reference             string
	schema, anchorsSchema string
	trainSchema           string
	referenceSchema       string
	skipInvalid           bool
	embed                 string
	cache                 string
	metrics               string
	field                 string
	pairing               string
	out                   string
	json                  bool
	seed                  uint64
	bootstrap, maxPairs   int
	workers               int
	params                []string
	llmSpec               string
}

func newMeasureCmd(g *globals) *cobra.Command {
	o := &measureOptions{}
	c := &cobra.Command{
		Use:   "measure DATA…",
		Short: "Measure synthetic data: HSIC, MI, entropies, semantic entropy, diversity, divergences",
		Long: `Measure the synthetic data S_gen (the DATA files, read together) with the estimators of
the reverse-bottleneck theory and the diversity literature, each with its settings and a
95% interval (the estimator's own, or a seeded percentile bootstrap):

  hsic, hsic-rff, ksg        dependence of S_gen on the anchors or the train set (pairs:
                             provenance demo IDs → mean anchor embedding, or the paper's
                             equal-size seeded subsamples of S_gen and --train)
  entropy, delta-h           k-NN entropy of S_gen; ΔH = H(S_anchor) − H(S_gen)
  se                         semantic entropy, offline approximation (cosine clusters)
  ngram, self-rep, compression, kmeans-entropy, self-bleu, homogenization, vendi
  mmd, c2st, knn-kl          S_gen against --reference (e.g. the real test split), else
                             --train, else --anchors

All texts are embedded together with --embed: lsa (built in), glove:PATH (SIF over static
vectors), builtin:PATH (the built-in engine's hidden states) or http(s)://HOST/v1#MODEL (an
OpenAI-compatible /v1/embeddings endpoint). LLM-based metrics, when installed, run with --llm.

Writes metrics.json and metrics.md into --out and prints the table (JSON with --json).`,
		Example: `  ggmi measure synthetic.jsonl --anchors anchors.jsonl --out runs/m3
  ggmi measure synthetic.jsonl --train train.jsonl --pairing subsample --metrics hsic,se,vendi --out runs/m
  ggmi measure ../shared/data/self-instruct/user_oriented_instructions.jsonl --schema self-instruct \
      --anchors ../shared/data/self-instruct/seed_tasks.jsonl --anchors-schema self-instruct --out runs/si`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMeasure(cmd, g, o, args) },
	}
	f := c.Flags()
	f.StringVar(&o.anchors, "anchors", "", "anchor records S_anchor (provenance pairing, ΔH, reference of divergences)")
	f.StringVar(&o.train, "train", "", "training set T (the paper's HSIC with the train set; reference of divergences without --reference)")
	f.StringVar(&o.schema, "schema", "auto", "schema of DATA: auto, record, alpaca, dolly, self-instruct, gsm8k, chat, sharegpt, mt-bench")
	f.StringVar(&o.anchorsSchema, "anchors-schema", "auto", "schema of --anchors")
	f.StringVar(&o.trainSchema, "train-schema", "auto", "schema of --train")
	f.StringVar(&o.reference, "reference", "", "real sample the divergences compare S_gen with, e.g. the held-out test split (default: --train, else --anchors)")
	f.StringVar(&o.referenceSchema, "reference-schema", "auto", "schema of --reference")
	f.BoolVar(&o.skipInvalid, "skip-invalid", false, "skip and count malformed rows instead of failing")
	f.StringVar(&o.format, "format", "", "format of the input files when their names do not say it: jsonl, json, csv or parquet")
	f.BoolVar(&o.lossyUTF8, "lossy-utf8", false, "replace bytes that are not valid UTF-8 with U+FFFD instead of failing")
	f.StringVar(&o.embed, "embed", "lsa", "embedder: lsa, glove:PATH, builtin:PATH, hf://owner/repo/file or http(s)://HOST/v1#MODEL")
	f.StringVar(&o.cache, "cache", os.Getenv("GGMI_CACHE"), "embedding cache directory (default $GGMI_CACHE; empty: no cache)")
	f.StringVar(&o.metrics, "metrics", "all", "metrics: all or a comma list (hsic,hsic-rff,ksg,entropy,delta-h,se,ngram,self-rep,compression,kmeans-entropy,self-bleu,homogenization,vendi,mmd,c2st,knn-kl)")
	f.StringVar(&o.field, "field", "all", "text measured: all (instruction, input and output) or a record field (instruction, output, …)")
	f.StringVar(&o.pairing, "pairing", "auto", "HSIC/KSG pairs: auto, provenance or subsample")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.BoolVar(&o.json, "json", false, "print metrics.json instead of the table")
	f.Uint64Var(&o.seed, "seed", 1, "seed of subsamples, bootstrap, random features and LSA")
	f.IntVar(&o.bootstrap, "bootstrap", 200, "bootstrap resamples of the CIs (0: none)")
	f.IntVar(&o.maxPairs, "max-pairs", 2000, "largest sample of the O(n²) estimators (seeded subsample beyond)")
	f.IntVar(&o.workers, "workers", 0, "goroutines of the bootstrap and the engine (0: every core)")
	f.StringArrayVar(&o.params, "param", nil, "estimator parameter METRIC.NAME=VALUE (repeatable), e.g. se.threshold=0.85")
	f.StringVar(&o.llmSpec, "llm", "", "LLM for LLM-based metrics: builtin:PATH, hf://owner/repo/file or http(s)://HOST/v1#MODEL")
	return c
}

// measureInputs records what a measurement read.
type measureInputs struct {
	Data    []string             `json:"data"`
	Anchors string               `json:"anchors,omitempty"`
	Train   string               `json:"train,omitempty"`
	Ref     string               `json:"reference,omitempty"`
	Reads   []dataset.ReadReport `json:"reads"`
	Metrics string               `json:"metrics"`
	Pairing string               `json:"pairing"`
	Version string               `json:"ggmi_version"`
}

// measureFile is the content of metrics.json.
type measureFile struct {
	Inputs measureInputs `json:"inputs"`
	measure.Report
}

// parseParams reads METRIC.NAME=VALUE flags.
func parseParams(ps []string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	for _, p := range ps {
		k, v, ok := strings.Cut(p, "=")
		metric, name, ok2 := strings.Cut(k, ".")
		if !ok || !ok2 || metric == "" || name == "" {
			return nil, fmt.Errorf("--param %q: want METRIC.NAME=VALUE", p)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("--param %q: %q is not a number", p, v)
		}
		names, err := measure.SelectMetrics(metric, true)
		if err != nil {
			return nil, fmt.Errorf("--param %q: %w", p, err)
		}
		if out[names[0]] == nil {
			out[names[0]] = map[string]float64{}
		}
		out[names[0]][name] = f
	}
	return out, nil
}

// parseLLM reads --llm: a model spec as every command writes it
// (llm.ParseModelSpec: builtin:PATH, hf://owner/repo/file or
// http(s)://HOST/v1#MODEL), its model file checked up front.
func parseLLM(spec string) (llm.ModelSpec, error) {
	ms, err := llm.ParseModelSpec(spec)
	if err != nil {
		return llm.ModelSpec{}, usageError{fmt.Errorf("--llm: %w", err)}
	}
	if ms.Kind == llm.SpecBuiltin {
		if err := checkModelFile(ms.Path); err != nil {
			return llm.ModelSpec{}, usageError{fmt.Errorf("--llm: %w", err)}
		}
	}
	return ms, nil
}

// openLLM builds the backend of LLM-based metrics from a parsed spec; a
// remote endpoint is rate-limited, and the model name is the one to ask
// for ("" lets the built-in engine answer with its own).
func openLLM(ms llm.ModelSpec, workers int) (llm.Backend, string, func(), error) {
	o, err := llm.Open(ms, llm.OpenOptions{Workers: workers})
	if err != nil {
		return nil, "", nil, usageError{fmt.Errorf("--llm: %w", err)}
	}
	if ms.Kind == llm.SpecRemote {
		return llm.Limited(o.Backend, llm.LimitOptions{}), ms.Model, func() {}, nil
	}
	return o.Backend, "", func() { o.Close() }, nil
}

func runMeasure(cmd *cobra.Command, g *globals, o *measureOptions, data []string) error {
	if o.out == "" {
		return userErr("--out is required")
	}
	if o.bootstrap < 0 || o.bootstrap == 1 {
		return userErr("--bootstrap must be 0 or at least 2 (got %d)", o.bootstrap)
	}
	if o.maxPairs < 10 {
		return userErr("--max-pairs must be at least 10 (got %d)", o.maxPairs)
	}
	pairing := o.pairing
	switch pairing {
	case "auto":
		pairing = ""
	case measure.PairProvenance, measure.PairSubsample:
	default:
		return userErr("--pairing must be auto, provenance or subsample (got %q)", o.pairing)
	}
	params, err := parseParams(o.params)
	if err != nil {
		return usageError{err}
	}
	if _, err := measure.SelectMetrics(o.metrics, o.llmSpec != ""); err != nil {
		return userErr("--metrics: %v", err)
	}
	var llmSpec llm.ModelSpec
	if o.llmSpec != "" {
		if llmSpec, err = parseLLM(o.llmSpec); err != nil {
			return err
		}
	}
	if err := g.checkMemory("measure with these inputs and flags", measureMemory(append(append([]string(nil), data...), o.anchors, o.train, o.reference), o.maxPairs, o.bootstrap, o.workers)...); err != nil {
		return err
	}
	in := measureInputs{Data: data, Anchors: o.anchors, Train: o.train, Ref: o.reference, Metrics: o.metrics, Pairing: o.pairing, Version: version}
	read := func(path, schema string) ([]dataset.Record, error) {
		recs, rep, err := dataset.ReadFile(path, dataset.ReadOptions{Format: dataset.Format(o.format), Schema: schema, SkipInvalid: o.skipInvalid, LossyUTF8: o.lossyUTF8})
		if err != nil {
			return nil, usageError{err}
		}
		if len(recs) == 0 {
			return nil, userErr("%s holds no records", path)
		}
		in.Reads = append(in.Reads, rep)
		return recs, nil
	}
	var recs []dataset.Record
	for _, p := range data {
		r, err := read(p, o.schema)
		if err != nil {
			return err
		}
		recs = append(recs, r...)
	}
	var anchors, train, ref []dataset.Record
	if o.anchors != "" {
		if anchors, err = read(o.anchors, o.anchorsSchema); err != nil {
			return err
		}
	}
	if o.train != "" {
		if train, err = read(o.train, o.trainSchema); err != nil {
			return err
		}
	}
	if o.reference != "" {
		if ref, err = read(o.reference, o.referenceSchema); err != nil {
			return err
		}
	}
	emb, err := embed.Open(o.embed, embed.SpecOptions{Seed: o.seed, Workers: o.workers, CacheDir: cacheSub(o.cache)})
	if err != nil {
		return userErr("--embed: %v", err)
	}
	defer embed.Close(emb)
	s := measure.Suite{Data: recs, Anchors: anchors, Train: train, Reference: ref, ReferenceName: "reference", Embedder: emb, Metrics: o.metrics, Field: o.field,
		Pairing: pairing, Seed: o.seed, Bootstrap: o.bootstrap, MaxPairs: o.maxPairs, Params: params, Workers: o.workers,
		Progress: newReporter(g.stderr, g.quiet)}
	if o.bootstrap == 0 {
		s.Bootstrap = -1
	}
	if o.llmSpec != "" {
		b, model, closeFn, err := openLLM(llmSpec, o.workers)
		if err != nil {
			return err
		}
		defer closeFn()
		s.LLM, s.Model = b, model
	}
	rep, err := measure.Run(cmd.Context(), s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	b, err := json.MarshalIndent(measureFile{Inputs: in, Report: rep}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metrics.json: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(o.out, "metrics.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics.json: %w", err)
	}
	var md strings.Builder
	if err := report.MeasureMarkdown(&md, "Metrics of "+strings.Join(data, ", "), rep); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.out, "metrics.md"), []byte(md.String())); err != nil {
		return fmt.Errorf("write metrics.md: %w", err)
	}
	if len(rep.Errors) > 0 && !g.quiet {
		fmt.Fprintf(g.stderr, "measure: %d metric(s) not computed (see metrics.md)\n", len(rep.Errors))
	}
	if o.json {
		_, err := fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	_, err = fmt.Fprint(g.stdout, md.String())
	return err
}

// cacheSub is the embedding cache under the ggmi cache directory.
func cacheSub(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "embeddings")
}

// readMeasureFile reads a metrics.json, or the metrics.json inside a
// directory.
func readMeasureFile(path string) (measureFile, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "metrics.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return measureFile{}, fmt.Errorf("%s: no such file (want a `ggmi measure` output directory or its metrics.json)", path)
		}
		return measureFile{}, err
	}
	var f measureFile
	if err := json.Unmarshal(b, &f); err != nil {
		return measureFile{}, fmt.Errorf("%s is not a metrics.json: %v", path, err)
	}
	return f, nil
}

// measureMemory estimates the peak memory of a measurement: the records and
// their embeddings (from the size of the input files), the n×n matrices of
// the O(n²) estimators (--max-pairs) and the bootstrap's resamples.
func measureMemory(files []string, maxPairs, bootstrap, workers int) []budget.Term {
	var in float64
	for _, p := range files {
		if p == "" || strings.Contains(p, "://") {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			in += float64(st.Size())
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := float64(maxPairs)
	return []budget.Term{
		// Records, tokens, n-gram tables and LSA's sparse matrix.
		{Bytes: 12 * in, Flag: "the input size"},
		// Kernel matrices of HSIC, MMD and Vendi, their centred copies.
		{Bytes: 6 * 8 * n * n, Flag: "--max-pairs"},
		{Bytes: float64(workers) * 8 * n * n / 4 * min(float64(bootstrap), 1), Flag: "--max-pairs"},
		{Bytes: 8 * float64(bootstrap) * n, Flag: "--bootstrap"},
		{Bytes: 128 << 20},
	}
}
