package measure

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Label is an entailment judgement.
type Label int

// The three NLI labels.
const (
	Neutral Label = iota
	Entailment
	Contradiction
)

// EntailFunc judges whether a entails b (an NLI model or an LLM judge,
// NOTES §4); callers cache it.
type EntailFunc func(a, b string) (Label, error)

// Equivalent reports whether a and b are semantically equivalent. Strict:
// entailment in both directions. Non-strict: no contradiction either way and
// not neutral both ways (Farquhar et al. 2024).
func Equivalent(a, b string, entail EntailFunc, strict bool) (bool, error) {
	ab, err := entail(a, b)
	if err != nil {
		return false, fmt.Errorf("measure: entailment: %w", err)
	}
	ba, err := entail(b, a)
	if err != nil {
		return false, fmt.Errorf("measure: entailment: %w", err)
	}
	if strict {
		return ab == Entailment && ba == Entailment, nil
	}
	return ab != Contradiction && ba != Contradiction && !(ab == Neutral && ba == Neutral), nil
}

// ClusterGreedy assigns cluster ids by the greedy algorithm of NOTES §4: each
// unassigned item i opens a cluster and every later unassigned j equivalent
// to i joins it (j is compared with i only).
func ClusterGreedy(n int, equiv func(i, j int) (bool, error)) ([]int, error) {
	c := make([]int, n)
	for i := range c {
		c[i] = -1
	}
	next := 0
	for i := range n {
		if c[i] >= 0 {
			continue
		}
		c[i] = next
		for j := i + 1; j < n; j++ {
			if c[j] >= 0 {
				continue
			}
			ok, err := equiv(i, j)
			if err != nil {
				return nil, err
			}
			if ok {
				c[j] = next
			}
		}
		next++
	}
	return c, nil
}

// ClusterByEntailment clusters texts with ClusterGreedy and Equivalent.
func ClusterByEntailment(texts []string, entail EntailFunc, strict bool) ([]int, error) {
	if entail == nil {
		return nil, errors.New("measure: no entailment function")
	}
	return ClusterGreedy(len(texts), func(i, j int) (bool, error) {
		return Equivalent(texts[i], texts[j], entail, strict)
	})
}

// ClusterByCosine is the offline approximation of semantic clustering: i and
// j are "equivalent" when the cosine similarity of their embeddings is at
// least threshold. Similarity is not entailment (paraphrases of opposite
// claims can be close), so this approximates semantic entropy only.
func ClusterByCosine(x [][]float64, threshold float64) ([]int, error) {
	if _, _, err := checkRows("embeddings", x, 1); err != nil {
		return nil, err
	}
	if math.IsNaN(threshold) {
		return nil, errors.New("measure: cosine threshold is NaN")
	}
	norm := make([]float64, len(x))
	for i, r := range x {
		for _, v := range r {
			norm[i] += v * v
		}
		norm[i] = math.Sqrt(norm[i])
	}
	return ClusterGreedy(len(x), func(i, j int) (bool, error) {
		if norm[i] == 0 || norm[j] == 0 {
			return norm[i] == norm[j], nil
		}
		var d float64
		for t := range x[i] {
			d += x[i][t] * x[j][t]
		}
		return d/(norm[i]*norm[j]) >= threshold, nil
	})
}

// DiscreteSE returns −Σ p_c log p_c with p_c = n_c/N (nats).
func DiscreteSE(clusters []int) (float64, error) {
	if len(clusters) == 0 {
		return 0, errors.New("measure: semantic entropy of no items")
	}
	cnt := map[int]float64{}
	for _, c := range clusters {
		cnt[c]++
	}
	// Sum in cluster order: map order would change the last bits per call.
	keys := make([]int, 0, len(cnt))
	for c := range cnt {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	var h float64
	n := float64(len(clusters))
	for _, k := range keys {
		p := cnt[k] / n
		h -= p * math.Log(p)
	}
	return h, nil
}

// WeightedSE returns the log-probability-weighted semantic entropy (NOTES
// §4): item weights ℓ_i (mean token log-probabilities) are normalised with
// log-sum-exp, log p_c is the log-sum-exp of its members, SE = −Σ p_c log p_c.
func WeightedSE(clusters []int, logProbs []float64) (float64, error) {
	if len(clusters) == 0 {
		return 0, errors.New("measure: semantic entropy of no items")
	}
	if len(logProbs) != len(clusters) {
		return 0, fmt.Errorf("measure: %d log-probabilities for %d items", len(logProbs), len(clusters))
	}
	for i, l := range logProbs {
		if math.IsNaN(l) || math.IsInf(l, 1) {
			return 0, fmt.Errorf("measure: log-probability %d is %g", i, l)
		}
	}
	z := logSumExp(logProbs)
	if math.IsInf(z, -1) {
		return 0, errors.New("measure: every log-probability is −Inf")
	}
	members := map[int][]float64{}
	for i, c := range clusters {
		members[c] = append(members[c], logProbs[i]-z)
	}
	keys := make([]int, 0, len(members))
	for c := range members {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	var h float64
	for _, k := range keys {
		lp := logSumExp(members[k])
		if math.IsInf(lp, -1) {
			continue
		}
		h -= math.Exp(lp) * lp
	}
	return h, nil
}

func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// SEOptions configures SemanticEntropy.
type SEOptions struct {
	Strict   bool      // strict (bidirectional entailment) equivalence
	LogProbs []float64 // per-text mean token log-probabilities; nil gives the discrete SE
}

// SemanticEntropy clusters texts with the entailment function and returns
// the discrete or weighted SE in nats; Settings holds the clusters.
func SemanticEntropy(texts []string, entail EntailFunc, opt SEOptions) (Result, error) {
	c, err := ClusterByEntailment(texts, entail, opt.Strict)
	if err != nil {
		return Result{}, err
	}
	return seResult("semantic-entropy", c, opt.LogProbs, map[string]any{"strict": opt.Strict})
}

// SemanticEntropyCosine is the offline approximation: clusters by cosine
// similarity ≥ threshold (see ClusterByCosine).
func SemanticEntropyCosine(x [][]float64, threshold float64, logProbs []float64) (Result, error) {
	c, err := ClusterByCosine(x, threshold)
	if err != nil {
		return Result{}, err
	}
	return seResult("semantic-entropy-cosine", c, logProbs, map[string]any{"threshold": threshold, "approximation": true})
}

func seResult(name string, c []int, lp []float64, set map[string]any) (Result, error) {
	var v float64
	var err error
	if lp == nil {
		v, err = DiscreteSE(c)
	} else {
		v, err = WeightedSE(c, lp)
	}
	if err != nil {
		return Result{}, err
	}
	nc := 0
	for _, x := range c {
		nc = max(nc, x+1)
	}
	set["clusters"], set["n_clusters"], set["weighted"] = c, nc, lp != nil
	return Result{Name: name, Value: v, CI95: nanCI, N: len(c), Settings: set}, nil
}

// groupByLabel returns the distinct labels in order of first appearance
// and the indices of each; label(i) gives the label of item i < n.
func groupByLabel(n int, label func(i int) string) (order []string, members map[string][]int) {
	members = map[string][]int{}
	for i := range n {
		g := label(i)
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], i)
	}
	return order, members
}

// GroupedSemanticEntropy computes the semantic entropy of each group of
// texts (the generations for one prompt, or one generation batch; NOTES §4:
// Farquhar et al. cluster the answers to one question) and returns their
// mean (Name "semantic-entropy", Settings "grouped") with a 95% Student-t
// interval over groups. groups[i] names the group of texts[i]; nil puts
// every text in one group. opt.LogProbs, when set, is per text and is split
// by group. Settings hold the per-group values, sizes and cluster counts in
// order of first appearance.
func GroupedSemanticEntropy(texts, groups []string, entail EntailFunc, opt SEOptions) (Result, error) {
	if err := checkTexts(texts, 1); err != nil {
		return Result{}, err
	}
	if groups != nil && len(groups) != len(texts) {
		return Result{}, fmt.Errorf("measure: %d group labels for %d texts", len(groups), len(texts))
	}
	if opt.LogProbs != nil && len(opt.LogProbs) != len(texts) {
		return Result{}, fmt.Errorf("measure: %d log-probabilities for %d texts", len(opt.LogProbs), len(texts))
	}
	order, members := groupByLabel(len(texts), func(i int) string {
		if groups == nil {
			return ""
		}
		return groups[i]
	})
	vals := make([]float64, len(order))
	sizes := make([]int, len(order))
	nClusters := make([]int, len(order))
	for gi, g := range order {
		idx := members[g]
		sub := make([]string, len(idx))
		var lp []float64
		for j, i := range idx {
			sub[j] = texts[i]
			if opt.LogProbs != nil {
				lp = append(lp, opt.LogProbs[i])
			}
		}
		r, err := SemanticEntropy(sub, entail, SEOptions{Strict: opt.Strict, LogProbs: lp})
		if err != nil {
			return Result{}, fmt.Errorf("measure: semantic entropy of group %q: %w", g, err)
		}
		k, err := setting[int](r, "n_clusters")
		if err != nil {
			return Result{}, err
		}
		vals[gi], sizes[gi], nClusters[gi] = r.Value, len(idx), k
	}
	set := map[string]any{"strict": opt.Strict, "weighted": opt.LogProbs != nil, "grouped": groups != nil,
		"groups": order, "per_group": vals, "group_sizes": sizes, "group_clusters": nClusters}
	return Result{Name: "semantic-entropy", Value: meanOf(vals), CI95: tCI95(vals), N: len(texts), Settings: set}, nil
}
