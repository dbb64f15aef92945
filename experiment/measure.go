package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/measure"
	_ "github.com/ggmi-dev/ggmi/measure/judge" // registers the LLM-based metrics (cluster-agent, se-llm)
)

const metricsFile = "metrics.json"

// stageMeasure computes the selected estimators on S_gen, with S_anchor
// and the real train split as references (the provenance pairing links
// each synthetic record to the anchors its prompt showed) and the real
// held-out split as the divergences' reference (Lemma 3.1's D).
func (r *Runner) stageMeasure(ctx context.Context, c *Configuration, dir string) error {
	spec := c.Config.Measure
	data, _, err := dataset.ReadFile(filepath.Join(dir, synthetic), dataset.ReadOptions{Schema: "record"})
	if err != nil {
		//lint:ignore ST1005 S_gen is the papers' name of the synthetic data
		return fmt.Errorf("S_gen: %w", err)
	}
	anchors, err := r.loadSplit(anchorsFile)
	if err != nil {
		return err
	}
	trainSet, err := r.loadSplit(trainFile)
	if err != nil {
		return err
	}
	test, err := r.loadSplit(testFile)
	if err != nil {
		return err
	}
	es := spec.Embed
	if es == "" {
		es = "lsa"
	}
	if strings.HasPrefix(es, "glove:") || strings.HasPrefix(es, "builtin:") {
		es = r.cfg.Resolve(es)
	}
	emb, err := embed.Open(es, embed.SpecOptions{Seed: c.Config.Seed, CacheDir: filepath.Join(r.dir, "cache", "embed")})
	if err != nil {
		return fmt.Errorf("measure.embed: %w", err)
	}
	defer embed.Close(emb)
	s := measure.Suite{Data: data, Anchors: anchors, Train: trainSet, Reference: test, ReferenceName: "test", Embedder: emb,
		Metrics: strings.Join(spec.Metrics, ","), Pairing: spec.Pairing, Seed: c.Config.Seed,
		Params: spec.Params, Progress: r.opt.Progress}
	if spec.LLM != "" {
		ms, err := llm.ParseModelSpec(r.cfg.Resolve(spec.LLM))
		if err != nil {
			return fmt.Errorf("measure.llm: %w", err)
		}
		o, err := llm.Open(ms, llm.OpenOptions{APIKeyEnv: spec.APIKeyEnv})
		if err != nil {
			return fmt.Errorf("measure.llm: %w", err)
		}
		defer o.Close()
		cb, err := llm.Cached(o.Backend, filepath.Join(r.dir, "cache", "measure.db"))
		if err != nil {
			return err
		}
		defer cb.Close()
		s.LLM, s.Model = cb, o.Backend.Models()[0]
	}
	rep, err := measure.Run(ctx, s)
	if err != nil {
		return err
	}
	if err := measureByAttribute(ctx, s, dir); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, metricsFile), rep)
}
