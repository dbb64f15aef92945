package synth

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Sampling modes of an AttributeSpace.
const (
	// SampleUniform draws every attribute independently, each value with
	// the same probability.
	SampleUniform = "uniform"
	// SampleWeighted draws every attribute independently with probability
	// proportional to its weights (uniform for an attribute without).
	SampleWeighted = "weighted"
	// SampleCross covers the cross product of the attributes' values:
	// every block of Size consecutive prompts holds each combination
	// exactly once, in an order shuffled by the seed (a new order per
	// block).
	SampleCross = "cross"
)

// Attribute is one named attribute of the prompts (persona, topic, style,
// difficulty, language, …) with the values it takes.
type Attribute struct {
	// Name is the attribute's name, as the template and the provenance
	// know it.
	Name string `json:"name"`
	// Values are the values drawn from.
	Values []string `json:"values"`
	// Weights, when given, are the values' relative weights (one per
	// value, non-negative, not all zero).
	Weights []float64 `json:"weights,omitempty"`
}

// AttributeSpace is the named attributes sampled per prompt and how they
// are sampled. The draw for prompt i depends only on the seed and i, so
// a resumed run gives each prompt (and its records) the same attributes.
type AttributeSpace struct {
	// Attributes are the attributes, each with a distinct name.
	Attributes []Attribute `json:"attributes,omitempty"`
	// Mode is SampleUniform, SampleWeighted or SampleCross; empty means
	// SampleWeighted when some attribute has weights, else SampleUniform.
	Mode string `json:"mode,omitempty"`
}

// IsZero reports whether the space has no attribute.
func (s AttributeSpace) IsZero() bool { return len(s.Attributes) == 0 }

// mode returns the effective sampling mode.
func (s AttributeSpace) mode() string {
	if s.Mode != "" {
		return s.Mode
	}
	for _, a := range s.Attributes {
		if len(a.Weights) > 0 {
			return SampleWeighted
		}
	}
	return SampleUniform
}

// Size returns the number of combinations of the attributes' values, or -1
// when it exceeds MaxCartesian.
func (s AttributeSpace) Size() int {
	n := 1
	for _, a := range s.Attributes {
		n *= len(a.Values)
		if n > MaxCartesian {
			return -1
		}
	}
	return n
}

// Validate checks names, values, weights and the mode; the message names
// the attribute at fault.
func (s AttributeSpace) Validate() error {
	seen := map[string]bool{}
	for _, a := range s.Attributes {
		switch {
		case !attrName(a.Name):
			return fmt.Errorf("attribute name %q must be a letter followed by letters, digits or '_'", a.Name)
		case seen[a.Name]:
			return fmt.Errorf("attribute %s is given twice", a.Name)
		case len(a.Values) == 0:
			return fmt.Errorf("attribute %s has no values", a.Name)
		case len(a.Weights) > 0 && len(a.Weights) != len(a.Values):
			return fmt.Errorf("attribute %s has %d values but %d weights", a.Name, len(a.Values), len(a.Weights))
		}
		seen[a.Name] = true
		for _, v := range a.Values {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("attribute %s has an empty value", a.Name)
			}
		}
		sum := 0.0
		for _, w := range a.Weights {
			if !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("attribute %s: weight %v must be a non-negative number", a.Name, w)
			}
			sum += w
		}
		if len(a.Weights) > 0 && sum == 0 {
			return fmt.Errorf("attribute %s: the weights are all 0", a.Name)
		}
	}
	switch m := s.mode(); m {
	case SampleUniform, SampleWeighted:
	case SampleCross:
		if s.Size() < 0 {
			return fmt.Errorf("the cross product of the attributes has more than %d combinations; sample them (uniform or weighted) instead", MaxCartesian)
		}
	default:
		return fmt.Errorf("attribute sampling %q must be %s, %s or %s", m, SampleUniform, SampleWeighted, SampleCross)
	}
	if s.Mode == SampleUniform {
		for _, a := range s.Attributes {
			if len(a.Weights) > 0 {
				return fmt.Errorf("attribute %s has weights but the sampling is uniform; use weighted", a.Name)
			}
		}
	}
	return nil
}

func attrName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r == '_' || r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// Draw returns the attributes of prompt i (nil for an empty space). The
// result depends only on the space, the seed and i.
func (s AttributeSpace) Draw(i int, seed uint64) (map[string]string, error) {
	if s.IsZero() {
		return nil, nil
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	out := make(map[string]string, len(s.Attributes))
	switch s.mode() {
	case SampleCross:
		size := s.Size()
		perm := rand.New(rand.NewPCG(seed, uint64(i/size))).Perm(size)
		k := perm[i%size]
		for j := len(s.Attributes) - 1; j >= 0; j-- {
			a := s.Attributes[j]
			out[a.Name] = a.Values[k%len(a.Values)]
			k /= len(a.Values)
		}
	default:
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		weighted := s.mode() == SampleWeighted
		for _, a := range s.Attributes {
			if weighted && len(a.Weights) > 0 {
				out[a.Name] = a.Values[pickWeighted(rng, a.Weights)]
			} else {
				out[a.Name] = a.Values[rng.IntN(len(a.Values))]
			}
		}
	}
	return out, nil
}

// pickWeighted returns index j with probability w[j]/Σw.
func pickWeighted(rng *rand.Rand, w []float64) int {
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	u := rng.Float64() * sum
	last := 0
	for j, x := range w {
		if x <= 0 {
			continue
		}
		last = j
		if u < x {
			return j
		}
		u -= x
	}
	return last
}

// ErrEmptyValue marks the problems LoadAttributeFile found with empty
// values: the other values are kept.
var ErrEmptyValue = errors.New("empty value")

// LoadAttributeFile reads the values of an attribute from a file:
//
//   - .json: a list of strings, or an object mapping each value to its
//     weight;
//   - .jsonl: one JSON string per line;
//   - anything else: one value per line, optionally followed by a tab and
//     its weight; blank lines and lines starting with '#' are skipped.
//
// A value that is empty (a line holding only a weight, "" in JSON) is
// left out and reported in the returned error, which wraps ErrEmptyValue,
// next to the attribute built from the rest; any other problem returns a
// zero Attribute. Weights are nil when the file gives none.
func LoadAttributeFile(name, path string) (Attribute, error) {
	a := Attribute{Name: name}
	b, err := os.ReadFile(path)
	if err != nil {
		return Attribute{}, fmt.Errorf("attribute %s: %w", name, err)
	}
	var empty []string
	add := func(where, v string, w float64, hasW bool) {
		if strings.TrimSpace(v) == "" {
			empty = append(empty, where)
			return
		}
		a.Values = append(a.Values, strings.TrimSpace(v))
		if hasW {
			a.Weights = append(a.Weights, w)
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		var list []string
		if err := json.Unmarshal(b, &list); err == nil {
			for i, v := range list {
				add(fmt.Sprintf("element %d", i+1), v, 0, false)
			}
			break
		}
		var weights map[string]float64
		if err := json.Unmarshal(b, &weights); err != nil {
			return Attribute{}, fmt.Errorf("attribute %s: %s is neither a JSON list of strings nor an object of value → weight", name, path)
		}
		keys := make([]string, 0, len(weights))
		for k := range weights {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(fmt.Sprintf("key %q", k), k, weights[k], true)
		}
	case ".jsonl":
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var v string
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				return Attribute{}, fmt.Errorf("attribute %s: %s line %d is not a JSON string", name, path, n)
			}
			add(fmt.Sprintf("line %d", n), v, 0, false)
		}
		if err := sc.Err(); err != nil {
			return Attribute{}, fmt.Errorf("attribute %s: %s: %w", name, path, err)
		}
	default:
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(nil, 1<<20)
		weighted := -1 // unknown until the first value line
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			v, ws, hasW := strings.Cut(line, "\t")
			if weighted < 0 {
				weighted = map[bool]int{false: 0, true: 1}[hasW]
			}
			if hasW != (weighted == 1) {
				return Attribute{}, fmt.Errorf("attribute %s: %s line %d: either every value has a tab and a weight or none does", name, path, n)
			}
			w := 0.0
			if hasW {
				w, err = strconv.ParseFloat(strings.TrimSpace(ws), 64)
				if err != nil {
					return Attribute{}, fmt.Errorf("attribute %s: %s line %d: weight %q is not a number", name, path, n, strings.TrimSpace(ws))
				}
			}
			add(fmt.Sprintf("line %d", n), v, w, hasW)
		}
		if err := sc.Err(); err != nil {
			return Attribute{}, fmt.Errorf("attribute %s: %s: %w", name, path, err)
		}
	}
	if len(a.Values) == 0 {
		return Attribute{}, fmt.Errorf("attribute %s: %s holds no value", name, path)
	}
	if len(empty) > 0 {
		return a, fmt.Errorf("attribute %s: %s: %w at %s, left out (%d values kept)", name, path, ErrEmptyValue, strings.Join(empty, ", "), len(a.Values))
	}
	return a, nil
}

// ParseAttributeFlag reads the command-line form of an attribute:
// NAME=V1,V2,… (uniform), NAME=V1:W1,V2:W2,… (weighted) or NAME=@FILE
// (see LoadAttributeFile). Its error wraps ErrEmptyValue, with the
// attribute built from the rest, when only empty values were wrong.
func ParseAttributeFlag(s string) (Attribute, error) {
	name, rest, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || !attrName(name) {
		return Attribute{}, fmt.Errorf("attribute %q must be NAME=VALUE,VALUE… or NAME=@FILE", s)
	}
	if file, ok := strings.CutPrefix(rest, "@"); ok {
		return LoadAttributeFile(name, file)
	}
	a := Attribute{Name: name}
	parts := strings.Split(rest, ",")
	weighted := false
	for _, p := range parts {
		if i := strings.LastIndex(p, ":"); i >= 0 {
			if _, err := strconv.ParseFloat(strings.TrimSpace(p[i+1:]), 64); err == nil {
				weighted = true
			}
		}
	}
	var empty int
	for _, p := range parts {
		v := p
		if weighted {
			i := strings.LastIndex(p, ":")
			w, err := strconv.ParseFloat(strings.TrimSpace(p[i+1:]), 64)
			if i < 0 || err != nil {
				return Attribute{}, fmt.Errorf("attribute %s: %q has no :WEIGHT while other values do", name, p)
			}
			v = p[:i]
			if strings.TrimSpace(v) != "" {
				a.Weights = append(a.Weights, w)
			}
		}
		if strings.TrimSpace(v) == "" {
			empty++
			continue
		}
		a.Values = append(a.Values, strings.TrimSpace(v))
	}
	if len(a.Values) == 0 {
		return Attribute{}, fmt.Errorf("attribute %s has no value", name)
	}
	if empty > 0 {
		return a, fmt.Errorf("attribute %s: %w left out (%d values kept)", name, ErrEmptyValue, len(a.Values))
	}
	return a, nil
}
