package experiment

import (
	"errors"
	"fmt"
	"io"
	"slices"

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
				fmt.Fprintf(warn, "warning: generation.attributes.%s: %v\n", name, err)
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
