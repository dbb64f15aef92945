package measure

import (
	"errors"
	"math"
	"testing"
)

// table builds an entailment function from a hand-made table; missing pairs
// are neutral.
func table(t map[[2]string]Label) EntailFunc {
	return func(a, b string) (Label, error) {
		if a == "ERR" || b == "ERR" {
			return Neutral, errors.New("judge failed")
		}
		if a == b {
			return Entailment, nil
		}
		return t[[2]string{a, b}], nil
	}
}

func TestSemanticEntropyTables(t *testing.T) {
	// Paris ⇔ capital-is-Paris (both ways); Paris → France-city one way only
	// (entailment one way, neutral back); Lyon contradicts Paris.
	tab := map[[2]string]Label{
		{"paris", "capital paris"}: Entailment, {"capital paris", "paris"}: Entailment,
		{"paris", "french city"}: Entailment, {"french city", "paris"}: Neutral,
		{"paris", "lyon"}: Contradiction, {"lyon", "paris"}: Contradiction,
		{"capital paris", "french city"}: Entailment,
	}
	texts := []string{"paris", "capital paris", "french city", "lyon", "paris"}
	cases := []struct {
		name    string
		strict  bool
		want    []int
		entropy float64
	}{
		// strict: {paris, capital paris, paris}, {french city}, {lyon}: p = 3/5, 1/5, 1/5.
		{"strict", true, []int{0, 0, 1, 2, 0}, -(0.6*math.Log(0.6) + 2*0.2*math.Log(0.2))},
		// non-strict: french city joins paris (entails one way, no contradiction): p = 4/5, 1/5.
		{"non-strict", false, []int{0, 0, 0, 1, 0}, -(0.8*math.Log(0.8) + 0.2*math.Log(0.2))},
	}
	for _, tc := range cases {
		r, err := SemanticEntropy(texts, table(tab), SEOptions{Strict: tc.strict})
		if err != nil {
			t.Fatal(err)
		}
		got := r.Settings["clusters"].([]int)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: clusters %v, want %v", tc.name, got, tc.want)
			}
		}
		near(t, tc.name+" SE", r.Value, tc.entropy, 1e-12)
	}
	// Greedy: j is compared with the opener only. a~b, b~c but not a~c ⇒ c alone.
	tab2 := map[[2]string]Label{{"a", "b"}: Entailment, {"b", "a"}: Entailment, {"b", "c"}: Entailment, {"c", "b"}: Entailment}
	c, _ := ClusterByEntailment([]string{"a", "b", "c"}, table(tab2), true)
	if c[0] != 0 || c[1] != 0 || c[2] != 1 {
		t.Errorf("greedy clusters %v, want [0 0 1]", c)
	}
	if _, err := SemanticEntropy([]string{"x", "ERR"}, table(nil), SEOptions{}); err == nil {
		t.Error("judge error swallowed")
	}
	if _, err := SemanticEntropy(nil, table(nil), SEOptions{}); err == nil {
		t.Error("empty input accepted")
	}
}

func TestWeightedSE(t *testing.T) {
	// Items with probabilities ∝ 1, 1, 2 (log-probs 0, 0, log 2 minus anything),
	// clusters {0,1} and {2}: p = 1/2, 1/2 ⇒ SE = log 2.
	lp := []float64{-3, -3, -3 + math.Log(2)}
	v, err := WeightedSE([]int{0, 0, 1}, lp)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "weighted SE", v, math.Log(2), 1e-12)
	// Clusters {0} and {1,2}: p = 1/4, 3/4.
	v, _ = WeightedSE([]int{0, 1, 1}, lp)
	near(t, "weighted SE", v, -(0.25*math.Log(0.25) + 0.75*math.Log(0.75)), 1e-12)
	if _, err := WeightedSE([]int{0, 1}, []float64{0, math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := WeightedSE([]int{0, 1}, []float64{0}); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestSemanticEntropyCosine(t *testing.T) {
	x := [][]float64{{1, 0}, {0.99, 0.1}, {0, 1}, {-1, 0}}
	r, err := SemanticEntropyCosine(x, 0.9, nil)
	if err != nil {
		t.Fatal(err)
	}
	// clusters {0,1}, {2}, {3}: p = 1/2, 1/4, 1/4.
	near(t, "cosine SE", r.Value, -(0.5*math.Log(0.5) + 0.5*math.Log(0.25)), 1e-12)
	if _, err := SemanticEntropyCosine(x, math.NaN(), nil); err == nil {
		t.Error("NaN threshold accepted")
	}
}
