package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

var htmlTemplate = template.Must(template.New("report").Parse(htmlTemplateText))

// WriteHTML writes r as one self-contained HTML page: no scripts, fonts,
// style sheets or images are loaded from anywhere, the style is inline and
// every figure is an inline SVG. The page has the configurations, the
// metric and downstream tables with bar charts of each quantity (95%
// intervals as whiskers), the predictors' Spearman table with a
// predictor-against-gain scatter plot per metric, the GMM lab's verdicts
// and figures when present, and the run's manifest. The predictors are
// shown as given: compute them with Predict. WriteHTML fails, writing
// nothing, when a figure of the GMM section is not a safe SVG (one that
// could run script or load anything).
func WriteHTML(w io.Writer, r Report) error {
	v, err := buildView(r)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, v); err != nil {
		return fmt.Errorf("report: render HTML: %w", err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write HTML: %w", err)
	}
	return nil
}

// htmlView is what the template reads: the report with every number
// formatted and every figure drawn.
type htmlView struct {
	Title, Summary string
	Name, Version  string
	Created        string
	CreatedISO     string
	GainLabel      string
	GainDoc        string

	Configs     []htmlConfig
	Metrics     []MetricInfo
	MetricRows  []htmlRow
	MetricFigs  []htmlFigure
	Downstream  []string
	DownRows    []htmlRow
	DownFigs    []htmlFigure
	Predictors  []htmlPredictor
	PredNote    string
	ScatterFigs []htmlFigure
	GMM         *htmlGMM
	Attributes  []htmlAttrTable

	Inputs     []htmlInput
	Seeds      []htmlKV
	Config     string
	Stages     []htmlStage
	StageTotal string
}

type htmlKV struct{ Key, Value string }

// htmlAttrTable is the table of one attribute's values.
type htmlAttrTable struct {
	Name    string
	Metrics []string
	Rows    []htmlAttrRow
}

type htmlAttrRow struct {
	Value, Source, Configs, Records string
	Kept, Gain                      htmlCell
	Cells                           []htmlCell
}

// attrTables lays the attribute groups out as one table per attribute.
func attrTables(groups []AttributeGroup) []htmlAttrTable {
	var out []htmlAttrTable
	for i := 0; i < len(groups); {
		t := htmlAttrTable{Name: groups[i].Attribute}
		j := i
		for ; j < len(groups) && groups[j].Attribute == t.Name; j++ {
			for _, m := range groups[j].Metrics {
				if !htmlContains(t.Metrics, m.Name) {
					t.Metrics = append(t.Metrics, m.Name)
				}
			}
		}
		for _, g := range groups[i:j] {
			row := htmlAttrRow{Value: g.Value, Source: g.Source, Configs: strings.Join(g.Configurations, ", "), Records: "–",
				Kept: htmlCellOf(g.Kept, formatFor(estOrZero(g.Kept))), Gain: htmlCellOf(g.Gain, formatFor(estOrZero(g.Gain)))}
			if g.Records > 0 {
				row.Records = groupDigits(int64(g.Records))
			}
			for _, name := range t.Metrics {
				var e *Estimate
				for k := range g.Metrics {
					if g.Metrics[k].Name == name {
						e = &g.Metrics[k].Estimate
					}
				}
				row.Cells = append(row.Cells, htmlCellOf(e, formatFor(estOrZero(e))))
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, t)
		i = j
	}
	return out
}

func estOrZero(e *Estimate) Estimate {
	if e == nil {
		return Estimate{}
	}
	return *e
}

type htmlInput struct{ Role, Path, Bytes, SHA256 string }

// groupDigits writes n with thousands separated by commas.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

type htmlConfig struct {
	ID, Name string
	Params   []htmlKV
	Gain     htmlCell
}

type htmlCell struct {
	Value, CI string
	Missing   bool
}

type htmlRow struct {
	Name  string
	Cells []htmlCell
}

type htmlFigure struct {
	ID, Title, Caption string
	Wide               bool
	SVG                template.HTML
}

type htmlPredictor struct {
	Metric, Label, Doc string
	Note               string
	Rho, CI            string
	N                  int
	Expected           string
	Verdict, Class     string
}

type htmlGMM struct {
	Title, Summary string
	Trends         []htmlTrend
	Figures        []htmlFigure
}

type htmlTrend struct {
	Sweep, Column, Label string
	Paper                string
	Slope, SlopeCI       string
	Rho, RhoCI           string
	N                    int
	Verdict, Class       string
}

type htmlStage struct {
	Name, Seconds, Share string
	Percent              float64
}

func htmlCellOf(e *Estimate, f numFmt) htmlCell {
	if e == nil || !finiteNum(e.Value) {
		return htmlCell{Value: "–", Missing: true}
	}
	c := htmlCell{Value: f(e.Value)}
	if finiteNum(e.CI95[0]) && finiteNum(e.CI95[1]) {
		c.CI = fmt.Sprintf("[%s, %s]", f(e.CI95[0]), f(e.CI95[1]))
	}
	return c
}

func signWord(s int) string {
	switch {
	case s > 0:
		return "positive"
	case s < 0:
		return "negative"
	}
	return "none"
}

// downstreamQuantities names the downstream results in display order.
var downstreamQuantities = []struct {
	Label, Doc string
	Get        func(Downstream) *Estimate
}{
	{"test loss", "mean cross-entropy of the student on the held-out test split (nats per token)", func(d Downstream) *Estimate { return d.TestLoss }},
	{"perplexity", "exp of the test loss", func(d Downstream) *Estimate { return d.Perplexity }},
	{"generalization gap", "test loss minus training loss", func(d Downstream) *Estimate { return d.GeneralizationGap }},
	{"gap to the S_anchor student", "test loss of the student trained on S_anchor alone minus this student's, paired by seed (the text analogue of the KL Gap; positive: S_gen taught more)", func(d Downstream) *Estimate { return d.AnchorGap }},
	{"judge rating", "mean rating of the student's answers by the judge", func(d Downstream) *Estimate { return d.JudgeRating }},
}

func buildView(r Report) (*htmlView, error) {
	m := r.Manifest
	v := &htmlView{
		Title: r.Title, Summary: r.Summary, Name: m.Name, Version: m.Version,
		GainLabel: r.Gain.Label, GainDoc: r.Gain.Doc, Config: m.Config,
	}
	for _, in := range m.Inputs {
		hi := htmlInput{Role: in.Role, Path: in.Path, SHA256: in.SHA256, Bytes: "–"}
		if in.Bytes > 0 {
			hi.Bytes = groupDigits(in.Bytes)
		}
		v.Inputs = append(v.Inputs, hi)
	}
	if v.Title == "" {
		v.Title = "ggmi report"
		if m.Name != "" {
			v.Title += ": " + m.Name
		}
	}
	if v.GainLabel == "" {
		v.GainLabel = "gain"
	}
	if !m.Created.IsZero() {
		v.Created = m.Created.UTC().Format("2006-01-02 15:04:05 UTC")
		v.CreatedISO = m.Created.UTC().Format(time.RFC3339)
	}
	for _, k := range htmlSortedKeys(m.Seeds) {
		v.Seeds = append(v.Seeds, htmlKV{k, fmt.Sprint(m.Seeds[k])})
	}
	var total float64
	for _, s := range m.Stages {
		total += s.Seconds
	}
	for _, s := range m.Stages {
		st := htmlStage{Name: s.Name, Seconds: fmt.Sprintf("%.2f", s.Seconds)}
		if total > 0 {
			st.Percent = math.Round(1000*s.Seconds/total) / 10
			st.Share = fmt.Sprintf("%.1f%%", st.Percent)
		}
		v.Stages = append(v.Stages, st)
	}
	if len(m.Stages) > 0 {
		v.StageTotal = fmt.Sprintf("%.2f", total)
	}

	// One number format per quantity, so that a column or a chart shows
	// its values with the same decimals.
	var gains []Estimate
	for _, c := range r.Configurations {
		if c.Gain != nil {
			gains = append(gains, *c.Gain)
		}
	}
	gainFmt := formatFor(gains...)
	metricFmt := map[string]numFmt{}
	for _, name := range r.metricNames() {
		var es []Estimate
		for _, c := range r.Configurations {
			if e, ok := c.metric(name); ok {
				es = append(es, e)
			}
		}
		metricFmt[name] = formatFor(es...)
	}

	// Configurations.
	for _, c := range r.Configurations {
		hc := htmlConfig{ID: c.ID, Name: c.Name(), Gain: htmlCellOf(c.Gain, gainFmt)}
		for _, k := range htmlSortedKeys(c.Params) {
			hc.Params = append(hc.Params, htmlKV{k, c.Params[k]})
		}
		v.Configs = append(v.Configs, hc)
	}

	// Metrics: a table and a bar chart per metric.
	fig := 0
	nextID := func() string { fig++; return fmt.Sprintf("fig%d", fig) }
	for i, name := range r.metricNames() {
		info := r.metricInfo(name)
		v.Metrics = append(v.Metrics, info)
		rows := make([]barRow, len(r.Configurations))
		for j, c := range r.Configurations {
			e, ok := c.metric(name)
			if !ok {
				e = Estimate{Value: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}}
			}
			rows[j] = barRow{c.Name(), e}
		}
		title := fmt.Sprintf("%s per configuration", info.Label)
		id := nextID()
		v.MetricFigs = append(v.MetricFigs, htmlFigure{
			ID: id, Title: title,
			Caption: fmt.Sprintf("%s (%s) per configuration; whiskers: 95%% interval.", info.Label, name),
			SVG:     barChart(id, title, barDesc(rows, metricFmt[name]), rows, svgPalette[i%len(svgPalette)], metricFmt[name]),
		})
	}
	for _, c := range r.Configurations {
		row := htmlRow{Name: c.Name()}
		for _, name := range r.metricNames() {
			e, ok := c.metric(name)
			if !ok {
				row.Cells = append(row.Cells, htmlCellOf(nil, nil))
				continue
			}
			row.Cells = append(row.Cells, htmlCellOf(&e, metricFmt[name]))
		}
		v.MetricRows = append(v.MetricRows, row)
	}

	// Downstream: the quantities any configuration has.
	downFmt := map[string]numFmt{}
	for _, q := range downstreamQuantities {
		var es []Estimate
		for _, c := range r.Configurations {
			if e := q.Get(c.Downstream); e != nil {
				es = append(es, *e)
			}
		}
		if len(es) == 0 {
			continue
		}
		f := formatFor(es...)
		downFmt[q.Label] = f
		v.Downstream = append(v.Downstream, q.Label)
		rows := make([]barRow, len(r.Configurations))
		for j, c := range r.Configurations {
			e := q.Get(c.Downstream)
			if e == nil {
				e = &Estimate{Value: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}}
			}
			rows[j] = barRow{c.Name(), *e}
		}
		title := fmt.Sprintf("%s per configuration", q.Label)
		id := nextID()
		v.DownFigs = append(v.DownFigs, htmlFigure{
			ID: id, Title: title,
			Caption: fmt.Sprintf("Student %s (%s); whiskers: 95%% interval.", q.Label, q.Doc),
			SVG:     barChart(id, title, barDesc(rows, f), rows, "#4c72b0", f),
		})
	}
	for _, c := range r.Configurations {
		row := htmlRow{Name: c.Name()}
		for _, q := range downstreamQuantities {
			if !htmlContains(v.Downstream, q.Label) {
				continue
			}
			row.Cells = append(row.Cells, htmlCellOf(q.Get(c.Downstream), downFmt[q.Label]))
		}
		v.DownRows = append(v.DownRows, row)
	}

	// Predictors: the Spearman table and a scatter plot per predictor.
	for _, p := range r.Predictors {
		info := r.metricInfo(p.Metric)
		hp := htmlPredictor{Metric: p.Metric, Label: info.Label, Doc: info.Doc, Note: info.Note, Rho: "–", CI: "–", N: p.Rho.N, Expected: signWord(p.Expected), Verdict: p.Verdict, Class: verdictClass(p.Verdict)}
		if finiteNum(p.Rho.Value) {
			hp.Rho = signed(p.Rho.Value)
		}
		if finiteNum(p.Rho.CI95[0]) && finiteNum(p.Rho.CI95[1]) {
			hp.CI = fmt.Sprintf("[%s, %s]", signed(p.Rho.CI95[0]), signed(p.Rho.CI95[1]))
		}
		v.Predictors = append(v.Predictors, hp)
		var pts []scatterPoint
		for _, c := range r.Configurations {
			x, ok := c.metric(p.Metric)
			if !ok || c.Gain == nil {
				continue
			}
			pts = append(pts, scatterPoint{c.Name(), x, *c.Gain})
		}
		id := nextID()
		title := fmt.Sprintf("%s against %s, one point per configuration", v.GainLabel, info.Label)
		caption := fmt.Sprintf("Predicted versus measured: %s (x) and %s (y) of each configuration, whiskers the 95%% intervals; Spearman ρ = %s %s over %d configurations.",
			info.Label, v.GainLabel, hp.Rho, hp.CI, p.Rho.N)
		v.ScatterFigs = append(v.ScatterFigs, htmlFigure{
			ID: id, Title: title, Caption: caption,
			SVG: scatterChart(id, title, scatterDesc(pts, info.Label, v.GainLabel, metricFmt[p.Metric], gainFmt), info.Label, v.GainLabel, pts, metricFmt[p.Metric], gainFmt),
		})
	}
	if len(r.Predictors) > 0 {
		reps := 0
		var seed uint64
		for _, p := range r.Predictors {
			reps, seed = max(reps, p.Reps), p.Seed
		}
		if reps > 0 {
			v.PredNote = fmt.Sprintf("Percentile bootstrap over configurations, %d resamples, seed %d.", reps, seed)
		}
	}

	// GMM lab.
	if g := r.GMM; g != nil {
		hg := &htmlGMM{Title: g.Title, Summary: g.Summary}
		if hg.Title == "" {
			hg.Title = "GMM lab"
		}
		for _, t := range g.Trends {
			ht := htmlTrend{Sweep: t.Sweep, Column: t.Column, Label: t.Label, Paper: arrow(t.Paper), N: t.N(), Verdict: t.Verdict, Class: verdictClass(t.Verdict),
				Slope: signed(t.Slope.Value), Rho: signed(t.Spearman.Value)}
			ht.SlopeCI = fmt.Sprintf("[%s, %s]", signed(t.Slope.CI95[0]), signed(t.Slope.CI95[1]))
			ht.RhoCI = fmt.Sprintf("[%s, %s]", signed(t.Spearman.CI95[0]), signed(t.Spearman.CI95[1]))
			hg.Trends = append(hg.Trends, ht)
		}
		for _, f := range g.Figures {
			id := nextID()
			svg, err := inlineSVG(f.SVG, id, f.Title)
			if err != nil {
				return nil, fmt.Errorf("report: GMM figure %q: %w", f.Title, err)
			}
			hg.Figures = append(hg.Figures, htmlFigure{ID: id, Title: f.Title, Caption: f.Caption, Wide: true, SVG: svg})
		}
		v.GMM = hg
	}
	v.Attributes = attrTables(r.Attributes)
	return v, nil
}

// N is the number of rounds the trend was fitted on.
func (t GMMTrend) N() int { return t.Slope.N }

// verdictClass is the CSS class of a verdict: "no claim" → "v-no-claim".
func verdictClass(v string) string {
	if v == "" {
		return "v-none"
	}
	return "v-" + strings.ReplaceAll(v, " ", "-")
}

func htmlContains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// barDesc describes a bar chart in words for assistive technology.
func barDesc(rows []barRow, f numFmt) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = r.Label + ": " + estimateText(r.Est, f)
	}
	return strings.Join(parts, "; ") + "."
}

// scatterDesc describes a scatter plot in words.
func scatterDesc(pts []scatterPoint, x, y string, fx, fy numFmt) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("%s: %s %s, %s %s", p.Label, x, estimateText(p.X, fx), y, estimateText(p.Y, fy))
	}
	return strings.Join(parts, "; ") + "."
}
