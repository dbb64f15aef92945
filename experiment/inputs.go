package experiment

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ggmi-dev/ggmi/llama"
)

// checkInputs checks that every local file the experiment names exists
// and that every local model's header loads (a few kilobytes read, not
// the weights), so that a missing or broken file is reported once, before
// any stage runs, instead of once per configuration.
func (c *Config) checkInputs() problems {
	var ps problems
	// file checks a data or template file; model a checkpoint.
	check := func(key, spec string, model bool) {
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
			ps.add(key, "%s: %s does not exist", key, p)
			return
		case err != nil:
			ps.add(key, "%s: %v", key, err)
			return
		case st.IsDir() && !model:
			ps.add(key, "%s: %s is a directory, not a file", key, p)
			return
		}
		if model {
			if _, err := llama.ReadHeader(p); err != nil {
				ps.add(key, "%s: %s is not a model ggmi can load: %v", key, p, err)
			}
		}
	}
	check("anchors.path", c.Anchors.Path, false)
	if c.Test != nil {
		check("test.path", c.Test.Path, false)
	}
	if c.Generation.Template != "" && strings.ContainsAny(c.Generation.Template, "/.") {
		check("generation.template", c.Generation.Template, false)
	}
	for _, name := range c.Generation.attributeNames() {
		if f := c.Generation.Attributes[name].File; f != "" {
			check("generation.attributes."+name+".file", f, false)
		}
	}
	if c.Curation.KeywordsFile != "" {
		check("curation.keywords_file", c.Curation.KeywordsFile, false)
	}
	for i, g := range c.Generators {
		if strings.HasPrefix(g.Model, "builtin:") {
			check(fmt.Sprintf("generators[%d].model", i), g.Model, true)
		}
	}
	if s := c.Students; s != nil && s.External == "" && !strings.Contains(s.Base, "://") {
		check("students.base", s.Base, true)
	}
	if j := c.Judge; j != nil && strings.HasPrefix(j.Model, "builtin:") {
		check("judge.model", j.Model, true)
	}
	if strings.HasPrefix(c.Measure.LLM, "builtin:") {
		check("measure.llm", c.Measure.LLM, true)
	}
	if strings.HasPrefix(c.Measure.Embed, "builtin:") {
		check("measure.embed", c.Measure.Embed, true)
	}
	if e, ok := strings.CutPrefix(c.Measure.Embed, "glove:"); ok {
		check("measure.embed", e, false)
	}
	return ps
}
