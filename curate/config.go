package curate

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
)

// FilterNames are the filters Build knows, in the default order.
var FilterNames = []string{"start-char", "length", "keywords", "exact-dedup", "near-dedup", "rouge-l", "decontaminate"}

// Config selects and configures the filters of a pipeline; the zero value
// is Default's pipeline. It is recorded as given (after defaults) in
// curation.json.
type Config struct {
	// Filters lists filter names (FilterNames) in the order they run; empty
	// means all of them, decontamination only when an evaluation split is
	// given. "none" alone selects no filter.
	Filters []string `json:"filters" yaml:"filters,omitempty"`
	// Keywords replaces the media-keyword list (DefaultKeywords when empty);
	// KeywordsFile names the file it was read from, for the record.
	Keywords     []string `json:"keywords,omitempty" yaml:"keywords,omitempty"`
	KeywordsFile string   `json:"keywords_file,omitempty" yaml:"keywords_file,omitempty"`
	// MinWords and MaxWords bound the instruction's words: kept when
	// MinWords < words ≤ MaxWords (3 and 150 when 0).
	MinWords int `json:"min_words" yaml:"min_words,omitempty"`
	MaxWords int `json:"max_words" yaml:"max_words,omitempty"`
	// Rouge and Near are the ROUGE-L F1 and MinHash Jaccard thresholds
	// (0.7 and 0.8 when 0).
	Rouge float64 `json:"rouge" yaml:"rouge,omitempty"`
	Near  float64 `json:"near" yaml:"near,omitempty"`
}

// Resolved returns the configuration with its defaults filled in (the
// filter list for an evaluation split given or not).
func (c Config) Resolved(haveEval bool) Config {
	if len(c.Filters) == 0 {
		c.Filters = slices.Clone(FilterNames)
		if !haveEval {
			c.Filters = c.Filters[:len(c.Filters)-1]
		}
	}
	if len(c.Filters) == 1 && c.Filters[0] == "none" {
		c.Filters = []string{}
	}
	if c.MinWords == 0 {
		c.MinWords = 3
	}
	if c.MaxWords == 0 {
		c.MaxWords = 150
	}
	if c.Rouge == 0 {
		c.Rouge = 0.7
	}
	if c.Near == 0 {
		c.Near = 0.8
	}
	if len(c.Keywords) == 0 && slices.Contains(c.Filters, "keywords") {
		c.Keywords = slices.Clone(DefaultKeywords)
	}
	return c
}

// Build returns the pipeline a configuration describes (see Resolved) and
// the resolved configuration. Unknown or repeated filter names, bounds out
// of range and "decontaminate" without an evaluation split are errors.
func Build(c Config, anchors, eval []dataset.Record) (Pipeline, Config, error) {
	c = c.Resolved(len(eval) > 0)
	if c.MinWords < 0 || c.MaxWords <= c.MinWords {
		return Pipeline{}, c, fmt.Errorf("curate: word bounds need 0 ≤ min < max (got %d and %d)", c.MinWords, c.MaxWords)
	}
	if !(c.Rouge > 0 && c.Rouge <= 1) || !(c.Near > 0 && c.Near <= 1) {
		return Pipeline{}, c, fmt.Errorf("curate: ROUGE-L and near-dedup thresholds must be in (0, 1] (got %v and %v)", c.Rouge, c.Near)
	}
	var p Pipeline
	seen := map[string]bool{}
	for _, name := range c.Filters {
		if seen[name] {
			return Pipeline{}, c, fmt.Errorf("curate: filter %q listed twice", name)
		}
		seen[name] = true
		switch name {
		case "start-char":
			p.Filters = append(p.Filters, &StartChar{})
		case "length":
			p.Filters = append(p.Filters, &Length{Min: c.MinWords, Max: c.MaxWords})
		case "keywords":
			p.Filters = append(p.Filters, &Keywords{Words: c.Keywords})
		case "exact-dedup":
			p.Filters = append(p.Filters, &ExactDedup{})
		case "near-dedup":
			p.Filters = append(p.Filters, &NearDedup{Threshold: c.Near})
		case "rouge-l":
			p.Filters = append(p.Filters, &RougeL{Anchors: anchors, Threshold: c.Rouge})
		case "decontaminate":
			if len(eval) == 0 {
				return Pipeline{}, c, fmt.Errorf("curate: the decontaminate filter needs an evaluation split")
			}
			p.Filters = append(p.Filters, &Decontaminate{Eval: eval})
		default:
			return Pipeline{}, c, fmt.Errorf("curate: unknown filter %q (have %s, or none)", name, strings.Join(FilterNames, ", "))
		}
	}
	return p, c, nil
}

// ReadKeywords reads a keyword list: one word or phrase per line; blank
// lines and lines starting with # are skipped. An empty list is an error.
func ReadKeywords(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("curate: keywords: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.TrimSpace(sc.Text())
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		out = append(out, w)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("curate: keywords %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("curate: keywords file %s lists no keyword", path)
	}
	return out, nil
}
