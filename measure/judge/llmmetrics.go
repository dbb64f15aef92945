package judge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ggmi-dev/ggmi/measure"
)

// The estimators that need a generative model are registered with
// RegisterLLM (they run when a Suite has an LLM backend; wrap it with
// llm.Cached). Params (Suite.Params[name]):
//
//	cluster-agent: j (5), m (20), k (10), n (100 repetitions), verify (1),
//	  cluster_only (0), size (0 mean-size, 1 samples, 2 max-size, 3 clusters),
//	  singletons (0: members of rejected clusters are dropped),
//	  temperature (0), concurrency (4), max_tokens (1024),
//	  max_sample_chars (1500), max_field_chars (200)
//	se-llm: semantic entropy with LLM entailment, grouped by the records'
//	  provenance prompt ID when they have one (the generations for one
//	  prompt), else over the whole set; strict (0), max_per_group (50: larger
//	  groups are subsampled with the seed, as the greedy clustering asks
//	  O(n²) judgements), temperature (0)
func init() {
	mustLLM := func(name, doc string, m measure.LLMMetric) {
		if err := measure.RegisterLLM(name, doc, m); err != nil {
			panic(err) // programming error at init
		}
	}
	mustLLM("cluster-agent", "LLM Cluster-agent diversity 𝒟 (NOTES §5)", func(ctx context.Context, in measure.LLMInput) (measure.Result, error) {
		p := func(k string, def float64) float64 {
			if v, ok := in.Params[k]; ok {
				return v
			}
			return def
		}
		size := int(p("size", 0))
		if size < 0 || size >= len(SizeDefinitions) {
			return measure.Result{}, fmt.Errorf("measure: cluster-agent: size must be 0..%d (got %d)", len(SizeDefinitions)-1, size)
		}
		return ClusterAgentDiversity(ctx, in.Backend, in.Texts, ClusterAgentOptions{
			Model: in.Model, MetadataSamples: int(p("j", 5)), MetadataRounds: int(p("m", 20)), K: int(p("k", 10)),
			Repetitions: int(p("n", 100)), NoVerify: p("verify", 1) == 0, ClusterOnly: p("cluster_only", 0) != 0,
			Size: SizeDefinitions[size], InvalidAsSingletons: p("singletons", 0) != 0,
			Temperature: p("temperature", 0), Seed: in.Seed, Concurrency: int(p("concurrency", 4)),
			MaxTokens: int(p("max_tokens", 1024)), MaxSampleChars: int(p("max_sample_chars", 1500)),
			MaxFieldChars: int(p("max_field_chars", 200)), Progress: in.Progress,
		})
	})
	mustLLM("se-llm", "semantic entropy with LLM entailment, per prompt (NOTES §4)", func(ctx context.Context, in measure.LLMInput) (measure.Result, error) {
		strict, maxPer, temp := in.Params["strict"] != 0, 50.0, in.Params["temperature"]
		if v, ok := in.Params["max_per_group"]; ok {
			maxPer = v
		}
		if maxPer < 1 || math.IsNaN(maxPer) {
			return measure.Result{}, fmt.Errorf("measure: se-llm: max_per_group must be positive (got %g)", maxPer)
		}
		var groups []string
		for _, r := range in.Records {
			if r.Provenance.PromptID != "" {
				groups = make([]string, len(in.Texts))
				for i := range in.Texts {
					if i < len(in.Records) {
						groups[i] = in.Records[i].Provenance.PromptID
					}
				}
				break
			}
		}
		texts, groups := capGroups(in.Texts, groups, int(maxPer), in.Seed)
		e, err := NewLLMEntailer(in.Backend, LLMEntailOptions{Model: in.Model, Temperature: temp, Seed: in.Seed})
		if err != nil {
			return measure.Result{}, err
		}
		r, err := measure.GroupedSemanticEntropy(texts, groups, e.Func(ctx), measure.SEOptions{Strict: strict})
		if err != nil {
			return measure.Result{}, err
		}
		r.Name = "se-llm"
		r.Settings["max_per_group"] = int(maxPer)
		r.Settings["requests"] = e.Stats().settings()
		r.Settings["neutral_fallbacks"] = e.Fallbacks()
		return r, nil
	})
}

// capGroups keeps at most maxPer texts of each group (groups nil: one
// group), chosen with the seed and kept in their original order.
func capGroups(texts, groups []string, maxPer int, seed uint64) ([]string, []string) {
	var order []string
	members := map[string][]int{}
	for i := range texts {
		g := ""
		if groups != nil {
			g = groups[i]
		}
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], i)
	}
	keep := make([]bool, len(texts))
	for gi, g := range order {
		idx := members[g]
		if len(idx) > maxPer {
			rng := rand.New(rand.NewPCG(seed, uint64(gi)))
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			idx = idx[:maxPer]
		}
		for _, i := range idx {
			keep[i] = true
		}
	}
	var outT, outG []string
	for i, k := range keep {
		if k {
			outT = append(outT, texts[i])
			if groups != nil {
				outG = append(outG, groups[i])
			}
		}
	}
	return outT, outG
}
