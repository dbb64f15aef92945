package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one mistake in an experiment file, at its line (0 when the
// line is unknown, e.g. for a setting made in code).
type Problem struct {
	Line int
	Msg  string
}

// ValidationError is every mistake found in an experiment file, each at
// its line, found before any stage runs.
type ValidationError struct {
	// File is the experiment file's name as the user gave it ("" when the
	// experiment was not read from a file).
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.at(p.Line) + p.Msg
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems in the experiment file:\n%s", len(lines), strings.Join(lines, "\n"))
}

func (e *ValidationError) at(line int) string {
	switch {
	case e.File != "" && line > 0:
		return fmt.Sprintf("%s:%d: ", e.File, line)
	case e.File != "":
		return e.File + ": "
	case line > 0:
		return fmt.Sprintf("line %d: ", line)
	}
	return ""
}

// problem is a mistake at a setting (a key as the messages name it:
// generators[0].model, sweep.generation.demos[1]).
type problem struct {
	key string
	msg string
}

// problems collects mistakes.
type problems []problem

func (ps *problems) add(key, format string, a ...any) {
	*ps = append(*ps, problem{key: key, msg: fmt.Sprintf(format, a...)})
}

// lineIndex maps a setting's key to the line it is on.
type lineIndex map[string]int

// indexLines walks the YAML tree of raw and records the line of every key
// and list element. Keys join with ".", list elements as [i].
func indexLines(raw []byte) lineIndex {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 {
		return lineIndex{}
	}
	idx := lineIndex{}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if key != "" {
					k = key + "." + k
				}
				idx[k] = n.Content[i].Line
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				k := fmt.Sprintf("%s[%d]", key, i)
				idx[k] = c.Line
				walk(c, k)
			}
		case yaml.AliasNode:
			if n.Alias != nil {
				walk(n.Alias, key)
			}
		}
	}
	walk(doc.Content[0], "")
	return idx
}

// line is the line of key, or of its nearest enclosing setting that is in
// the file (a missing required key is reported at its section).
func (idx lineIndex) line(key string) int {
	for key != "" {
		if l, ok := idx[key]; ok {
			return l
		}
		cut := max(strings.LastIndexAny(key, ".["), 0)
		key = key[:cut]
	}
	return 0
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): `)

// decodeProblems turns the YAML library's error into problems at their
// lines, without Go's type names.
func decodeProblems(err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out []Problem
	for _, m := range msgs {
		m = plainYAML(m)
		p := Problem{Msg: m}
		if s := yamlLineRE.FindStringSubmatch(m); s != nil {
			p.Line, _ = strconv.Atoi(s[1])
			p.Msg = m[len(s[0]):]
		}
		out = append(out, p)
	}
	return out
}

// Check reads an experiment file and finds every mistake in it before any
// stage runs: YAML and unknown keys, numbers out of range, sweep keys
// that name no setting and sweep values that do not fit theirs, and, with
// inputs, the local files and model headers the experiment names. It
// returns the configuration, or a *ValidationError listing each mistake
// once with its line (a mistake shared by every configuration of the
// sweep is reported once, at its line in the file).
func Check(file string, raw []byte, dir string, inputs bool) (*Config, error) {
	verr := &ValidationError{File: file}
	idx := indexLines(raw)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			verr.Problems = []Problem{{Msg: "the file is empty"}}
			return nil, verr
		}
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// A syntax error: nothing else can be checked.
			verr.Problems = decodeProblems(err)
			return nil, verr
		}
		verr.Problems = decodeProblems(err)
	}
	c.dir = dir
	bad := map[int]bool{}
	for _, p := range verr.Problems {
		bad[p.Line] = true
	}
	base := c.problems(inputs)
	seen := map[string]bool{}
	for _, p := range base {
		l := idx.line(p.key)
		if bad[l] && l > 0 {
			continue // the value did not decode; already reported
		}
		seen[p.msg] = true
		verr.Problems = append(verr.Problems, Problem{Line: l, Msg: p.msg})
	}
	verr.Problems = append(verr.Problems, c.sweepProblems(idx, seen, inputs)...)
	if len(verr.Problems) > 0 {
		sort.SliceStable(verr.Problems, func(i, j int) bool { return verr.Problems[i].Line < verr.Problems[j].Line })
		return nil, verr
	}
	return &c, nil
}

// sweepProblems checks that every sweep key names a setting and that every
// value of it makes a valid experiment; a value's mistakes that the base
// experiment does not have (seen) are reported at the value's line.
func (c *Config) sweepProblems(idx lineIndex, seen map[string]bool, inputs bool) []Problem {
	keys := make([]string, 0, len(c.Sweep))
	for k := range c.Sweep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Problem
	for _, k := range keys {
		kl := idx.line("sweep." + k)
		if k == "generator" {
			for i, v := range c.Sweep[k] {
				if s, ok := v.(string); !ok {
					out = append(out, Problem{idx.line(fmt.Sprintf("sweep.%s[%d]", k, i)), fmt.Sprintf("sweep.generator: %s is not a generator id", plainValue(v))})
				} else if _, ok := c.generator(s); !ok {
					out = append(out, Problem{idx.line(fmt.Sprintf("sweep.%s[%d]", k, i)), fmt.Sprintf("sweep.generator: no generator has the id %q", s)})
				}
			}
			continue
		}
		if err := c.sweepKeyExists(k); err != nil {
			out = append(out, Problem{kl, fmt.Sprintf("sweep.%s: %v", k, err)})
			continue
		}
		for i, v := range c.Sweep[k] {
			vl := idx.line(fmt.Sprintf("sweep.%s[%d]", k, i))
			cc, err := c.with(map[string]any{k: v})
			if err != nil {
				out = append(out, Problem{vl, fmt.Sprintf("sweep.%s value %s: %v", k, plainValue(v), err)})
				continue
			}
			for _, p := range cc.problems(inputs) {
				if !seen[p.msg] {
					out = append(out, Problem{vl, fmt.Sprintf("sweep.%s value %s: %s", k, plainValue(v), p.msg)})
				}
			}
		}
	}
	return out
}

// with returns a copy of c with the settings of values (sweep keys) made,
// decoded as strictly as the file.
func (c *Config) with(values map[string]any) (*Config, error) {
	cp := *c
	cp.Sweep = nil
	raw, err := yaml.Marshal(&cp)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := setPath(tree, strings.Split(k, "."), values[k]); err != nil {
			return nil, err
		}
	}
	if raw, err = yaml.Marshal(tree); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var out Config
	if err := dec.Decode(&out); err != nil {
		// Lines refer to the rewritten tree, not the user's file: drop them.
		var msgs []string
		for _, p := range decodeProblems(err) {
			msgs = append(msgs, p.Msg)
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	out.dir = c.dir
	return &out, nil
}

// sweepKeyExists checks a dotted sweep key against the experiment's
// settings: struct fields by their YAML names, any key of a mapping, an
// index of a list that exists.
func (c *Config) sweepKeyExists(key string) error {
	parts := strings.Split(key, ".")
	if parts[0] == "sweep" || key == "name" || key == "out" {
		return errors.New("this setting cannot be swept")
	}
	t := reflect.TypeOf(*c)
	v := reflect.ValueOf(*c)
	for i, p := range parts {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
			if v.IsValid() && !v.IsNil() {
				v = v.Elem()
			} else {
				v = reflect.Value{}
			}
		}
		where := strings.Join(parts[:i], ".")
		switch t.Kind() {
		case reflect.Struct:
			f, ok := yamlField(t, p)
			if !ok {
				if where == "" {
					return fmt.Errorf("there is no setting %s", p)
				}
				return fmt.Errorf("%s has no setting %s", where, p)
			}
			t = f.Type
			if v.IsValid() {
				v = v.FieldByIndex(f.Index)
			}
		case reflect.Map:
			t = t.Elem()
			v = reflect.Value{}
		case reflect.Slice:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return fmt.Errorf("%s is a list: the next part must be an element number, not %s", where, p)
			}
			if v.IsValid() && n >= v.Len() {
				return fmt.Errorf("%s: no element %d in a list of %d", where, n, v.Len())
			}
			t = t.Elem()
			if v.IsValid() {
				v = v.Index(n)
			}
		default:
			return fmt.Errorf("%s is not a section", where)
		}
	}
	return nil
}

// yamlField finds the struct field whose YAML name is name.
func yamlField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" {
			tag = strings.ToLower(f.Name) // the YAML library's default
		}
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// plainValue prints a sweep value as YAML would (no Go syntax).
func plainValue(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSpace(string(b))
	if strings.Contains(s, "\n") {
		var parts []string
		if l, ok := v.([]any); ok {
			for _, x := range l {
				parts = append(parts, plainValue(x))
			}
			return "[" + strings.Join(parts, ", ") + "]"
		}
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}

// plainParams prints one configuration's swept values as
// "generator=a, generation.demos=3".
func plainParams(keys []string, params map[string]any) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + plainValue(params[k])
	}
	return strings.Join(parts, ", ")
}
