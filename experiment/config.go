package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/measure"
	"github.com/ggmi-dev/ggmi/synth"
)

// Config is one experiment file. Paths in it are relative to the file's
// directory unless absolute or hf:// URIs.
type Config struct {
	// Name names the experiment and its run directory.
	Name string `yaml:"name" json:"name"`
	// Seed is the root of every random choice of the run.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Out is the run directory (runs/<name> next to the file when empty).
	Out string `yaml:"out,omitempty" json:"out,omitempty"`

	// Anchors is the real data: S_anchor and, split from it, the held-out
	// test set unless Test is given.
	Anchors DataSpec `yaml:"anchors" json:"anchors"`
	// Test is an explicit held-out evaluation set.
	Test *DataSpec `yaml:"test,omitempty" json:"test,omitempty"`
	// Split controls the seeded train/test split of Anchors.
	Split SplitSpec `yaml:"split,omitempty" json:"split,omitzero"`

	// Generation describes the prompts p = E(task, condition, demos).
	Generation GenerationSpec `yaml:"generation" json:"generation"`
	// Generators are the models M to compare; each configuration uses one.
	Generators []GeneratorSpec `yaml:"generators" json:"generators"`
	// Curation is the curation step ε.
	Curation CurationSpec `yaml:"curation,omitempty" json:"curation,omitzero"`
	// Measure selects the estimators computed on every S_gen.
	Measure MeasureSpec `yaml:"measure,omitempty" json:"measure,omitzero"`
	// Students are the downstream models trained on the data.
	Students *StudentSpec `yaml:"students,omitempty" json:"students,omitempty"`
	// Judge rates the students' answers against the references.
	Judge *JudgeSpec `yaml:"judge,omitempty" json:"judge,omitempty"`

	// GMMLab is the output directory of a `ggmi simulate` run whose
	// trends and figures the report shows next to the experiment's.
	GMMLab string `yaml:"gmm_lab,omitempty" json:"gmm_lab,omitempty"`

	// Sweep varies settings across configurations: each key is a dotted
	// path into this file (generation.demos, generator, conditions.topics,
	// …) and each value a list; the configurations are the Cartesian
	// product, in the order of the sorted keys.
	Sweep map[string][]any `yaml:"sweep,omitempty" json:"sweep,omitempty"`

	dir string // directory of the file, for relative paths
}

// DataSpec names a data set: a file or hf:// URI, its schema and mapping.
type DataSpec struct {
	Path   string   `yaml:"path" json:"path"`
	Schema string   `yaml:"schema,omitempty" json:"schema,omitempty"`
	Map    []string `yaml:"map,omitempty" json:"map,omitempty"`
	// Limit keeps the first Limit records (0: all).
	Limit int `yaml:"limit,omitempty" json:"limit,omitempty"`
	// SkipInvalid skips and counts malformed rows instead of failing.
	SkipInvalid bool `yaml:"skip_invalid,omitempty" json:"skip_invalid,omitempty"`
}

// SplitSpec is the seeded train/test split of the anchors.
type SplitSpec struct {
	// Test is the test fraction (0.2 when 0).
	Test float64 `yaml:"test,omitempty" json:"test,omitempty"`
	// Stratify names a field whose values are split in the same ratio.
	Stratify string `yaml:"stratify,omitempty" json:"stratify,omitempty"`
	// Anchors caps S_anchor, the records drawn from the train split as
	// demonstrations (0: the whole train split).
	Anchors int `yaml:"anchors,omitempty" json:"anchors,omitempty"`
}

// GenerationSpec describes the prompts.
type GenerationSpec struct {
	// Template is a built-in template name or a template file.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	// Task is the task element e_task.
	Task string `yaml:"task,omitempty" json:"task,omitempty"`
	// Demos is k, the demonstrations per prompt.
	Demos int `yaml:"demos" json:"demos"`
	// Selector is random, stratified:FIELD or diverse.
	Selector string `yaml:"selector,omitempty" json:"selector,omitempty"`
	// PerPrompt is the number of records each prompt asks for.
	PerPrompt int `yaml:"per_prompt" json:"per_prompt"`
	// Target is the number of records wanted.
	Target int `yaml:"target" json:"target"`
	// Conditions are the diversity factors (topics, styles, personas,
	// lengths).
	Conditions synth.ConditionSpace `yaml:"conditions,omitempty" json:"conditions,omitzero"`
	// Attributes are named attributes sampled per prompt (persona, topic,
	// difficulty, language, …): each a list of values, one value, a file
	// or {values, weights}; a sweep key generation.attributes.NAME makes
	// the attribute an axis of the experiment.
	Attributes map[string]AttributeSpec `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	// AttributeSampling is uniform, weighted or cross (default: weighted
	// when weights are given, else uniform).
	AttributeSampling string `yaml:"attribute_sampling,omitempty" json:"attribute_sampling,omitempty"`
}

// AttributeSpec is one attribute's values in an experiment file. In YAML
// it is a list of values, a single value, or a mapping with values,
// weights and file (a file as synth.LoadAttributeFile reads, relative to
// the experiment file).
type AttributeSpec struct {
	Values  []string  `yaml:"values,omitempty" json:"values,omitempty"`
	Weights []float64 `yaml:"weights,omitempty" json:"weights,omitempty"`
	File    string    `yaml:"file,omitempty" json:"file,omitempty"`
}

// UnmarshalYAML reads the three forms of an attribute.
func (a *AttributeSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*a = AttributeSpec{Values: []string{n.Value}}
		return nil
	case yaml.SequenceNode:
		var v []string
		if err := n.Decode(&v); err != nil {
			return err
		}
		*a = AttributeSpec{Values: v}
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "values" && k != "weights" && k != "file" {
				return fmt.Errorf("line %d: unknown key %s (an attribute takes values, weights and file)", n.Content[i].Line, k)
			}
		}
	}
	type plain AttributeSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*a = AttributeSpec(p)
	return nil
}

// GeneratorSpec is one generative model M and its sampling parameters.
type GeneratorSpec struct {
	// ID names the generator in sweeps and reports.
	ID string `yaml:"id" json:"id"`
	// Model is http(s)://HOST/v1#MODEL, builtin:PATH or hf://… .
	Model string `yaml:"model" json:"model"`
	// BaseURLs lists further API roots serving the same model as an
	// http(s) Model (as `ggmi generate --base-url`): each request goes to
	// the least loaded healthy endpoint.
	BaseURLs []string `yaml:"base_urls,omitempty" json:"base_urls,omitempty"`
	// Mode is chat (default) or completion.
	Mode        string  `yaml:"mode,omitempty" json:"mode,omitempty"`
	Temperature float64 `yaml:"temperature,omitempty" json:"temperature,omitempty"`
	TopP        float64 `yaml:"top_p,omitempty" json:"top_p,omitempty"`
	MaxTokens   int     `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	// Concurrency is the number of requests in flight, or auto (as
	// `ggmi generate --concurrency auto`).
	Concurrency Concurrency `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// RPM and TPM are client-side limits (0: none).
	RPM int `yaml:"rpm,omitempty" json:"rpm,omitempty"`
	TPM int `yaml:"tpm,omitempty" json:"tpm,omitempty"`
	// APIKeyEnv names the environment variable holding the API key
	// (OPENAI_API_KEY when empty); keys never appear in files.
	APIKeyEnv string `yaml:"api_key_env,omitempty" json:"api_key_env,omitempty"`
	// Price is the cost per million prompt and completion tokens.
	Price []float64 `yaml:"price,omitempty" json:"price,omitempty"`
	// Schema sends the task JSON schema when the backend supports it
	// (default true).
	Schema *bool `yaml:"schema,omitempty" json:"schema,omitempty"`
	// Batch sends the generation through the provider's batch API:
	// openai or anthropic (as `ggmi generate --batch`).
	Batch string `yaml:"batch,omitempty" json:"batch,omitempty"`
	// BatchPoll is the time between two polls of a batch ("30s" when
	// empty).
	BatchPoll string `yaml:"batch_poll,omitempty" json:"batch_poll,omitempty"`
	// BatchResubmit sends again the requests that failed or expired in an
	// earlier batch.
	BatchResubmit bool `yaml:"batch_resubmit,omitempty" json:"batch_resubmit,omitempty"`
	// BatchMaxRequests caps the requests per batch (0: the provider's
	// limit).
	BatchMaxRequests int `yaml:"batch_max_requests,omitempty" json:"batch_max_requests,omitempty"`
}

// Concurrency is a generator's number of requests in flight: a whole
// number, or ConcurrencyAuto ("auto" in the file) for the adaptive limit.
// 0 selects the default.
type Concurrency int

// ConcurrencyAuto is `concurrency: auto`.
const ConcurrencyAuto Concurrency = -1

// UnmarshalYAML reads a whole number of at least 1 or auto.
func (c *Concurrency) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "auto" {
		*c = ConcurrencyAuto
		return nil
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil || v < 1 {
		return fmt.Errorf("line %d: concurrency must be a whole number of at least 1 or auto (got %q)", n.Line, n.Value)
	}
	*c = Concurrency(v)
	return nil
}

// MarshalYAML writes auto or the number.
func (c Concurrency) MarshalYAML() (any, error) {
	if c == ConcurrencyAuto {
		return "auto", nil
	}
	return int(c), nil
}

// UnmarshalJSON reads a number or "auto".
func (c *Concurrency) UnmarshalJSON(b []byte) error {
	if string(b) == `"auto"` {
		*c = ConcurrencyAuto
		return nil
	}
	var v int
	if json.Unmarshal(b, &v) != nil || v < 1 {
		return fmt.Errorf("concurrency must be a whole number of at least 1 or auto (got %s)", b)
	}
	*c = Concurrency(v)
	return nil
}

// MarshalJSON writes "auto" or the number.
func (c Concurrency) MarshalJSON() ([]byte, error) {
	if c == ConcurrencyAuto {
		return []byte(`"auto"`), nil
	}
	return json.Marshal(int(c))
}

// CurationSpec configures ε.
type CurationSpec struct {
	// Disabled skips curation (S_gen = M(p)).
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Rouge is the ROUGE-L F1 threshold (0.7 when 0).
	Rouge float64 `yaml:"rouge,omitempty" json:"rouge,omitempty"`
	// Near is the MinHash Jaccard threshold (0.8 when 0).
	Near float64 `yaml:"near,omitempty" json:"near,omitempty"`
	// Decontaminate drops records sharing a 13-gram with the test split
	// (default true).
	Decontaminate *bool `yaml:"decontaminate,omitempty" json:"decontaminate,omitempty"`
	// Filters lists the filters in the order they run (curate.FilterNames;
	// all when empty, "none" for none), as `ggmi curate --filters`.
	Filters []string `yaml:"filters,omitempty" json:"filters,omitempty"`
	// KeywordsFile replaces the media-keyword list (one word or phrase per
	// line; relative to the experiment file).
	KeywordsFile string `yaml:"keywords_file,omitempty" json:"keywords_file,omitempty"`
	// MinWords and MaxWords bound the instruction's words (3 and 150 when 0).
	MinWords int `yaml:"min_words,omitempty" json:"min_words,omitempty"`
	MaxWords int `yaml:"max_words,omitempty" json:"max_words,omitempty"`
}

// MeasureSpec selects estimators.
type MeasureSpec struct {
	// Metrics is a list of estimator names ("all" when empty).
	Metrics []string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// Embed is the embedder: lsa, glove:PATH, builtin:PATH or URL.
	Embed string `yaml:"embed,omitempty" json:"embed,omitempty"`
	// Pairing of HSIC and MI: provenance, subsample, or auto when empty.
	Pairing string `yaml:"pairing,omitempty" json:"pairing,omitempty"`
	// LLM serves the LLM-based metrics (Cluster-agent, semantic entropy
	// with LLM entailment): a model spec as GeneratorSpec.Model.
	LLM       string `yaml:"llm,omitempty" json:"llm,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty" json:"api_key_env,omitempty"`
	// Params holds per-metric numeric parameters, e.g. {se: {threshold: 0.85}}.
	Params map[string]map[string]float64 `yaml:"params,omitempty" json:"params,omitempty"`
}

// StudentSpec describes the downstream students.
type StudentSpec struct {
	// Base is the checkpoint to fine-tune (builtin:PATH, a path or hf://).
	Base string `yaml:"base" json:"base"`
	// Scratch trains from scratch at this shape instead of fine-tuning
	// (the tokenizer still comes from Base).
	Scratch *Shape `yaml:"scratch,omitempty" json:"scratch,omitempty"`
	// Mixes are real:synthetic token ratios ("1:0", "4:1", "1:1", "0:1").
	Mixes []string `yaml:"mixes,omitempty" json:"mixes,omitempty"`
	// Seeds are the training seeds (CIs are over them).
	Seeds []uint64 `yaml:"seeds,omitempty" json:"seeds,omitempty"`
	// Tokens is the training token budget of every student (0: the
	// smallest data set's).
	Tokens int `yaml:"tokens,omitempty" json:"tokens,omitempty"`
	// Steps or Epochs bound the training (one epoch when both are 0).
	Steps  int     `yaml:"steps,omitempty" json:"steps,omitempty"`
	Epochs float64 `yaml:"epochs,omitempty" json:"epochs,omitempty"`
	Batch  int     `yaml:"batch,omitempty" json:"batch,omitempty"`
	SeqLen int     `yaml:"seq_len,omitempty" json:"seq_len,omitempty"`
	// LR is the peak learning rate.
	LR float64 `yaml:"lr,omitempty" json:"lr,omitempty"`
	// Template renders records as training text: alpaca (default) or
	// compact (for small context windows).
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	// Timeout bounds one external training run ("2h"; none when empty).
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// External runs a user's trainer instead of the built-in engine: a
	// command template with {train}, {eval} and {out} placeholders.
	External string `yaml:"external,omitempty" json:"external,omitempty"`
}

// Shape is a model shape for training from scratch.
type Shape struct {
	Dim    int `yaml:"dim" json:"dim"`
	Layers int `yaml:"layers" json:"layers"`
	Heads  int `yaml:"heads" json:"heads"`
	Hidden int `yaml:"hidden,omitempty" json:"hidden,omitempty"`
}

// JudgeSpec configures the LLM judge.
type JudgeSpec struct {
	// Model is the judge's model spec (as GeneratorSpec.Model).
	Model string `yaml:"model" json:"model"`
	// Questions caps the test questions judged per student (0: 50).
	Questions int `yaml:"questions,omitempty" json:"questions,omitempty"`
	// MaxTokens caps each student answer (0: 128).
	MaxTokens int    `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty" json:"api_key_env,omitempty"`
	// Truncate shortens judge prompts that do not fit the judge model's
	// context window (default true): the question, context, reference and
	// answer are clipped, longest first, each clipped field ending in
	// " […]", and the verdict says "truncated": true. With false such
	// items fail with "prompt exceeds the judge's context".
	Truncate *bool `yaml:"truncate,omitempty" json:"truncate,omitempty"`
}

// Truncates reports whether judge prompts are shortened to fit the
// judge's window (Truncate, default true).
func (s *JudgeSpec) Truncates() bool { return s.Truncate == nil || *s.Truncate }

// Load reads an experiment file and checks it whole (see [Check]),
// including that its files exist and its models' headers load.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read experiment: %w", err)
	}
	return Check(path, raw, filepath.Dir(path), true)
}

// Parse reads an experiment from r; dir resolves relative paths. Unknown
// keys are errors, so that a misspelt setting never goes unnoticed. It
// checks the settings, not the files they name (see [Load]).
func Parse(r io.Reader, dir string) (*Config, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Check("", raw, dir, false)
}

func decode(raw []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, yamlErr(err)
	}
	return &c, nil
}

// yamlErr shortens the YAML library's messages to one sentence.
func yamlErr(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = plainYAML(m)
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return errors.New(plainYAML(err.Error()))
}

var (
	goTypeRE    = regexp.MustCompile(`\s*in type [\w.*\[\]]+`)
	unmarshalRE = regexp.MustCompile("cannot unmarshal !!(\\w+)(?: `([^`]*)`)? into ([\\w.*\\[\\]]+)")
)

// plainYAML rewrites the YAML library's messages without Go's type names:
// "field x not found in type experiment.Config" becomes "unknown key x",
// "cannot unmarshal !!str `ten` into int" "ten is not a whole number".
func plainYAML(m string) string {
	m = strings.TrimPrefix(m, "yaml: ")
	if strings.Contains(m, " not found in type ") {
		m = strings.Replace(goTypeRE.ReplaceAllString(m, ""), "field ", "unknown key ", 1)
		m = strings.Replace(m, " not found", "", 1)
	}
	return unmarshalRE.ReplaceAllStringFunc(m, func(s string) string {
		p := unmarshalRE.FindStringSubmatch(s)
		want := "a value of another kind"
		switch t := p[3]; {
		case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
			want = "a whole number"
		case strings.HasPrefix(t, "float"):
			want = "a number"
		case t == "bool":
			want = "true or false"
		case t == "string":
			want = "a text value"
		case strings.HasPrefix(t, "[]"):
			want = "a list"
		case strings.HasPrefix(t, "map"), strings.Contains(t, "."):
			want = "a mapping of keys"
		}
		if p[2] == "" {
			kind := map[string]string{"seq": "a list", "map": "a mapping", "str": "a text value", "int": "a number", "float": "a number", "bool": "true or false"}[p[1]]
			if kind == "" {
				kind = "this value"
			}
			return fmt.Sprintf("%s is not %s", kind, want)
		}
		return fmt.Sprintf("%q is not %s", p[2], want)
	})
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validate checks every setting that a later stage would otherwise trip
// on and returns the first mistake (see [Check] for all of them with their
// lines).
func (c *Config) validate() error {
	if ps := c.problems(false); len(ps) > 0 {
		return errors.New(ps[0].msg)
	}
	return nil
}

// problems lists every setting out of range, each naming its key; with
// inputs it also checks the local files and model headers (checkInputs).
func (c *Config) problems(inputs bool) problems {
	var ps problems
	if !nameRE.MatchString(c.Name) {
		ps.add("name", "name %q must be letters, digits, '.', '_' or '-'", c.Name)
	}
	if c.Anchors.Path == "" {
		ps.add("anchors.path", "anchors.path is required")
	}
	if c.Anchors.Limit < 0 {
		ps.add("anchors.limit", "anchors.limit must not be negative (got %d)", c.Anchors.Limit)
	}
	if c.Test != nil && c.Test.Limit < 0 {
		ps.add("test.limit", "test.limit must not be negative (got %d)", c.Test.Limit)
	}
	if c.Split.Test < 0 || c.Split.Test >= 1 {
		ps.add("split.test", "split.test = %v must be in [0, 1)", c.Split.Test)
	}
	if c.Split.Anchors < 0 {
		ps.add("split.anchors", "split.anchors must not be negative (got %d)", c.Split.Anchors)
	}
	g := c.Generation
	if g.Demos < 0 {
		ps.add("generation.demos", "generation.demos must be at least 0 (got %d)", g.Demos)
	}
	if g.PerPrompt < 1 {
		ps.add("generation.per_prompt", "generation.per_prompt must be at least 1 (got %d)", g.PerPrompt)
	}
	if g.Target < 1 {
		ps.add("generation.target", "generation.target must be at least 1 (got %d)", g.Target)
	}
	if len(c.Generators) == 0 {
		ps.add("generators", "at least one generator is required")
	}
	if err := g.inlineAttributes().Validate(); err != nil {
		ps.add("generation.attributes", "generation.attributes: %v", err)
	}
	seen := map[string]bool{}
	for i, m := range c.Generators {
		key := func(f string) string { return fmt.Sprintf("generators[%d].%s", i, f) }
		if !nameRE.MatchString(m.ID) {
			ps.add(key("id"), "generators[%d].id %q must be letters, digits, '.', '_' or '-'", i, m.ID)
		}
		if seen[m.ID] {
			ps.add(key("id"), "generator id %q is used twice", m.ID)
		}
		seen[m.ID] = true
		if m.Model == "" {
			ps.add(key("model"), "generators[%d].model is required", i)
		}
		if m.Mode != "" && m.Mode != "chat" && m.Mode != "completion" {
			ps.add(key("mode"), "generators[%d].mode %q must be chat or completion", i, m.Mode)
		}
		if !(m.Temperature >= 0 && m.Temperature <= 2) {
			ps.add(key("temperature"), "generators[%d].temperature must be between 0 and 2 (got %v)", i, m.Temperature)
		}
		if !(m.TopP >= 0 && m.TopP <= 1) {
			ps.add(key("top_p"), "generators[%d].top_p must be between 0 and 1 (got %v)", i, m.TopP)
		}
		for _, n := range []struct {
			f string
			v int
		}{{"max_tokens", m.MaxTokens}, {"rpm", m.RPM}, {"tpm", m.TPM}, {"batch_max_requests", m.BatchMaxRequests}} {
			if n.v < 0 {
				ps.add(key(n.f), "generators[%d].%s must not be negative (got %d)", i, n.f, n.v)
			}
		}
		if len(m.Price) != 0 && (len(m.Price) != 2 || m.Price[0] < 0 || m.Price[1] < 0) {
			ps.add(key("price"), "generators[%d].price must be [prompt, completion], two non-negative prices per million tokens", i)
		}
		if m.Batch != "" && m.Batch != "openai" && m.Batch != "anthropic" {
			ps.add(key("batch"), "generators[%d].batch %q must be openai or anthropic", i, m.Batch)
		}
		if m.Batch != "" && !strings.HasPrefix(m.Model, "http://") && !strings.HasPrefix(m.Model, "https://") {
			ps.add(key("batch"), "generators[%d].batch needs an http(s)://HOST/v1#MODEL model", i)
		}
		if m.BatchPoll != "" {
			if d, err := time.ParseDuration(m.BatchPoll); err != nil || d <= 0 {
				ps.add(key("batch_poll"), "generators[%d].batch_poll %q must be a positive duration such as 30s", i, m.BatchPoll)
			}
		}
		if len(m.BaseURLs) > 0 {
			if !strings.HasPrefix(m.Model, "http://") && !strings.HasPrefix(m.Model, "https://") {
				ps.add(key("base_urls"), "generators[%d].base_urls needs an http(s)://HOST/v1#MODEL model (its endpoint is the first one)", i)
			}
			if m.Batch != "" {
				ps.add(key("base_urls"), "generators[%d].base_urls does not go with batch (a batch goes to one provider)", i)
			}
			for _, u := range m.BaseURLs {
				if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
					ps.add(key("base_urls"), "generators[%d].base_urls: %q is not an http(s) URL", i, llm.RedactURL(u))
				}
			}
		}
	}
	cu := c.Curation
	if !(cu.Rouge >= 0 && cu.Rouge <= 1) {
		ps.add("curation.rouge", "curation.rouge must be between 0 and 1 (got %v)", cu.Rouge)
	}
	if !(cu.Near >= 0 && cu.Near <= 1) {
		ps.add("curation.near", "curation.near must be between 0 and 1 (got %v)", cu.Near)
	}
	if cu.MinWords < 0 || cu.MaxWords < 0 {
		ps.add("curation.min_words", "curation.min_words and curation.max_words must not be negative (got %d and %d)", cu.MinWords, cu.MaxWords)
	}
	for i, f := range cu.Filters {
		if f != "none" && !slices.Contains(curate.FilterNames, f) {
			ps.add(fmt.Sprintf("curation.filters[%d]", i), "curation.filters: unknown filter %q (want %s or none)", f, strings.Join(curate.FilterNames, ", "))
		}
	}
	if p := c.Measure.Pairing; p != "" && p != "auto" && p != "provenance" && p != "subsample" {
		ps.add("measure.pairing", "measure.pairing %q must be provenance, subsample or auto", p)
	}
	if len(c.Measure.Metrics) > 0 {
		if _, err := measure.SelectMetrics(strings.Join(c.Measure.Metrics, ","), c.Measure.LLM != ""); err != nil {
			ps.add("measure.metrics", "measure.metrics: %v", err)
		}
	}
	if s := c.Students; s != nil {
		if s.Base == "" {
			ps.add("students", "students.base is required (the checkpoint or tokenizer source)")
		}
		for i, m := range s.Mixes {
			if _, _, err := ParseMix(m); err != nil {
				ps.add(fmt.Sprintf("students.mixes[%d]", i), "students.mixes: %v", err)
			}
		}
		for _, n := range []struct {
			key string
			v   float64
		}{{"steps", float64(s.Steps)}, {"tokens", float64(s.Tokens)}, {"epochs", s.Epochs}, {"batch", float64(s.Batch)}, {"seq_len", float64(s.SeqLen)}, {"lr", s.LR}} {
			if n.v < 0 || math.IsNaN(n.v) || math.IsInf(n.v, 0) {
				ps.add("students."+n.key, "students.%s must not be negative (got %v)", n.key, n.v)
			}
		}
		if sh := s.Scratch; sh != nil && (sh.Dim < 1 || sh.Layers < 1 || sh.Heads < 1 || sh.Hidden < 0 || sh.Dim%max(sh.Heads, 1) != 0) {
			ps.add("students.scratch", "students.scratch needs dim, layers and heads of at least 1, with dim a multiple of heads (got dim %d, layers %d, heads %d)", sh.Dim, sh.Layers, sh.Heads)
		}
		if s.Template != "" && s.Template != "alpaca" && s.Template != "compact" {
			ps.add("students.template", "students.template %q must be alpaca or compact", s.Template)
		}
		if s.Timeout != "" {
			if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
				ps.add("students.timeout", "students.timeout %q must be a positive duration such as 2h", s.Timeout)
			}
		}
	}
	if j := c.Judge; j != nil {
		if j.Model == "" {
			ps.add("judge", "judge.model is required")
		}
		if j.Questions < 0 {
			ps.add("judge.questions", "judge.questions must not be negative (got %d)", j.Questions)
		}
		if j.MaxTokens < 0 {
			ps.add("judge.max_tokens", "judge.max_tokens must not be negative (got %d)", j.MaxTokens)
		}
	}
	keys := make([]string, 0, len(c.Sweep))
	for k := range c.Sweep {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(c.Sweep[k]) == 0 {
			ps.add("sweep."+k, "sweep.%s has no values", k)
		}
		if strings.HasPrefix(k, "sweep") || k == "name" || k == "out" {
			ps.add("sweep."+k, "sweep.%s: this setting cannot be swept", k)
		}
	}
	if inputs {
		ps = append(ps, c.checkInputs()...)
	}
	return ps
}

// ParseMix reads a real:synthetic ratio such as "4:1".
func ParseMix(s string) (real, synthetic float64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		real, err = strconv.ParseFloat(strings.TrimSpace(a), 64)
		if err == nil {
			synthetic, err = strconv.ParseFloat(strings.TrimSpace(b), 64)
		}
	}
	if !ok || err != nil || real < 0 || synthetic < 0 || real+synthetic == 0 {
		return 0, 0, fmt.Errorf("mix %q must be REAL:SYNTHETIC with non-negative numbers, not both 0", s)
	}
	return real, synthetic, nil
}

// Resolve returns path relative to the experiment file's directory; URIs
// (scheme://, builtin:, glove:) are resolved inside their spec.
func (c *Config) Resolve(path string) string {
	if path == "" || strings.Contains(path, "://") || filepath.IsAbs(path) {
		return path
	}
	for _, prefix := range []string{"builtin:", "glove:"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			return prefix + c.Resolve(rest)
		}
	}
	return filepath.Join(c.dir, path)
}

// RunDir is the run directory.
func (c *Config) RunDir() string {
	if c.Out != "" {
		return c.Resolve(c.Out)
	}
	return filepath.Join(c.dir, "runs", c.Name)
}

// Dir is the directory of the experiment file.
func (c *Config) Dir() string { return c.dir }

// Configuration is one point of the sweep: the experiment with the sweep's
// values applied.
type Configuration struct {
	// ID is stable across runs: the swept values, joined.
	ID string `json:"id"`
	// Params are the swept values of this configuration.
	Params map[string]any `json:"params"`
	// Config is the experiment with the values applied (Sweep cleared).
	Config *Config `json:"-"`
	// Generator is the generator this configuration uses.
	Generator GeneratorSpec `json:"-"`
}

// Configurations expands the sweep. The key "generator" selects a
// generator by id; without it every generator is its own configuration.
func (c *Config) Configurations() ([]Configuration, error) {
	keys := make([]string, 0, len(c.Sweep))
	for k := range c.Sweep {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sweep := maps(c.Sweep)
	if _, ok := sweep["generator"]; !ok {
		ids := make([]any, len(c.Generators))
		for i, g := range c.Generators {
			ids[i] = g.ID
		}
		sweep["generator"] = ids
		keys = append([]string{"generator"}, keys...)
	} else {
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == "generator" })
		keys = append([]string{"generator"}, keys...)
	}
	base, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var out []Configuration
	idx := make([]int, len(keys))
	for {
		params := map[string]any{}
		var tree map[string]any
		if err := yaml.Unmarshal(base, &tree); err != nil {
			return nil, err
		}
		delete(tree, "sweep")
		var parts []string
		var gen string
		for i, k := range keys {
			v := sweep[k][idx[i]]
			params[k] = v
			parts = append(parts, idPart(k, v))
			if k == "generator" {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("sweep.generator values must be generator ids")
				}
				gen = s
				continue
			}
			if err := setPath(tree, strings.Split(k, "."), v); err != nil {
				return nil, fmt.Errorf("sweep.%s: %w", k, err)
			}
		}
		raw, err := yaml.Marshal(tree)
		if err != nil {
			return nil, err
		}
		cc, err := decode(raw)
		if err != nil {
			// Lines refer to the rewritten tree, not the user's file.
			return nil, fmt.Errorf("sweep %s: %s", plainParams(keys, params), yamlLineRE.ReplaceAllString(err.Error(), ""))
		}
		cc.dir = c.dir
		if err := cc.validate(); err != nil {
			return nil, fmt.Errorf("sweep %s: %w", plainParams(keys, params), err)
		}
		g, ok := cc.generator(gen)
		if !ok {
			return nil, fmt.Errorf("sweep.generator: no generator with id %q", gen)
		}
		out = append(out, Configuration{ID: strings.Join(parts, "_"), Params: params, Config: cc, Generator: g})
		// Next index, last key fastest.
		i := len(keys) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(sweep[keys[i]]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	ids := map[string]bool{}
	for _, cf := range out {
		if ids[cf.ID] {
			return nil, fmt.Errorf("sweep gives two configurations the id %q; make the values distinct", cf.ID)
		}
		ids[cf.ID] = true
	}
	return out, nil
}

func (c *Config) generator(id string) (GeneratorSpec, bool) {
	for _, g := range c.Generators {
		if g.ID == id {
			return g, true
		}
	}
	return GeneratorSpec{}, false
}

func maps(m map[string][]any) map[string][]any {
	out := make(map[string][]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// idPart renders one swept value for a configuration id.
func idPart(key string, v any) string {
	if key == "generator" {
		return fmt.Sprint(v)
	}
	short := key[strings.LastIndex(key, ".")+1:]
	val := fmt.Sprint(v)
	if l, ok := v.([]any); ok {
		s := make([]string, len(l))
		for i, x := range l {
			s[i] = fmt.Sprint(x)
		}
		val = strings.Join(s, "+")
	}
	val = strings.Trim(unsafeID.ReplaceAllString(val, "-"), "-")
	if len(val) > 40 {
		val = val[:40]
	}
	return short + "-" + val
}

// setPath sets tree[path...] = v, creating maps on the way; a numeric
// element indexes a list (generators.0.temperature).
func setPath(tree map[string]any, path []string, v any) error {
	var cur any = tree
	for i, p := range path {
		last := i == len(path)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				node[p] = v
				return nil
			}
			next, ok := node[p]
			if !ok || next == nil {
				next = map[string]any{}
				node[p] = next
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(node) {
				return fmt.Errorf("%s: no element %q in a list of %d", strings.Join(path[:i], "."), p, len(node))
			}
			if last {
				node[idx] = v
				return nil
			}
			cur = node[idx]
		default:
			return fmt.Errorf("%s is not a section", strings.Join(path[:i], "."))
		}
	}
	return nil
}
