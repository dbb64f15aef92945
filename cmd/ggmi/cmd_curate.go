package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/dataset"
)

type curateOptions struct {
	format        string
	lossyUTF8     bool
	schema        string
	mapping       []string
	skipInvalid   bool
	against       string
	againstSchema string
	decontaminate string
	testSchema    string
	rouge         float64
	near          float64
	filters       []string
	keywordsFile  string
	minWords      int
	maxWords      int
	out           string
	json          bool
}

func newCurateCmd(g *globals) *cobra.Command {
	o := &curateOptions{}
	c := &cobra.Command{
		Use:   "curate IN",
		Short: "Apply the curation step ε to a data set (dedup, ROUGE-L, filters, decontamination)",
		Long: `Apply the curation step ε of S_gen = M(p) + ε to any data set: the Self-Instruct /
Alpaca filters (instructions starting with punctuation or non-ASCII, 3 < words ≤ 150,
media keywords), exact dedup after normalisation, MinHash + LSH near-dedup, the ROUGE-L
filter against the anchors and the records kept so far, and 13-gram decontamination
against an evaluation split.

Writes into --out: curated.jsonl (kept), removed.jsonl (each with the filter and reason
in meta) and curation.json (per-filter counts and reasons).`,
		Example: `  ggmi curate synthetic.jsonl --against anchors.jsonl --decontaminate test.jsonl --out runs/curated
  ggmi curate ../shared/data/self-instruct/user_oriented_instructions.jsonl --schema self-instruct --out runs/c`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCurate(cmd, g, o, args[0]) },
	}
	f := c.Flags()
	f.StringVar(&o.schema, "schema", "auto", "schema of IN: auto, record, alpaca, dolly, self-instruct, gsm8k, chat, sharegpt, mt-bench")
	f.StringArrayVar(&o.mapping, "map", nil, "custom field mapping field=path (repeatable), overrides --schema")
	f.BoolVar(&o.skipInvalid, "skip-invalid", false, "skip and count malformed rows instead of failing")
	f.StringVar(&o.format, "format", "", "format of the input files when their names do not say it: jsonl, json, csv or parquet")
	f.BoolVar(&o.lossyUTF8, "lossy-utf8", false, "replace bytes that are not valid UTF-8 with U+FFFD instead of failing")
	f.StringVar(&o.against, "against", "", "anchors file: the ROUGE-L filter also compares with these")
	f.StringVar(&o.againstSchema, "against-schema", "auto", "schema of the anchors file")
	f.StringVar(&o.decontaminate, "decontaminate", "", "evaluation split: drop records sharing a 13-gram with it")
	f.StringVar(&o.testSchema, "test-schema", "auto", "schema of the evaluation split")
	f.Float64Var(&o.rouge, "rouge", 0.7, "ROUGE-L F1 threshold (drop above)")
	f.Float64Var(&o.near, "near", 0.8, "Jaccard threshold of near-duplicates")
	f.StringSliceVar(&o.filters, "filters", nil, "filters to apply, in order (default "+strings.Join(curate.FilterNames[:6], ",")+", plus decontaminate with --decontaminate; none for no filter)")
	f.StringVar(&o.keywordsFile, "keywords-file", "", "keyword filter's list, one word or phrase per line (default the Self-Instruct media keywords)")
	f.IntVar(&o.minWords, "min-words", 3, "length filter: keep instructions with more than this many words")
	f.IntVar(&o.maxWords, "max-words", 150, "length filter: keep instructions with at most this many words")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.BoolVar(&o.json, "json", false, "print the per-filter reports as JSON on stdout")
	return c
}

// curationSummary is what curation.json holds.
type curationSummary struct {
	Input   dataset.ReadReport `json:"input"`
	Kept    int                `json:"kept"`
	Removed int                `json:"removed"`
	Config  curate.Config      `json:"config"`
	Filters []curate.Report    `json:"filters"`
}

func runCurate(cmd *cobra.Command, g *globals, o *curateOptions, in string) error {
	if o.out == "" {
		return userErr("--out is required")
	}
	if !(o.rouge > 0 && o.rouge <= 1) || !(o.near > 0 && o.near <= 1) {
		return userErr("--rouge and --near must be in (0, 1] (got %v and %v)", o.rouge, o.near)
	}
	if err := g.checkMemory("curate with these inputs", curateMemory(in, o.against, o.decontaminate)...); err != nil {
		return err
	}
	read := func(path, schema string, mapping []string) ([]dataset.Record, dataset.ReadReport, error) {
		recs, rep, err := dataset.ReadFile(path, dataset.ReadOptions{Format: dataset.Format(o.format), Schema: schema, Mapping: mapping, SkipInvalid: o.skipInvalid, LossyUTF8: o.lossyUTF8})
		if err != nil {
			// A missing or malformed input is the user's to fix.
			return nil, rep, usageError{err}
		}
		if len(recs) == 0 {
			return nil, rep, userErr("%s holds no records", path)
		}
		return recs, rep, nil
	}
	recs, inRep, err := read(in, o.schema, o.mapping)
	if err != nil {
		return err
	}
	var anchors, eval []dataset.Record
	if o.against != "" {
		if anchors, _, err = read(o.against, o.againstSchema, nil); err != nil {
			return err
		}
	}
	if o.decontaminate != "" {
		if eval, _, err = read(o.decontaminate, o.testSchema, nil); err != nil {
			return err
		}
	}
	cfg := curate.Config{Filters: o.filters, MinWords: o.minWords, MaxWords: o.maxWords, Rouge: o.rouge, Near: o.near}
	if o.keywordsFile != "" {
		if cfg.Keywords, err = curate.ReadKeywords(o.keywordsFile); err != nil {
			return usageError{err}
		}
		cfg.KeywordsFile = o.keywordsFile
	}
	p, cfg, err := curate.Build(cfg, anchors, eval)
	if err != nil {
		return usageError{err}
	}
	res, err := p.Run(cmd.Context(), recs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if err := dataset.WriteFile(filepath.Join(o.out, "curated.jsonl"), res.Kept, dataset.WriteOptions{}); err != nil {
		return err
	}
	if err := dataset.WriteFile(filepath.Join(o.out, "removed.jsonl"), res.Removed, dataset.WriteOptions{}); err != nil {
		return err
	}
	sum := curationSummary{Input: inRep, Kept: len(res.Kept), Removed: len(res.Removed), Config: cfg, Filters: res.Reports}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.out, "curation.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("write curation.json: %w", err)
	}
	if o.json {
		_, err := fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	w := g.stdout
	fmt.Fprintf(w, "%s: %d records (%s schema", in, inRep.Records, inRep.Schema)
	if inRep.Skipped > 0 {
		fmt.Fprintf(w, ", %d rows skipped", inRep.Skipped)
	}
	fmt.Fprintf(w, ")\n%-14s %8s %8s  reasons\n", "filter", "seen", "removed")
	for _, r := range res.Reports {
		fmt.Fprintf(w, "%-14s %8d %8d  %s\n", r.Filter, r.Seen, r.Removed, counts(r.Reasons))
	}
	fmt.Fprintf(w, "kept %d, removed %d → %s\n", len(res.Kept), len(res.Removed), o.out)
	return nil
}
