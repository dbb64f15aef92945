package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/measure"
	"github.com/ggmi-dev/ggmi/report"
	"github.com/ggmi-dev/ggmi/synth"
)

// attributeNames returns the attributes' names in order.
func (g GenerationSpec) attributeNames() []string {
	names := make([]string, 0, len(g.Attributes))
	for k := range g.Attributes {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// inlineAttributes is the attribute space without reading files: an
// attribute given by a file stands as one placeholder value, so that names,
// weights and the sampling mode can be checked when the file is parsed.
func (g GenerationSpec) inlineAttributes() synth.AttributeSpace {
	s := synth.AttributeSpace{Mode: g.AttributeSampling}
	for _, name := range g.attributeNames() {
		a := g.Attributes[name]
		vals := a.Values
		if a.File != "" && len(vals) == 0 {
			vals = []string{"(" + a.File + ")"}
		}
		s.Attributes = append(s.Attributes, synth.Attribute{Name: name, Values: vals, Weights: a.Weights})
	}
	return s
}

// attributeSpace builds the attribute space, reading the attribute files
// (relative to the experiment file). An empty value in a file is left out
// with one line on warn.
func (c *Config) attributeSpace(warn io.Writer) (synth.AttributeSpace, error) {
	g := c.Generation
	s := synth.AttributeSpace{Mode: g.AttributeSampling}
	for _, name := range g.attributeNames() {
		spec := g.Attributes[name]
		a := synth.Attribute{Name: name, Values: spec.Values, Weights: spec.Weights}
		if spec.File != "" {
			if len(spec.Values) > 0 {
				return s, fmt.Errorf("generation.attributes.%s: give values or a file, not both", name)
			}
			fa, err := synth.LoadAttributeFile(name, c.Resolve(spec.File))
			if errors.Is(err, synth.ErrEmptyValue) {
				fmt.Fprintf(warn, "warning: generation.attributes: %v\n", err)
			} else if err != nil {
				return s, fmt.Errorf("generation.attributes.%s: %w", name, err)
			}
			a.Values = fa.Values
			if len(spec.Weights) == 0 {
				a.Weights = fa.Weights
			} else if len(spec.Weights) != len(fa.Values) {
				return s, fmt.Errorf("generation.attributes.%s: %d weights for the %d values of %s", name, len(spec.Weights), len(fa.Values), spec.File)
			}
		}
		s.Attributes = append(s.Attributes, a)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("generation.attributes: %w", err)
	}
	return s, nil
}

// attrMetricsFile holds the metrics measured on the records of each value
// of the attributes sampled inside a configuration.
const attrMetricsFile = "metrics_by_attribute.json"

// minAttrRecords is the fewest records of one attribute value that are
// measured on their own.
const minAttrRecords = 8

// AttributeMetrics is the measurement of the records of one attribute
// value.
type AttributeMetrics struct {
	Attribute string         `json:"attribute"`
	Value     string         `json:"value"`
	Records   int            `json:"records"`
	Report    measure.Report `json:"report"`
}

// attrValues returns, for every attribute that takes at least two values
// in recs, the records of each value (names and values sorted).
func attrValues(recs []dataset.Record) (names []string, groups map[string]map[string][]dataset.Record) {
	groups = map[string]map[string][]dataset.Record{}
	for _, r := range recs {
		for k, v := range r.Provenance.Attributes {
			if groups[k] == nil {
				groups[k] = map[string][]dataset.Record{}
			}
			groups[k][v] = append(groups[k][v], r)
		}
	}
	for k, byVal := range groups {
		if len(byVal) < 2 {
			delete(groups, k)
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return names, groups
}

// measureByAttribute runs the suite s again on the records of every value
// of the attributes sampled inside the configuration (values with fewer
// than minAttrRecords records are skipped) and writes attrMetricsFile.
func measureByAttribute(ctx context.Context, s measure.Suite, dir string) error {
	names, groups := attrValues(s.Data)
	if len(names) == 0 {
		return nil
	}
	s.Progress = nil
	var out []AttributeMetrics
	for _, name := range names {
		vals := make([]string, 0, len(groups[name]))
		for v := range groups[name] {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		for _, v := range vals {
			recs := groups[name][v]
			if len(recs) < minAttrRecords {
				continue
			}
			s.Data = recs
			rep, err := measure.Run(ctx, s)
			if err != nil {
				return fmt.Errorf("metrics of %s = %s: %w", name, v, err)
			}
			out = append(out, AttributeMetrics{Attribute: name, Value: v, Records: len(recs), Report: rep})
		}
	}
	return writeJSON(filepath.Join(dir, attrMetricsFile), out)
}

// attributeSamples gathers what a configuration measured per sampled
// attribute value: records generated and kept, and their metrics.
func attributeSamples(id, dir string) []report.AttributeSample {
	gen, _, err := dataset.ReadFile(filepath.Join(dir, genSynthetic), dataset.ReadOptions{Schema: "record"})
	if err != nil {
		return nil
	}
	kept, _, _ := dataset.ReadFile(filepath.Join(dir, synthetic), dataset.ReadOptions{Schema: "record"})
	names, genGroups := attrValues(gen)
	_, keptGroups := attrValues(kept)
	var ms []AttributeMetrics
	_ = readJSON(filepath.Join(dir, attrMetricsFile), &ms)
	var out []report.AttributeSample
	for _, name := range names {
		vals := make([]string, 0, len(genGroups[name]))
		for v := range genGroups[name] {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		for _, v := range vals {
			s := report.AttributeSample{Config: id, Attribute: name, Value: v, Generated: len(genGroups[name][v]), Kept: len(keptGroups[name][v])}
			for _, m := range ms {
				if m.Attribute == name && m.Value == v {
					for _, res := range m.Report.Metrics {
						s.Metrics = append(s.Metrics, report.MetricFromResult(res))
					}
				}
			}
			out = append(out, s)
		}
	}
	return out
}
