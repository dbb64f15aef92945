package report

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestMeanCIAndWilson(t *testing.T) {
	// Mean 2, s = 1, t(0.975; 2) = 4.302653: half-width 4.302653/√3.
	e := meanCI([]float64{1, 2, 3})
	if h := 4.302652729911275 / math.Sqrt(3); e.Value != 2 || math.Abs(e.CI95[0]-(2-h)) > 1e-9 || math.Abs(e.CI95[1]-(2+h)) > 1e-9 || e.N != 3 {
		t.Fatalf("meanCI = %+v", e)
	}
	if e := meanCI([]float64{5}); e.Value != 5 || !math.IsNaN(e.CI95[0]) {
		t.Fatalf("one value: %+v", e)
	}
	if meanCI(nil) != nil {
		t.Fatal("no value gives an estimate")
	}
	// Wilson 95% interval of 8/10: [0.4902, 0.9433] (hand-computed:
	// (0.8 + z²/20 ± z√(0.016 + z²/400)) / (1 + z²/10)).
	w := wilson(8, 10)
	if w.Value != 0.8 || math.Abs(w.CI95[0]-0.49016) > 1e-4 || math.Abs(w.CI95[1]-0.94332) > 1e-4 {
		t.Fatalf("wilson(8, 10) = %+v", w)
	}
}

// attrFixture: four configurations sweeping persona over two generators,
// each sampling a difficulty.
func attrFixture() ([]Configuration, []AttributeSample) {
	est := func(v float64) *Estimate { return &Estimate{Value: v, CI95: [2]float64{v - .1, v + .1}, N: 2} }
	met := func(h, s float64) []Metric {
		return []Metric{{Name: "hsic", Estimate: *est(h)}, {Name: "se", Estimate: *est(s)}}
	}
	confs := []Configuration{
		{ID: "a_persona-teacher", Params: map[string]string{"generator": "a", SweptAttributePrefix + "persona": "teacher"}, Metrics: met(1, 10), Gain: est(0.5)},
		{ID: "a_persona-nurse", Params: map[string]string{"generator": "a", SweptAttributePrefix + "persona": "nurse"}, Metrics: met(2, 20), Gain: est(0.1)},
		{ID: "b_persona-teacher", Params: map[string]string{"generator": "b", SweptAttributePrefix + "persona": "teacher"}, Metrics: met(3, 30), Gain: est(0.7)},
		{ID: "b_persona-nurse", Params: map[string]string{"generator": "b", SweptAttributePrefix + "persona": "nurse"}, Metrics: met(4, math.NaN()), Gain: nil},
	}
	var samples []AttributeSample
	for i, c := range confs {
		samples = append(samples,
			AttributeSample{Config: c.ID, Attribute: "difficulty", Value: "easy", Generated: 10, Kept: 8 + i%2, Metrics: []Metric{{Name: "hsic", Estimate: *est(float64(i))}}},
			AttributeSample{Config: c.ID, Attribute: "difficulty", Value: "hard", Generated: 10, Kept: 5, Metrics: []Metric{{Name: "hsic", Estimate: *est(float64(10 + i))}}})
	}
	return confs, samples
}

func TestGroupByAttribute(t *testing.T) {
	confs, samples := attrFixture()
	g := GroupByAttribute(confs, samples)
	var keys []string
	for _, x := range g {
		keys = append(keys, x.Attribute+"="+x.Value+"/"+x.Source)
	}
	if want := []string{"difficulty=easy/sampled", "difficulty=hard/sampled", "persona=teacher/sweep", "persona=nurse/sweep"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("groups %v, want %v", keys, want)
	}
	teacher, nurse := g[2], g[3]
	// Teacher: hsic mean of 1 and 3, gain mean of 0.5 and 0.7.
	if teacher.Metrics[0].Name != "hsic" || teacher.Metrics[0].Estimate.Value != 2 || math.Abs(teacher.Gain.Value-0.6) > 1e-12 || teacher.Gain.N != 2 {
		t.Fatalf("teacher %+v", teacher)
	}
	// Nurse: the NaN se and the missing gain are left out.
	if nurse.Metrics[1].Name != "se" || nurse.Metrics[1].Estimate.Value != 20 || nurse.Metrics[1].Estimate.N != 1 || nurse.Gain.Value != 0.1 || nurse.Gain.N != 1 {
		t.Fatalf("nurse %+v", nurse)
	}
	easy := g[0]
	// 40 records, 8+9+8+9 kept; hsic mean of 0, 1, 2, 3.
	if easy.Records != 40 || easy.Kept.Value != 34.0/40 || easy.Metrics[0].Estimate.Value != 1.5 || len(easy.Configurations) != 4 || easy.Gain != nil {
		t.Fatalf("easy %+v", easy)
	}
}

// The Markdown tables and the page's attribute section are compared with
// golden files (go test ./report -update rewrites them).
func TestAttributesGolden(t *testing.T) {
	confs, samples := attrFixture()
	groups := GroupByAttribute(confs, samples)
	var md bytes.Buffer
	if err := AttributesMarkdown(&md, groups); err != nil {
		t.Fatal(err)
	}
	msGolden(t, "attributes.golden.md", md.String())

	r := htmlFixture(t)
	r.Attributes = groups
	var page bytes.Buffer
	if err := WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	s := page.String()
	i, j := strings.Index(s, `<section id="attributes"`), strings.Index(s, `<section id="gmm"`)
	if i < 0 || j < i || !strings.Contains(s, `<a href="#attributes">By attribute</a>`) {
		t.Fatalf("no attribute section before the GMM section in the page")
	}
	msGolden(t, "attributes.golden.html", s[i:j])
}
