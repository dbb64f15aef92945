package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
)

// The real data a run reads, written by the data stage.
const (
	anchorsFile = "data/anchors.jsonl" // S_anchor: the demonstrations' pool
	trainFile   = "data/train.jsonl"   // the real train split
	testFile    = "data/test.jsonl"    // the real held-out split
)

// DataSummary is data/data.json.
type DataSummary struct {
	Anchors int                  `json:"anchors"`
	Train   int                  `json:"train"`
	Test    int                  `json:"test"`
	Reads   []dataset.ReadReport `json:"reads"`
}

// readData loads a data set from a file or an hf:// URI.
func (r *Runner) readData(ctx context.Context, d DataSpec) ([]dataset.Record, []dataset.ReadReport, error) {
	opt := dataset.ReadOptions{Schema: d.Schema, Mapping: d.Map, SkipInvalid: d.SkipInvalid}
	path := r.cfg.Resolve(d.Path)
	var recs []dataset.Record
	var reps []dataset.ReadReport
	if strings.HasPrefix(path, "hf://") {
		var err error
		if recs, reps, err = dataset.NewHub().Load(ctx, path, opt); err != nil {
			return nil, nil, err
		}
	} else {
		rs, rep, err := dataset.ReadFile(path, opt)
		if err != nil {
			return nil, nil, err
		}
		recs, reps = rs, []dataset.ReadReport{rep}
	}
	if d.Limit > 0 && len(recs) > d.Limit {
		recs = recs[:d.Limit]
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%s has no records", d.Path)
	}
	return recs, reps, nil
}

// stageData reads the real data and writes the anchors, train and test
// splits: the train/test split is seeded (and stratified when asked), and
// S_anchor is a seeded subset of the train split of Split.Anchors records
// drawn by the same rule.
func (r *Runner) stageData(ctx context.Context) error {
	c := r.cfg
	all, reads, err := r.readData(ctx, c.Anchors)
	if err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	train, test := all, []dataset.Record(nil)
	if c.Test != nil {
		var rs []dataset.ReadReport
		if test, rs, err = r.readData(ctx, *c.Test); err != nil {
			return fmt.Errorf("test: %w", err)
		}
		reads = append(reads, rs...)
	} else {
		if train, test, err = dataset.Split(all, dataset.SplitOptions{TestFraction: c.Split.Test, Seed: c.Seed, StratifyBy: c.Split.Stratify}); err != nil {
			return err
		}
		if len(train) == 0 || len(test) == 0 {
			return fmt.Errorf("split of %d records leaves an empty train or test set", len(all))
		}
	}
	anchors := train
	if n := c.Split.Anchors; n > 0 && n < len(train) {
		_, anchors, err = dataset.Split(train, dataset.SplitOptions{
			TestFraction: float64(n) / float64(len(train)), Seed: c.Seed + 1, StratifyBy: c.Split.Stratify})
		if err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		recs []dataset.Record
	}{{anchorsFile, anchors}, {trainFile, train}, {testFile, test}} {
		if err := dataset.WriteFile(filepath.Join(r.dir, f.name), f.recs, dataset.WriteOptions{Sync: true}); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(r.dir, "data", "data.json"), DataSummary{
		Anchors: len(anchors), Train: len(train), Test: len(test), Reads: reads})
}

// loadSplit reads one of the files the data stage wrote.
func (r *Runner) loadSplit(name string) ([]dataset.Record, error) {
	recs, _, err := dataset.ReadFile(filepath.Join(r.dir, name), dataset.ReadOptions{Schema: "record"})
	if err != nil {
		return nil, fmt.Errorf("%s (rerun the data stage): %w", name, err)
	}
	return recs, nil
}
