package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ggmi-dev/ggmi/internal/stats"
)

// SweptAttributePrefix starts the sweep keys that set an attribute of the
// prompts (generation.attributes.NAME).
const SweptAttributePrefix = "generation.attributes."

// Attribute group sources.
const (
	// SourceSweep groups the configurations whose swept attribute has the
	// value: their metrics and their gain.
	SourceSweep = "sweep"
	// SourceSampled groups, inside every configuration, the records drawn
	// with the value: their count, the share curation kept and the metrics
	// measured on them alone. The student trains on the mixture, so a
	// sampled value has no gain of its own.
	SourceSampled = "sampled"
)

// AttributeGroup is the results under one value of one attribute of the
// prompts (persona, topic, difficulty, …).
type AttributeGroup struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
	// Source is SourceSweep or SourceSampled.
	Source string `json:"source"`
	// Configurations are the configurations the group draws on.
	Configurations []string `json:"configurations"`
	// Records is the number of generated records with the value, and Kept
	// the share of them curation kept (sampled groups).
	Records int       `json:"records,omitempty"`
	Kept    *Estimate `json:"kept,omitempty"`
	// Metrics are the means over the configurations of each metric, with
	// a Student-t 95% interval when there are several.
	Metrics []Metric `json:"metrics,omitempty"`
	// Gain is the mean gain of the configurations (sweep groups).
	Gain *Estimate `json:"gain,omitempty"`
}

// AttributeSample is what one configuration measured on the records it
// generated under one attribute value.
type AttributeSample struct {
	Config    string
	Attribute string
	Value     string
	// Generated and Kept count the records before and after curation.
	Generated, Kept int
	// Metrics are measured on the kept records with the value alone.
	Metrics []Metric
}

// meanCI is the mean of xs with a Student-t 95% interval (NaN bounds for
// a single value); nil for none.
func meanCI(xs []float64) *Estimate {
	if len(xs) == 0 {
		return nil
	}
	m, ci := stats.TInterval95(xs)
	return &Estimate{Value: m, CI95: ci, N: len(xs)}
}

// meanMetrics averages each metric over the lists, in order of first
// appearance; non-finite values are left out.
func meanMetrics(lists [][]Metric) []Metric {
	var names []string
	vals := map[string][]float64{}
	for _, l := range lists {
		for _, m := range l {
			if !slices.Contains(names, m.Name) {
				names = append(names, m.Name)
			}
			if finiteNum(m.Estimate.Value) {
				vals[m.Name] = append(vals[m.Name], m.Estimate.Value)
			}
		}
	}
	var out []Metric
	for _, n := range names {
		if e := meanCI(vals[n]); e != nil {
			out = append(out, Metric{Name: n, Estimate: *e})
		}
	}
	return out
}

// GroupByAttribute groups the configurations by the values of their swept
// attributes (parameters named SweptAttributePrefix+NAME) and the samples
// by attribute and value, in the order of the attributes' names and then
// of first appearance of the values.
func GroupByAttribute(confs []Configuration, samples []AttributeSample) []AttributeGroup {
	type key struct{ src, attr, val string }
	var order []key
	swept := map[key][]Configuration{}
	sampled := map[key][]AttributeSample{}
	for _, c := range confs {
		var attrs []string
		for k := range c.Params {
			if name, ok := strings.CutPrefix(k, SweptAttributePrefix); ok {
				attrs = append(attrs, name)
			}
		}
		slices.Sort(attrs)
		for _, a := range attrs {
			k := key{SourceSweep, a, c.Params[SweptAttributePrefix+a]}
			if _, ok := swept[k]; !ok {
				order = append(order, k)
			}
			swept[k] = append(swept[k], c)
		}
	}
	for _, s := range samples {
		k := key{SourceSampled, s.Attribute, s.Value}
		if _, ok := sampled[k]; !ok {
			order = append(order, k)
		}
		sampled[k] = append(sampled[k], s)
	}
	slices.SortStableFunc(order, func(a, b key) int {
		if c := strings.Compare(a.attr, b.attr); c != 0 {
			return c
		}
		return strings.Compare(a.src, b.src) * -1 // sweep before sampled
	})
	var out []AttributeGroup
	for _, k := range order {
		g := AttributeGroup{Attribute: k.attr, Value: k.val, Source: k.src}
		if k.src == SourceSweep {
			var lists [][]Metric
			var gains []float64
			for _, c := range swept[k] {
				g.Configurations = append(g.Configurations, c.ID)
				lists = append(lists, c.Metrics)
				if c.Gain != nil && finiteNum(c.Gain.Value) {
					gains = append(gains, c.Gain.Value)
				}
			}
			g.Metrics, g.Gain = meanMetrics(lists), meanCI(gains)
		} else {
			var lists [][]Metric
			kept := 0
			for _, s := range sampled[k] {
				if !slices.Contains(g.Configurations, s.Config) {
					g.Configurations = append(g.Configurations, s.Config)
				}
				g.Records += s.Generated
				kept += s.Kept
				lists = append(lists, s.Metrics)
			}
			if g.Records > 0 {
				g.Kept = wilson(kept, g.Records)
			}
			g.Metrics = meanMetrics(lists)
		}
		out = append(out, g)
	}
	return out
}

// wilson is the share k/n with its Wilson score 95% interval.
func wilson(k, n int) *Estimate {
	const z = 1.959963984540054
	p, nn := float64(k)/float64(n), float64(n)
	d := 1 + z*z/nn
	c := (p + z*z/(2*nn)) / d
	h := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / d
	return &Estimate{Value: p, CI95: [2]float64{c - h, c + h}, N: n}
}

// attrEst renders an estimate for the attribute table.
func attrEst(e *Estimate) string {
	if e == nil || !finiteNum(e.Value) {
		return "–"
	}
	if !finiteNum(e.CI95[0]) {
		return msValue(e.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", msValue(e.Value), msValue(e.CI95[0]), msValue(e.CI95[1]))
}

// AttributesMarkdown writes the groups as one Markdown table per attribute:
// the value, where the group comes from, its configurations, its records
// and the share curation kept, the gain and every metric (means over the
// configurations, 95% intervals in brackets).
func AttributesMarkdown(w io.Writer, groups []AttributeGroup) error {
	var b strings.Builder
	for i := 0; i < len(groups); {
		attr := groups[i].Attribute
		j := i
		var metrics []string
		for ; j < len(groups) && groups[j].Attribute == attr; j++ {
			for _, m := range groups[j].Metrics {
				if !slices.Contains(metrics, m.Name) {
					metrics = append(metrics, m.Name)
				}
			}
		}
		fmt.Fprintf(&b, "### By %s\n\n| value | from | configurations | records | kept by ε | gain |", attr)
		for _, m := range metrics {
			fmt.Fprintf(&b, " %s |", m)
		}
		b.WriteString("\n|---|---|---|---|---|---|" + strings.Repeat("---|", len(metrics)) + "\n")
		for _, g := range groups[i:j] {
			recs := "–"
			if g.Records > 0 {
				recs = fmt.Sprint(g.Records)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", msCell(g.Value), g.Source, msCell(strings.Join(g.Configurations, ", ")), recs, attrEst(g.Kept), attrEst(g.Gain))
			for _, name := range metrics {
				var e *Estimate
				for _, m := range g.Metrics {
					if m.Name == name {
						e = &m.Estimate
					}
				}
				fmt.Fprintf(&b, " %s |", attrEst(e))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		i = j
	}
	_, err := io.WriteString(w, b.String())
	return err
}
