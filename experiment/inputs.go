package experiment

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// checkInputs checks, once for the whole experiment and before any stage
// runs, that every local file the experiment names exists and that the
// students' numbers are in range; it reports every problem at once.
func (c *Config) checkInputs() error {
	var errs []error
	file := func(key, spec string) {
		p := spec
		if rest, ok := strings.CutPrefix(p, "builtin:"); ok {
			p = rest
		} else if p == "" || strings.Contains(p, "://") || strings.HasPrefix(p, "glove:") {
			return
		}
		p = c.Resolve(p)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: %s does not exist", key, p))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %v", key, err))
		case st.IsDir():
			errs = append(errs, fmt.Errorf("%s: %s is a directory, not a file", key, p))
		}
	}
	file("anchors.path", c.Anchors.Path)
	if c.Generation.Template != "" && strings.ContainsAny(c.Generation.Template, "/.") {
		file("generation.template", c.Generation.Template)
	}
	for i, g := range c.Generators {
		if strings.HasPrefix(g.Model, "builtin:") {
			file(fmt.Sprintf("generators[%d].model", i), g.Model)
		}
	}
	if s := c.Students; s != nil {
		if s.External == "" && !strings.Contains(s.Base, "://") {
			file("students.base", s.Base)
		}
		for _, n := range []struct {
			key string
			v   float64
		}{{"steps", float64(s.Steps)}, {"tokens", float64(s.Tokens)}, {"epochs", s.Epochs}, {"batch", float64(s.Batch)}, {"seq_len", float64(s.SeqLen)}, {"lr", s.LR}} {
			if n.v < 0 {
				errs = append(errs, fmt.Errorf("students.%s must not be negative (got %v)", n.key, n.v))
			}
		}
	}
	if j := c.Judge; j != nil && strings.HasPrefix(j.Model, "builtin:") {
		file("judge.model", j.Model)
	}
	if strings.HasPrefix(c.Measure.LLM, "builtin:") {
		file("measure.llm", c.Measure.LLM)
	}
	return errors.Join(errs...)
}
