package synth

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

func toyAnchors(n int) []dataset.Record {
	out := make([]dataset.Record, n)
	for i := range out {
		out[i] = dataset.Record{ID: fmt.Sprintf("a%d", i), Instruction: fmt.Sprintf("Task number %d.", i), Output: fmt.Sprintf("Answer %d.", i), Category: []string{"qa", "gen"}[i%2]}
	}
	return out
}

func toyPlan() Plan {
	return Plan{
		Anchors:   toyAnchors(10),
		K:         3,
		PerPrompt: 4,
		Target:    10,
		Conditions: ConditionSpace{
			Topics: []string{"science", "sport"},
			Styles: []string{"formal", "playful"},
			Mode:   ConditionsOrdered,
		},
		Seed: 7,
	}
}

// The IDs and demonstrations of a fixed plan never change: a resumed run
// (or a new version of ggmi) regenerates identical prompts.
func TestPlanIDsGolden(t *testing.T) {
	ps, err := toyPlan().Prompts()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%d %s n=%d seed=%d demos=%s condition=%s/%s\n", p.Index, p.ID, p.N, p.Seed, strings.Join(p.DemoIDs, ","), p.Condition.Topic, p.Condition.Style)
	}
	golden(t, "plan_ids.golden", b.String())
}

func TestPlanStable(t *testing.T) {
	a, err := toyPlan().Prompts()
	if err != nil {
		t.Fatal(err)
	}
	b, err := toyPlan().Prompts()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same plan differ")
	}
	if len(a) != 3 || a[0].N != 4 || a[1].N != 4 || a[2].N != 2 {
		t.Fatalf("prompts %d with N %d %d %d, want 3 with 4 4 2", len(a), a[0].N, a[1].N, a[2].N)
	}
	seen := map[string]bool{}
	for i, p := range a {
		if p.Index != i || seen[p.ID] || len(p.ID) != 32 || len(p.DemoIDs) != 3 {
			t.Errorf("prompt %d: %+v", i, p)
		}
		seen[p.ID] = true
		for _, id := range p.DemoIDs {
			if !strings.Contains(p.Text, fmt.Sprintf("Task number %s.", strings.TrimPrefix(id, "a"))) {
				t.Errorf("prompt %d does not show demo %s", i, id)
			}
		}
	}
	// Cartesian conditions: topics slowest, styles fastest.
	wantC := []Condition{{Topic: "science", Style: "formal"}, {Topic: "science", Style: "playful"}, {Topic: "sport", Style: "formal"}}
	for i, p := range a {
		if p.Condition != wantC[i] {
			t.Errorf("prompt %d condition %+v, want %+v", i, p.Condition, wantC[i])
		}
	}
	// Anything that changes the prompt changes the IDs.
	changes := map[string]func(*Plan){
		"seed":     func(p *Plan) { p.Seed = 8 },
		"template": func(p *Plan) { p.Template = CompletionTemplate() },
		"task":     func(p *Plan) { p.Task = "Other task." },
		"k":        func(p *Plan) { p.K = 2 },
		"per":      func(p *Plan) { p.PerPrompt = 5 },
		"cond":     func(p *Plan) { p.Conditions.Topics = []string{"art", "sport"} },
	}
	for name, change := range changes {
		pl := toyPlan()
		change(&pl)
		c, err := pl.Prompts()
		if err != nil {
			t.Fatal(err)
		}
		if c[0].ID == a[0].ID {
			t.Errorf("%s: the first prompt kept its ID", name)
		}
	}
	// The target only decides how many prompts there are: a longer run
	// starts with the same prompts.
	pl := toyPlan()
	pl.Target = 40
	longer, err := pl.Prompts()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(longer[:2], a[:2]) {
		t.Error("raising the target changed the first prompts")
	}
}

func TestPlanErrors(t *testing.T) {
	bad := map[string]func(*Plan){
		"per prompt": func(p *Plan) { p.PerPrompt = 0 },
		"target":     func(p *Plan) { p.Target = 0 },
		"k negative": func(p *Plan) { p.K = -1 },
		"k too big":  func(p *Plan) { p.K = 11 },
		"mode":       func(p *Plan) { p.Conditions.Mode = "zigzag" },
		"selector":   func(p *Plan) { p.Selector = StratifiedSelector{} },
		"template":   func(p *Plan) { p.Template, _ = NewTemplate("bad", "{{.Missing}}") },
	}
	for name, change := range bad {
		pl := toyPlan()
		change(&pl)
		if _, err := pl.Prompts(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := pl.DryRun(nil, 1); err == nil {
			t.Errorf("%s: dry run accepted", name)
		}
	}
}

func TestConditionsDraw(t *testing.T) {
	s := ConditionSpace{Topics: []string{"t1", "t2"}, Lengths: []string{"short", "long", "medium"}}
	if s.Size() != 6 {
		t.Fatalf("size %d", s.Size())
	}
	// Cartesian: each block of 6 holds every combination once, shuffled
	// by the seed, a new order per block.
	c, err := s.Draw(12, 1)
	if err != nil {
		t.Fatal(err)
	}
	for blk := range 2 {
		seen := map[Condition]bool{}
		for _, x := range c[6*blk : 6*blk+6] {
			seen[x] = true
		}
		if len(seen) != 6 {
			t.Errorf("block %d covers %d combinations: %+v", blk, len(seen), c)
		}
	}
	c2, _ := s.Draw(12, 1)
	c3, _ := s.Draw(12, 2)
	if !reflect.DeepEqual(c, c2) || reflect.DeepEqual(c, c3) {
		t.Error("cartesian order is not determined by the seed")
	}
	huge := ConditionSpace{Topics: make([]string, 2000), Styles: make([]string, 2000)}
	if huge.Size() != -1 {
		t.Errorf("huge size %d", huge.Size())
	}
	if h, err := huge.Draw(3, 1); err != nil || len(h) != 3 {
		t.Errorf("huge draw %v %v", h, err)
	}
	s.Mode = ConditionsOrdered
	o, _ := s.Draw(7, 1)
	if o[0] != (Condition{Topic: "t1", Length: "short"}) || o[2] != (Condition{Topic: "t1", Length: "medium"}) ||
		o[3] != (Condition{Topic: "t2", Length: "short"}) || o[6] != o[0] {
		t.Errorf("ordered %+v", o)
	}
	s.Mode = ConditionsRandom
	r1, _ := s.Draw(200, 3)
	r2, _ := s.Draw(200, 3)
	r3, _ := s.Draw(200, 4)
	if !reflect.DeepEqual(r1, r2) || reflect.DeepEqual(r1, r3) {
		t.Error("random conditions are not determined by the seed")
	}
	counts := map[Condition]int{}
	for _, c := range r1 {
		if c.Style != "" || c.Persona != "" {
			t.Fatalf("unset factor drawn: %+v", c)
		}
		counts[c]++
	}
	if len(counts) != 6 {
		t.Errorf("random draw covers %d of 6 conditions", len(counts))
	}
	empty, _ := ConditionSpace{}.Draw(3, 1)
	if len(empty) != 3 || !empty[0].IsZero() {
		t.Errorf("empty space: %+v", empty)
	}
	if _, err := s.Draw(-1, 1); err == nil {
		t.Error("negative count accepted")
	}
}

// Dry-run numbers checked by hand on a template of known length.
func TestDryRunByHand(t *testing.T) {
	tm, err := NewTemplate("ids", "{{.N}}:{{range .Demos}}{{.ID}};{{end}}")
	if err != nil {
		t.Fatal(err)
	}
	pl := Plan{Template: tm, Anchors: toyAnchors(10), K: 2, PerPrompt: 3, Target: 10, Seed: 1}
	s, err := pl.DryRun(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	// 4 requests (3+3+3+1 records); each prompt is "N:aX;aY;", 8 characters,
	// so ceil(8/4) = 2 tokens, 8 in all.
	if s.Requests != 4 || s.Records != 10 || s.PromptTokens != 8 || s.MaxPromptTokens != 2 || s.TokenMethod != "chars/4" || len(s.First) != 2 {
		t.Errorf("summary %+v", s)
	}
	if s.First[0].Text[:2] != "3:" || len(s.First[0].Text) != 8 {
		t.Errorf("first prompt %q", s.First[0].Text)
	}
	// With a tokenizer: count the demos (the ';').
	s, err = pl.DryRun(func(x string) int { return strings.Count(x, ";") }, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.PromptTokens != 8 || s.MaxPromptTokens != 2 || s.TokenMethod != "tokenizer" || len(s.First) != 4 {
		t.Errorf("summary with tokenizer %+v", s)
	}
	out := s.String()
	if !strings.Contains(out, "4 requests for 10 records, about 8 prompt tokens (tokenizer; longest prompt 2)") {
		t.Errorf("summary text:\n%s", out)
	}
	if EstimateTokens("") != 0 || EstimateTokens("abcde") != 2 || EstimateTokens("日本語です") != 2 {
		t.Error("EstimateTokens")
	}
}

func TestDryRunRealAnchors(t *testing.T) {
	anchors := seedTasks(t)
	pl := Plan{Anchors: anchors, K: 3, PerPrompt: 20, Target: 1000, Seed: 1,
		Selector:   StratifiedSelector{Field: "meta.is_classification"},
		Conditions: ConditionSpace{Topics: []string{"history", "cooking", "physics"}, Mode: ConditionsRandom}}
	s, err := pl.DryRun(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 50 || s.Records != 1000 || s.PromptTokens < 50*300 || s.Selector != "stratified:meta.is_classification" {
		t.Errorf("summary %+v", s)
	}
	t.Logf("%d requests, %d prompt tokens (longest %d)", s.Requests, s.PromptTokens, s.MaxPromptTokens)
}

func TestPromptProvenance(t *testing.T) {
	ps, err := toyPlan().Prompts()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0).UTC()
	pv := ps[1].Provenance("gpt", map[string]any{"temperature": 1.0}, "k1", at)
	if pv.PromptID != ps[1].ID || !reflect.DeepEqual(pv.DemoIDs, ps[1].DemoIDs) || pv.Seed != int64(ps[1].Seed) || pv.RawKey != "k1" || !pv.Time.Equal(at) {
		t.Errorf("provenance %+v", pv)
	}
	pv.DemoIDs[0] = "changed"
	if ps[1].DemoIDs[0] == "changed" {
		t.Error("provenance shares the prompt's demo slice")
	}
}
