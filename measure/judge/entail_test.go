package judge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"

	"github.com/ggmi-dev/ggmi/measure"
)

func TestParseEntailment(t *testing.T) {
	cases := []struct {
		text string
		want measure.Label
		ok   bool
	}{
		{`{"label":"entailment"}`, measure.Entailment, true},
		{`{"label": "contradiction"}`, measure.Contradiction, true},
		{`{"label":"neutral"}`, measure.Neutral, true},
		{"```json\n{\"label\": \"Entailment\"}\n```", measure.Entailment, true},
		{`The answer is {"label":"contradiction"} because of the dates.`, measure.Contradiction, true},
		{"Contradiction: the first says Monday, the second Friday.", measure.Contradiction, true},
		{"I think this is an entailment, not a contradiction.", measure.Entailment, true},
		{"NEUTRAL", measure.Neutral, true},
		{`{"label":"maybe"} neutral`, measure.Neutral, true},
		{"no idea", measure.Neutral, false},
		{"", measure.Neutral, false},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got, err := ParseEntailment(c.text)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if got != c.want {
				t.Errorf("label %d, want %d", got, c.want)
			}
		})
	}
}

var statementLine = regexp.MustCompile(`(?m)^Statement ([AB]): (.*)$`)

// entailReply judges statements "<subject> is <colour>": the same colour
// entails, "not <colour>" of the same colour contradicts, anything else is
// neutral. free wraps the label in prose (no JSON).
func entailReply(free bool) func(stage string, req llm.Request) string {
	return func(stage string, req llm.Request) string {
		if stage != "entailment" {
			return "?"
		}
		st := map[string]string{}
		for _, m := range statementLine.FindAllStringSubmatch(userText(req), -1) {
			st[m[1]] = m[2]
		}
		colour := func(s string) (string, bool) {
			f := strings.Fields(s)
			if len(f) == 0 {
				return "", false
			}
			return f[len(f)-1], strings.Contains(s, " not ")
		}
		ca, na := colour(st["A"])
		cb, nb := colour(st["B"])
		label := "neutral"
		switch {
		case ca == cb && na == nb:
			label = "entailment"
		case ca == cb:
			label = "contradiction"
		}
		if free {
			return "Label: " + strings.ToUpper(label[:1]) + label[1:] + "."
		}
		return `{"label":"` + label + `"}`
	}
}

// TestLLMEntailment clusters statements with the LLM judge (schema and
// free-text backends) under strict and non-strict equivalence.
func TestLLMEntailment(t *testing.T) {
	texts := []string{"the sky is blue", "the sea is blue", "the sky is not blue", "grass is green", "leaves are green"}
	cases := []struct {
		name   string
		reject bool
		strict bool
		want   []int
	}{
		{"schema strict", false, true, []int{0, 0, 1, 2, 2}},
		{"schema non-strict", false, false, []int{0, 0, 1, 2, 2}},
		{"free text strict", true, true, []int{0, 0, 1, 2, 2}},
		{"free text non-strict", true, false, []int{0, 0, 1, 2, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &scriptedLLM{reply: entailReply(c.reject), rejectSchema: c.reject}
			e, err := NewLLMEntailer(fake, LLMEntailOptions{Seed: 3, Context: "What colour is it?"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := measure.ClusterByEntailment(texts, e.Func(context.Background()), c.strict)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("clusters %v, want %v", got, c.want)
			}
			st := e.Stats()
			if c.reject != (st.SchemaRejections == 1) || st.Unparsed != 0 || e.Fallbacks() != 0 {
				t.Errorf("stats %+v, fallbacks %d", st, e.Fallbacks())
			}
			// Memoised: asking again costs no request.
			before := st.Calls
			if _, err := e.Entail(context.Background(), texts[0], texts[1]); err != nil {
				t.Fatal(err)
			}
			if e.Stats().Calls != before {
				t.Error("a repeated judgement was asked again")
			}
			for _, req := range fake.requests() {
				if !strings.Contains(userText(req), "What colour is it?") {
					t.Fatal("the context is missing from the prompt")
				}
			}
		})
	}
}

// TestLLMEntailmentUnparsed: an answer without a label is asked again and
// finally read as neutral; backend errors are returned.
func TestLLMEntailmentUnparsed(t *testing.T) {
	fake := &scriptedLLM{reply: func(string, llm.Request) string { return "hmm" }}
	e, err := NewLLMEntailer(fake, LLMEntailOptions{Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.Entail(context.Background(), "a", "b")
	if err != nil || l != measure.Neutral {
		t.Fatalf("label %d, err %v; want neutral", l, err)
	}
	if st := e.Stats(); st.Calls != 3 || st.Unparsed != 3 || e.Fallbacks() != 1 {
		t.Errorf("stats %+v, fallbacks %d; want 3 calls, 3 unparsed, 1 fallback", st, e.Fallbacks())
	}
	boom := errors.New("down")
	e2, _ := NewLLMEntailer(errLLM{boom}, LLMEntailOptions{})
	if _, err := e2.Entail(context.Background(), "a", "b"); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the backend's", err)
	}
}

// TestGroupedSemanticEntropy checks per-group SE against hand-computed
// values.
func TestGroupedSemanticEntropy(t *testing.T) {
	texts := []string{"the sky is blue", "the sea is blue", "grass is green", "a frog is green", "a leaf is green"}
	fake := &scriptedLLM{reply: entailReply(false)}
	e, err := NewLLMEntailer(fake, LLMEntailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := func(p ...float64) float64 {
		var s float64
		for _, x := range p {
			s -= x * math.Log(x)
		}
		return s
	}
	cases := []struct {
		name     string
		groups   []string
		logProbs []float64
		want     float64
		per      []float64
	}{
		// One group: clusters {blue: 2, green: 3}.
		{"whole set", nil, nil, h(0.4, 0.6), []float64{h(0.4, 0.6)}},
		// p1 = {blue, blue, green}: h(2/3, 1/3); p2 = {green, green}: 0.
		{"by prompt", []string{"p1", "p1", "p1", "p2", "p2"}, nil, h(2.0/3, 1.0/3) / 2, []float64{h(2.0/3, 1.0/3), 0}},
		// Weighted: p1 weights ∝ e^0, e^0, e^{ln 2} → blue 2/4, green 2/4.
		{"weighted", []string{"p1", "p1", "p1", "p2", "p2"}, []float64{0, 0, math.Log(2), -1, -3}, h(0.5, 0.5) / 2, []float64{h(0.5, 0.5), 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := measure.GroupedSemanticEntropy(texts, c.groups, e.Func(context.Background()), measure.SEOptions{Strict: true, LogProbs: c.logProbs})
			if err != nil {
				t.Fatal(err)
			}
			near(t, "SE", r.Value, c.want, 1e-12)
			per := r.Settings["per_group"].([]float64)
			if len(per) != len(c.per) {
				t.Fatalf("per-group %v, want %v", per, c.per)
			}
			for i := range per {
				near(t, "group SE", per[i], c.per[i], 1e-12)
			}
			if len(per) == 1 && !math.IsNaN(r.CI95[0]) {
				t.Errorf("one group: CI %v, want NaN", r.CI95)
			}
		})
	}
	if _, err := measure.GroupedSemanticEntropy(texts, []string{"a"}, e.Func(context.Background()), measure.SEOptions{}); err == nil {
		t.Error("mismatched groups: want an error")
	}
}

func TestCapGroups(t *testing.T) {
	texts := []string{"a1", "b1", "a2", "a3", "b2", "a4"}
	groups := []string{"a", "b", "a", "a", "b", "a"}
	gt, gg := capGroups(texts, groups, 2, 1)
	count := map[string]int{}
	for i, g := range gg {
		count[g]++
		if !strings.HasPrefix(gt[i], g) {
			t.Fatalf("text %q kept with group %q", gt[i], g)
		}
	}
	if count["a"] != 2 || count["b"] != 2 {
		t.Errorf("kept %v, want 2 per group", count)
	}
	gt2, _ := capGroups(texts, groups, 2, 1)
	if fmt.Sprint(gt) != fmt.Sprint(gt2) {
		t.Error("capGroups is not deterministic")
	}
	if all, g := capGroups(texts, nil, 10, 1); len(all) != 6 || g != nil {
		t.Errorf("no cap: kept %v", all)
	}
}
