package train

import (
	"encoding/json"
	"math"
)

// Softmax returns exp(x_i)/Σ_j exp(x_j) over the finite values of xs
// (computed with the maximum subtracted, so large values do not
// overflow); NaN and infinite entries stay NaN and take no share. With no
// finite value every entry is NaN.
func Softmax(xs []float64) []float64 {
	out := make([]float64, len(xs))
	mx := math.Inf(-1)
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			mx = math.Max(mx, x)
		}
	}
	var sum float64
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out[i] = math.NaN()
			continue
		}
		out[i] = math.Exp(x - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// AllGroups names the table row over every item.
const AllGroups = "all"

// RatingTable is the paper's Table 1 (App. G.2): the mean judge rating of
// each configuration, and its softmax over the configurations, per row
// (all items, then each benchmark or category).
type RatingTable struct {
	// Configs are the columns, Groups the rows (AllGroups first).
	Configs []string `json:"configs"`
	Groups  []string `json:"groups"`
	// Mean[g][c] is the mean rating of configuration c on row g with its
	// Student-t 95% interval over items (N = rated items; failed items
	// are left out and counted in Failed).
	Mean [][]Interval `json:"mean"`
	// Softmax[g] is Softmax of the row's mean ratings: the normalised
	// ratings of Table 1. A configuration without a rated item on the row
	// is NaN and takes no share.
	Softmax [][]float64 `json:"softmax"`
	// Failed[g][c] counts the items without a rating.
	Failed [][]int `json:"failed"`
}

// BuildRatingTable aggregates verdicts into a RatingTable. configs fixes
// the column order (the order of first appearance in verdicts when nil;
// configurations not listed are left out). Rows are AllGroups and then
// the non-empty groups in order of first appearance.
func BuildRatingTable(verdicts []Verdict, configs []string) RatingTable {
	if configs == nil {
		seen := map[string]bool{}
		for _, v := range verdicts {
			if !seen[v.Config] {
				seen[v.Config] = true
				configs = append(configs, v.Config)
			}
		}
	}
	col := make(map[string]int, len(configs))
	for i, c := range configs {
		col[c] = i
	}
	groups := []string{AllGroups}
	row := map[string]int{}
	for _, v := range verdicts {
		if _, ok := col[v.Config]; !ok || v.Group == "" {
			continue
		}
		if _, ok := row[v.Group]; !ok {
			row[v.Group] = len(groups)
			groups = append(groups, v.Group)
		}
	}
	ratings := make([][][]float64, len(groups))
	failed := make([][]int, len(groups))
	for g := range groups {
		ratings[g] = make([][]float64, len(configs))
		failed[g] = make([]int, len(configs))
	}
	for _, v := range verdicts {
		c, ok := col[v.Config]
		if !ok {
			continue
		}
		rows := []int{0}
		if v.Group != "" {
			rows = append(rows, row[v.Group])
		}
		for _, g := range rows {
			if v.Failure != "" || math.IsNaN(v.Rating) {
				failed[g][c]++
			} else {
				ratings[g][c] = append(ratings[g][c], v.Rating)
			}
		}
	}
	t := RatingTable{Configs: configs, Groups: groups, Failed: failed}
	for g := range groups {
		means := make([]Interval, len(configs))
		xs := make([]float64, len(configs))
		for c := range configs {
			means[c] = MeanCI(ratings[g][c])
			xs[c] = means[c].Mean
		}
		t.Mean = append(t.Mean, means)
		t.Softmax = append(t.Softmax, Softmax(xs))
	}
	return t
}

// MarshalJSON writes undefined softmax values as null.
func (t RatingTable) MarshalJSON() ([]byte, error) {
	type plain RatingTable
	sm := make([][]*float64, len(t.Softmax))
	for g, r := range t.Softmax {
		sm[g] = make([]*float64, len(r))
		for c, x := range r {
			sm[g][c] = finite(x)
		}
	}
	return json.Marshal(struct {
		plain
		Softmax [][]*float64 `json:"softmax"`
	}{plain(t), sm})
}
