package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// htmlFixture is a fixed report of an App. G-style experiment: five
// generator × demonstration-count configurations, their metrics, the
// student's results, the judge-rating gain over the base model, the
// predictors computed from them, and a GMM section with a small figure.
func htmlFixture(t *testing.T) Report {
	t.Helper()
	nan := math.NaN()
	type row struct {
		id, label, gen, k      string
		hsic, se, ksg, dh, ng  float64
		vendi                  float64
		loss, ppl, gap, judge  float64
		gain, gainLo, gainHigh float64
	}
	rows := []row{
		{"gpt4o-3", "GPT-4o, 3-ins", "gpt-4o", "3", 7.870e-3, 1.074, 0.462, 0.21, 0.61, 41.2, 2.91, 18.4, 0.41, 6.10, 0.045, 0.031, 0.060},
		{"gpt4o-10", "GPT-4o, 10-ins", "gpt-4o", "10", 7.867e-3, 1.050, 0.455, 0.18, 0.63, 44.0, 2.86, 17.5, 0.37, 6.32, 0.056, 0.041, 0.070},
		{"gpt4o-20", "GPT-4o, 20-ins", "gpt-4o", "20", 7.850e-3, 1.001, 0.470, 0.30, 0.63, 45.1, 2.84, 17.1, 0.35, 6.41, 0.061, 0.047, 0.075},
		{"llama3b-3", "Llama-3.2-3B, 3-ins", "llama-3.2-3b", "3", 11.43e-3, 2.943, 0.301, -0.02, 0.55, nan, 3.05, nan, 0.52, 5.42, 0.020, 0.004, 0.036},
		{"llama1b-3", "Llama-3.2-1B <small>, 3-ins", "llama-3.2-1b", "3", 12.10e-3, 2.800, 0.330, 0.05, 0.48, 30.5, 3.21, 24.8, 0.63, 4.90, -0.010, -0.027, 0.006},
	}
	r := Report{
		Title:   "Dolly-15K: demonstrations and generators",
		Summary: "Five configurations of the App. G experiment: GPT-4o with 3, 10 and 20 anchor demonstrations, and two Llama generators with 3.",
		Manifest: Manifest{
			Name: "dolly-xins", Version: "v0.4.0", Created: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
			Inputs: []InputFile{
				{Role: "anchors", Path: "data/anchors.jsonl", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Bytes: 11_983_220},
				{Role: "prompt template", Path: "prompts/alpaca.tmpl", SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Bytes: 2_310},
			},
			Seeds:  map[string]uint64{"generation": 1, "split": 42, "training": 7, "bootstrap": 11},
			Config: "name: dolly-xins\nanchors: data/anchors.jsonl\nsweep:\n  demos: [3, 10, 20]\n",
			Stages: []StageTiming{{"generate", 1520.4}, {"curate", 61.2}, {"measure", 340.9}, {"train", 2210.0}, {"judge", 880.5}},
		},
		Metrics: []MetricInfo{
			{Name: "hsic", Expected: -1},
			{Name: "semantic-entropy-cosine", Expected: -1},
			{Name: "ksg-mi", Expected: 1},
			{Name: "delta_h", Label: "ΔH", Expected: 1},
		},
		Gain: GainInfo{Label: "judge gain", Doc: "mean judge rating (softmax-normalised) minus the base model's 0.1409."},
	}
	for i, w := range rows {
		ci := func(v, h float64) Estimate { return Estimate{Value: v, CI95: [2]float64{v - h, v + h}, N: 1000} }
		c := Configuration{
			ID: w.id, Label: w.label, Params: map[string]string{"generator": w.gen, "demos": w.k, "records": "2000"},
			Metrics: []Metric{
				{Name: "hsic", Estimate: ci(w.hsic, 2e-4)},
				{Name: "semantic-entropy-cosine", Estimate: ci(w.se, 0.05)},
				{Name: "ksg-mi", Estimate: ci(w.ksg, 0.03)},
				{Name: "delta_h", Estimate: ci(w.dh, 0.04)},
				{Name: "ngram-diversity", Estimate: Estimate{Value: w.ng, CI95: [2]float64{nan, nan}, N: 1000}},
			},
			Downstream: Downstream{
				TestLoss:          Est(w.loss, w.loss-0.03, w.loss+0.03),
				GeneralizationGap: Est(w.gap, w.gap-0.02, w.gap+0.02),
				AnchorGap:         Est(w.gain-0.1, w.gain-0.2, w.gain),
				JudgeRating:       Est(w.judge, w.judge-0.2, w.judge+0.2),
			},
			Gain: Est(w.gain, w.gainLo, w.gainHigh),
		}
		if !math.IsNaN(w.vendi) {
			c.Metrics = append(c.Metrics, Metric{Name: "vendi", Estimate: ci(w.vendi, 1.5)})
		}
		if !math.IsNaN(w.ppl) {
			c.Downstream.Perplexity = Est(w.ppl, w.ppl-0.5, w.ppl+0.5)
		}
		if i == 0 {
			c.Metrics[0].Settings = map[string]string{"kernel": "gaussian", "bandwidth": "median"}
		}
		r.Configurations = append(r.Configurations, c)
	}
	preds, err := Predict(r, nil, 1000, 11)
	if err != nil {
		t.Fatal(err)
	}
	r.Predictors = preds
	r.GMM = &GMMSection{
		Title:   "GMM lab",
		Summary: "A small sweep of the reverse-bottleneck world.",
		Trends: []GMMTrend{
			{Sweep: "K", Column: "gap_mc_model-gt", Label: "KL Gap, mc, model-gt", Slope: Estimate{Value: 0.579, CI95: [2]float64{0.489, 0.676}, N: 1400}, Spearman: Estimate{Value: 0.41, CI95: [2]float64{0.36, 0.45}, N: 1400}, Paper: -1, Verdict: "reversed"},
			{Sweep: "J", Column: "gap_mc_model-gt", Label: "KL Gap, mc, model-gt", Slope: Estimate{Value: 0.818, CI95: [2]float64{0.657, 1.0}, N: 1400}, Spearman: Estimate{Value: 0.22, CI95: [2]float64{0.17, 0.27}, N: 1400}, Paper: 1, Verdict: "holds"},
			{Sweep: "L", Column: "delta_h", Label: "ΔH", Slope: Estimate{Value: -0.061, CI95: [2]float64{-0.2, 0.1}, N: 1400}, Spearman: Estimate{Value: -0.01, CI95: [2]float64{-0.06, 0.04}, N: 1400}, Verdict: "no claim"},
		},
		Figures: []Figure{{
			Title:   "A square",
			Caption: "A hand-drawn figure standing in for Fig. 4.",
			SVG:     `<?xml version="1.0"?>` + "\n" + `<svg width="120pt" height="60pt" viewBox="0 0 120 60" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><rect x="10" y="10" width="40" height="40" fill="#1f77b4"/><text x="60" y="35">K ↑</text></svg>`,
		}},
	}
	return r
}

func renderHTML(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The page of a fixed report is compared with a golden file
// (go test ./report -update rewrites it).
func TestWriteHTMLGolden(t *testing.T) {
	got := renderHTML(t, htmlFixture(t))
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("page differs from %s; rerun with -update if the change is intended", golden)
	}
	// Rendering is deterministic.
	if again := renderHTML(t, htmlFixture(t)); again != got {
		t.Error("two renderings of the same report differ")
	}
}

// htmlNode is an element of a parsed page.
type htmlNode struct {
	name     string
	attr     map[string]string
	parent   *htmlNode
	children []*htmlNode
	text     strings.Builder
}

func (n *htmlNode) find(name string) []*htmlNode {
	var out []*htmlNode
	var walk func(*htmlNode)
	walk = func(m *htmlNode) {
		for _, c := range m.children {
			if c.name == name {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(n)
	return out
}

func (n *htmlNode) all() []*htmlNode {
	out := []*htmlNode{n}
	for _, c := range n.children {
		out = append(out, c.all()...)
	}
	return out
}

// parseHTML parses a page with encoding/xml in its lenient HTML mode (void
// elements closed automatically, HTML entities known) into a tree.
func parseHTML(t *testing.T, page string) *htmlNode {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &htmlNode{name: "#root"}
	cur := root
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse page: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &htmlNode{name: strings.ToLower(tk.Name.Local), attr: map[string]string{}, parent: cur}
			for _, a := range tk.Attr {
				key := strings.ToLower(a.Name.Local)
				if a.Name.Space != "" && a.Name.Space != "http://www.w3.org/2000/svg" {
					key = a.Name.Space + ":" + key
				}
				n.attr[key] = a.Value
			}
			cur.children = append(cur.children, n)
			cur = n
		case xml.EndElement:
			if cur.parent == nil || cur.name != strings.ToLower(tk.Name.Local) {
				t.Fatalf("parse page: </%s> closes <%s>", tk.Name.Local, cur.name)
			}
			cur = cur.parent
		case xml.CharData:
			for n := cur; n != nil; n = n.parent {
				n.text.Write(tk)
			}
		}
	}
	if cur != root {
		t.Fatalf("parse page: <%s> is not closed", cur.name)
	}
	return root
}

// checkSelfContained asserts the structure every page must have: every
// figure holds exactly one inline <svg> with a title and a caption, nothing
// is loaded (no script, img, link, iframe, object, embed), every link and
// source stays inside the page and lands on an element, and every table
// has a caption and header cells with a scope.
func checkSelfContained(t *testing.T, page string) (root *htmlNode, figures int) {
	t.Helper()
	root = parseHTML(t, page)
	ids := map[string]bool{}
	for _, n := range root.all() {
		if id, ok := n.attr["id"]; ok {
			if ids[id] {
				t.Errorf("id %q is used twice", id)
			}
			ids[id] = true
		}
	}
	for _, n := range root.all() {
		switch n.name {
		case "script", "img", "link", "iframe", "object", "embed", "image", "use", "foreignobject":
			if n.name == "image" && strings.HasPrefix(n.attr["href"], "data:image/") {
				continue
			}
			t.Errorf("page has a <%s> element", n.name)
		}
		for k, v := range n.attr {
			if strings.HasPrefix(k, "on") {
				t.Errorf("<%s> has an event attribute %s", n.name, k)
			}
			base := k[strings.LastIndex(k, ":")+1:]
			if base != "href" && base != "src" {
				continue
			}
			if !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%q> points outside the page", n.name, k, v)
			} else if !ids[v[1:]] {
				t.Errorf("<%s %s=%q> points to no element", n.name, k, v)
			}
		}
		if strings.Contains(n.attr["style"], "url(") {
			t.Errorf("<%s> style loads a url: %q", n.name, n.attr["style"])
		}
	}
	for _, s := range root.find("style") {
		css := s.text.String()
		if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
			t.Error("the style sheet loads something")
		}
	}
	for _, f := range root.find("figure") {
		figures++
		svgs := f.find("svg")
		if len(svgs) != 1 || f.children[0].name != "svg" {
			t.Errorf("figure %q: %d inline <svg>, want its first child to be the only one", f.attr["id"], len(svgs))
			continue
		}
		svg := svgs[0]
		if svg.attr["role"] != "img" || svg.attr["aria-labelledby"] == "" {
			t.Errorf("figure %q: svg role %q, aria-labelledby %q", f.attr["id"], svg.attr["role"], svg.attr["aria-labelledby"])
		}
		for _, ref := range strings.Fields(svg.attr["aria-labelledby"]) {
			if !ids[ref] {
				t.Errorf("figure %q: aria-labelledby names a missing %q", f.attr["id"], ref)
			}
		}
		if len(svg.find("title")) == 0 {
			t.Errorf("figure %q: svg has no <title>", f.attr["id"])
		}
		caps := f.find("figcaption")
		if len(caps) != 1 || strings.TrimSpace(caps[0].text.String()) == "" {
			t.Errorf("figure %q: no caption", f.attr["id"])
		}
	}
	// Every SVG of the page is inside a figure.
	if n := len(root.find("svg")); n != figures {
		t.Errorf("%d <svg> elements, %d figures", n, figures)
	}
	for _, tab := range root.find("table") {
		if caps := tab.find("caption"); len(caps) != 1 {
			t.Errorf("a table has %d captions", len(caps))
		}
		ths := tab.find("th")
		if len(ths) == 0 {
			t.Error("a table has no header cells")
		}
		for _, th := range ths {
			if th.attr["scope"] != "col" && th.attr["scope"] != "row" {
				t.Errorf("header cell %q has no scope", strings.TrimSpace(th.text.String()))
			}
		}
	}
	return root, figures
}

func TestWriteHTMLSelfContained(t *testing.T) {
	r := htmlFixture(t)
	page := renderHTML(t, r)
	root, figures := checkSelfContained(t, page)
	// One bar chart per metric and downstream quantity, one scatter plot
	// per predictor, and the GMM figure.
	metrics := 6    // hsic, se, ksg, ΔH, n-gram, vendi
	downstream := 5 // loss, perplexity, gap, gap to the S_anchor student, judge
	if want := metrics + downstream + len(r.Predictors) + 1; figures != want {
		t.Errorf("%d figures, want %d", figures, want)
	}
	if len(r.Predictors) != metrics {
		t.Errorf("%d predictors, want one per metric (%d)", len(r.Predictors), metrics)
	}
	for _, id := range []string{"configurations", "predictors", "metrics", "downstream", "gmm", "manifest"} {
		found := false
		for _, s := range root.find("section") {
			found = found || s.attr["id"] == id
		}
		if !found {
			t.Errorf("no section %q", id)
		}
	}
	for _, s := range []string{
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", // an input's hash
		"name: dolly-xins", // the configuration text
		"judge gain",       // the gain's label
		"Percentile bootstrap over configurations, 1000 resamples, seed 11.",
		"2026-11-22 05:00:00 UTC",
	} {
		if !strings.Contains(root.text.String(), s) {
			t.Errorf("page text lacks %q", s)
		}
	}
}

// Text from the report is escaped everywhere: in the page, in SVG text and
// in attributes.
func TestWriteHTMLEscapes(t *testing.T) {
	r := htmlFixture(t)
	evil := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	r.Title = evil
	r.Configurations[0].Label = evil
	r.Configurations[0].Params["note"] = evil
	r.Metrics = append(r.Metrics, MetricInfo{Name: "hsic-rff", Doc: evil})
	r.Configurations[1].Metrics = append(r.Configurations[1].Metrics, Metric{Name: "hsic-rff", Estimate: Estimate{Value: 1}})
	r.Manifest.Config = "</code></pre>" + evil
	preds, err := Predict(r, nil, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Predictors = preds
	page := renderHTML(t, r)
	// The text survives as text; checkSelfContained finds no element or
	// attribute made of it.
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	checkSelfContained(t, page)
}

func TestWriteHTMLRejectsUnsafeFigure(t *testing.T) {
	r := htmlFixture(t)
	r.GMM.Figures[0].SVG = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err == nil {
		t.Error("a figure with a script was accepted")
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes written on error", b.Len())
	}
}

func TestInlineSVG(t *testing.T) {
	cases := []struct {
		name, doc string
		ok        bool
	}{
		{"plain", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>`, true},
		{"prolog and comment", "<?xml version=\"1.0\"?>\n<!-- Generated by SVGo -->\n<svg><g><path d=\"M0 0L1 1\"/></g></svg>", true},
		{"self-closing", `<svg/>`, true},
		{"fragment link", `<svg><a href="#x"><rect id="x"/></a></svg>`, true},
		{"data image", `<svg><image xlink:href="data:image/png;base64,AAAA"/></svg>`, true},
		{"not svg", `<html><body/></html>`, false},
		{"script", `<svg><script>alert(1)</script></svg>`, false},
		{"event", `<svg onload="alert(1)"></svg>`, false},
		{"external link", `<svg><a href="https://example.com/">x</a></svg>`, false},
		{"external image", `<svg><image xlink:href="http://example.com/a.png"/></svg>`, false},
		{"foreign object", `<svg><foreignObject><div/></foreignObject></svg>`, false},
		{"external css", `<svg><rect style="fill:url(http://example.com/p)"/></svg>`, false},
		{"import", `<svg><style>@import "http://example.com/a.css";</style></svg>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := inlineSVG(c.doc, "f1", `a "title"`)
			if (err == nil) != c.ok {
				t.Fatalf("error %v, want ok %v", err, c.ok)
			}
			if !c.ok {
				return
			}
			s := string(got)
			if !strings.HasPrefix(s, `<svg`) || !strings.HasSuffix(s, "</svg>") {
				t.Errorf("inlined %q", s)
			}
			if !strings.Contains(s, `role="img" aria-labelledby="f1-t"><title id="f1-t">a &#34;title&#34;</title>`) {
				t.Errorf("not labelled: %q", s)
			}
		})
	}
}

// A report survives a JSON round trip, NaN as null included.
func TestReportJSON(t *testing.T) {
	r := htmlFixture(t)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ci95":[null,null]`) {
		t.Error("an undefined interval is not written as null")
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("JSON round trip changes the report")
	}
	if e := back.Configurations[0].Metrics[4].Estimate; !math.IsNaN(e.CI95[0]) || e.Value != 0.61 {
		t.Errorf("n-gram estimate read back as %+v", e)
	}
	if renderHTML(t, back) != renderHTML(t, r) {
		t.Error("the page of the round-tripped report differs")
	}
}

func TestPredict(t *testing.T) {
	cfg := func(id string, gain float64, ms map[string]float64) Configuration {
		c := Configuration{ID: id, Gain: &Estimate{Value: gain}}
		for _, k := range htmlSortedKeys(ms) {
			c.Metrics = append(c.Metrics, Metric{Name: k, Estimate: Estimate{Value: ms[k]}})
		}
		return c
	}
	r := Report{
		Metrics: []MetricInfo{{Name: "up", Expected: 1}, {Name: "down", Expected: 1}, {Name: "flat", Expected: 1}, {Name: "rare", Expected: 1}},
		Configurations: []Configuration{
			cfg("a", 1, map[string]float64{"up": 1, "down": 9, "flat": 5, "free": 3, "rare": 1}),
			cfg("b", 2, map[string]float64{"up": 2, "down": 8, "flat": 5, "free": 1}),
			cfg("c", 3, map[string]float64{"up": 3, "down": 7, "flat": 5, "free": 4}),
			cfg("d", 4, map[string]float64{"up": 4, "down": 6, "flat": 5, "free": 2}),
			cfg("e", 5, map[string]float64{"up": 5, "down": 5, "flat": 5, "free": 5, "rare": 2}),
			cfg("f", 6, map[string]float64{"up": 6, "down": 4, "flat": 5, "free": 6}),
			cfg("g", 7, map[string]float64{"up": 7, "down": 3, "flat": 5, "free": 7}),
			{ID: "no gain", Metrics: []Metric{{Name: "up", Estimate: Estimate{Value: 100}}}},
		},
	}
	got, err := Predict(r, nil, 500, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		metric  string
		rho     float64
		n       int
		verdict string
	}{
		{"up", 1, 7, "agrees"},
		{"down", -1, 7, "opposite"},
		{"flat", math.NaN(), 7, "undefined"},
		{"rare", math.NaN(), 2, "undefined"},
		{"free", 23.0 / 28, 7, "no claim"}, // ranks 3 1 4 2 5 6 7, Σd² = 10: ρ = 1 − 60/336
	}
	if len(got) != len(want) {
		t.Fatalf("%d predictors, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Metric != w.metric || g.Rho.N != w.n || g.Verdict != w.verdict ||
			(math.IsNaN(w.rho) != math.IsNaN(g.Rho.Value)) || (!math.IsNaN(w.rho) && math.Abs(g.Rho.Value-w.rho) > 1e-12) {
			t.Errorf("predictor %d: %+v, want %+v", i, g, w)
		}
		if g.Reps != 500 || g.Seed != 5 {
			t.Errorf("predictor %s: bootstrap %d reps, seed %d", g.Metric, g.Reps, g.Seed)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 1, []string{"0.00", "0.25", "0.50", "0.75", "1.00"}},
		{-0.08, 0.3, []string{"-0.1", "0.0", "0.1", "0.2", "0.3"}},
		{0, 45.1, []string{"0", "20", "40", "60"}},
		{7.85e-3, 12.1e-3, []string{"0.006", "0.008", "0.010", "0.012", "0.014"}},
		{2, 2, []string{"1.8", "2.0", "2.2"}},
		{-3, 1e6, []string{"-5e+05", "0", "5e+05", "1e+06"}},
	}
	for _, c := range cases {
		ticks, a, b := niceTicks(c.lo, c.hi, 4)
		var got []string
		for _, tk := range ticks {
			got = append(got, tickLabel(tk, ticks))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("ticks of [%g, %g]: %v, want %v", c.lo, c.hi, got, c.want)
		}
		if a > c.lo || b < c.hi {
			t.Errorf("ticks of [%g, %g] span [%g, %g]", c.lo, c.hi, a, b)
		}
	}
}

func TestFormatFor(t *testing.T) {
	nan := math.NaN()
	e := func(v, lo, hi float64) Estimate { return Estimate{Value: v, CI95: [2]float64{lo, hi}} }
	cases := []struct {
		name string
		es   []Estimate
		v    float64
		want string
	}{
		{"three significant digits", []Estimate{e(2.91, 2.88, 2.94), e(3.21, 3.18, 3.24)}, 2.91, "2.91"},
		{"small", []Estimate{e(0.045, 0.031, 0.06), e(-0.01, -0.027, 0.006)}, 0.045, "0.0450"},
		{"large", []Estimate{e(41.2, 39.7, 42.7)}, 41.2, "41.2"},
		{"distinct values need more digits", []Estimate{e(7.870e-3, nan, nan), e(7.867e-3, nan, nan), e(7.850e-3, nan, nan)}, 7.867e-3, "0.007867"},
		{"exponent", []Estimate{e(2.5e6, 2e6, 3e6)}, 2.5e6, "2.5e+06"},
		{"zero", []Estimate{e(0, 0, 0)}, 0, "0.000"},
		{"undefined", []Estimate{e(1, 0, 2)}, nan, "–"},
	}
	for _, c := range cases {
		if got := formatFor(c.es...)(c.v); got != c.want {
			t.Errorf("%s: %g formatted as %q, want %q", c.name, c.v, got, c.want)
		}
	}
}

// The GMM section of a real lab run carries its trends and inlines the
// figures gonum/plot drew, and the page stays self-contained.
func TestGMMSectionOfLab(t *testing.T) {
	res, world := smallRun(t)
	dir := t.TempDir()
	s, _, err := GMMLab(dir, res, world, true)
	if err != nil {
		t.Fatal(err)
	}
	g, err := GMMSectionOf(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Trends) != len(s.Trends) || len(g.Trends) == 0 {
		t.Errorf("%d trends, summary has %d", len(g.Trends), len(s.Trends))
	}
	var titles []string
	for _, f := range g.Figures {
		titles = append(titles, f.Title)
	}
	want := []string{
		"KL Gap (mc, model-gt) against K, J and L", "KL Gap (mc, gt-model) against K, J and L",
		"KL Gap (hist, model-gt) against K, J and L", "KL Gap (hist, gt-model) against K, J and L",
		"One world: anchors, synthetic data and the components of G and M",
	}
	if strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Errorf("figures %q, want %q", titles, want)
	}
	r := htmlFixture(t)
	r.GMM = g
	page := renderHTML(t, r)
	root, _ := checkSelfContained(t, page)
	var gmm *htmlNode
	for _, sec := range root.find("section") {
		if sec.attr["id"] == "gmm" {
			gmm = sec
		}
	}
	if gmm == nil {
		t.Fatal("no GMM section")
	}
	if n := len(gmm.find("svg")); n != len(want) {
		t.Errorf("GMM section has %d inline SVGs, want %d", n, len(want))
	}
	if strings.Contains(page, "<?xml") {
		t.Error("an XML prolog is left inside the page")
	}
	if !strings.Contains(gmm.text.String(), "KL Gap (mc, model-gt) vs K") {
		t.Error("the inlined Fig. 4 lacks its panel title")
	}
	// Without a directory the section has the trends only.
	if g, err := GMMSectionOf(s, ""); err != nil || len(g.Figures) != 0 {
		t.Errorf("no directory: %d figures, error %v", len(g.Figures), err)
	}
	if _, err := GMMSectionOf(nil, dir); err == nil {
		t.Error("a nil summary was accepted")
	}
}

// A metric's note is shown under its predictor row, escaped.
func TestWriteHTMLMetricNote(t *testing.T) {
	r := htmlFixture(t)
	for i := range r.Metrics {
		if r.Metrics[i].Name == "hsic" {
			r.Metrics[i].Note = "in 2 of 3 configurations, every text <alone>"
		}
	}
	page := renderHTML(t, r)
	if !strings.Contains(page, `<div class="note">in 2 of 3 configurations, every text &lt;alone&gt;</div>`) {
		t.Error("the note is missing from the predictors table")
	}
}
