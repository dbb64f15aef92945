package experiment

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/dataset"
)

// Files of one configuration.
const (
	genSynthetic = "gen/synthetic.jsonl"  // M(p), parsed
	synthetic    = "data/synthetic.jsonl" // S_gen = M(p) + ε
	removedFile  = "data/removed.jsonl"
	curationFile = "data/curation.json"
)

// CurationSummary is data/curation.json.
type CurationSummary struct {
	Disabled bool            `json:"disabled,omitempty"`
	Input    int             `json:"input"`
	Kept     int             `json:"kept"`
	Removed  int             `json:"removed"`
	Config   *curate.Config  `json:"config,omitempty"`
	Filters  []curate.Report `json:"filters,omitempty"`
}

// stageCurate applies ε to the generated records: the Self-Instruct /
// Alpaca filters, exact and near dedup, ROUGE-L against S_anchor and, by
// default, decontamination against the test split.
func (r *Runner) stageCurate(ctx context.Context, c *Configuration, dir string) error {
	gen, _, err := dataset.ReadFile(filepath.Join(dir, genSynthetic), dataset.ReadOptions{Schema: "record"})
	if err != nil {
		return fmt.Errorf("generated records: %w", err)
	}
	spec := c.Config.Curation
	sum := CurationSummary{Input: len(gen), Disabled: spec.Disabled}
	kept, removed := gen, []dataset.Record(nil)
	if !spec.Disabled {
		anchors, err := r.loadSplit(anchorsFile)
		if err != nil {
			return err
		}
		var eval []dataset.Record
		if spec.Decontaminate == nil || *spec.Decontaminate {
			if eval, err = r.loadSplit(testFile); err != nil {
				return err
			}
		}
		cfg := curate.Config{Filters: spec.Filters, MinWords: spec.MinWords, MaxWords: spec.MaxWords, Rouge: spec.Rouge, Near: spec.Near}
		if spec.KeywordsFile != "" {
			if cfg.Keywords, err = curate.ReadKeywords(r.cfg.Resolve(spec.KeywordsFile)); err != nil {
				return err
			}
			cfg.KeywordsFile = spec.KeywordsFile
		}
		p, cfg, err := curate.Build(cfg, anchors, eval)
		if err != nil {
			return err
		}
		sum.Config = &cfg
		res, err := p.Run(ctx, gen)
		if err != nil {
			return err
		}
		kept, removed, sum.Filters = res.Kept, res.Removed, res.Reports
	}
	sum.Kept, sum.Removed = len(kept), len(removed)
	if len(kept) == 0 {
		return fmt.Errorf("curation kept none of %d generated records (see %s)", len(gen), removedFile)
	}
	if err := dataset.WriteFile(filepath.Join(dir, synthetic), kept, dataset.WriteOptions{Sync: true}); err != nil {
		return err
	}
	if err := dataset.WriteFile(filepath.Join(dir, removedFile), removed, dataset.WriteOptions{Sync: true}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, curationFile), sum)
}
