package synth

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/jsonx"
)

// Reasons for which text or a JSON value gives no record.
const (
	// ReasonEmptyOutput: the model's text is empty or white space.
	ReasonEmptyOutput = "empty output"
	// ReasonNoJSON: the text holds no JSON object at all.
	ReasonNoJSON = "no JSON found"
	// ReasonInvalidJSON: something shaped like a JSON object does not
	// decode, even after the safe repairs.
	ReasonInvalidJSON = "invalid JSON"
	// ReasonTruncated: a JSON object is still open at the end of the text
	// (the model hit its token limit).
	ReasonTruncated = "truncated JSON"
	// ReasonNotObject: an element of a list of tasks is not an object.
	ReasonNotObject = "not an object"
	// ReasonMissingInstruction: an object has no (non-empty) instruction.
	ReasonMissingInstruction = "missing instruction"
	// ReasonMissingResponse: an object has no response field.
	ReasonMissingResponse = "missing response"
	// ReasonEmptyResponse: an object's response is empty.
	ReasonEmptyResponse = "empty response"
	// ReasonScanLimit: the text is so large or so full of unbalanced
	// brackets that scanning stopped (Parser.MaxWork).
	ReasonScanLimit = "scan limit reached"
)

// Field-name variants, after normalisation (lower case, '_' and '-' read as
// spaces), in order of preference.
var (
	instructionKeys = []string{"instruction", "task", "question", "prompt", "query"}
	contextKeys     = []string{"context", "input"}
	responseKeys    = []string{"reference response", "response", "output", "answer", "reference answer", "completion"}
	categoryKeys    = []string{"category"}
)

// Reject is a piece of a model's output that gave no record.
type Reject struct {
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// Detail explains the reason (the decoder's error, for instance).
	Detail string `json:"detail,omitempty"`
	// Offset is the byte offset of the piece in the text (-1 when the piece
	// is an element of a decoded list).
	Offset int `json:"offset"`
	// Text is the piece itself (the whole text for ReasonNoJSON and
	// ReasonEmptyOutput).
	Text string `json:"text"`
}

// RejectEntry is one line of a rejects file: a Reject with the prompt and
// the raw response it came from.
type RejectEntry struct {
	PromptID string `json:"prompt_id,omitempty"`
	RawKey   string `json:"raw_key,omitempty"`
	Reject
}

// RejectEntries returns the rejects of r as lines of a rejects file.
func (r Result) RejectEntries(promptID, rawKey string) []RejectEntry {
	out := make([]RejectEntry, len(r.Rejects))
	for i, rj := range r.Rejects {
		out[i] = RejectEntry{PromptID: promptID, RawKey: rawKey, Reject: rj}
	}
	return out
}

// Result is what parsing one model output gives.
type Result struct {
	// Records are the records found, in text order.
	Records []dataset.Record `json:"records"`
	// Rejects are the pieces that gave no record.
	Rejects []Reject `json:"rejects,omitempty"`
	// Reasons counts the rejects by reason.
	Reasons map[string]int `json:"reasons,omitempty"`
	// Objects is the number of candidate task objects seen.
	Objects int `json:"objects"`
	// Repaired is the number of JSON values that decoded only after repair
	// (trailing commas, typographic quotes, raw control characters).
	Repaired int `json:"repaired"`
	// Raw is the text parsed, kept for a rejects file.
	Raw string `json:"raw"`
}

// ReasonNames returns the reasons of r in sorted order.
func (r Result) ReasonNames() []string {
	out := make([]string, 0, len(r.Reasons))
	for k := range r.Reasons {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Parser turns the text of a model's output into records. Field values are
// trimmed of surrounding white space; numbers and booleans become their JSON
// text and lists of strings one line per element; a context of "noinput",
// "<noinput>", "none", "n/a" or "null" counts as empty; fields the record
// has no place for go to Meta. A record's ID is dataset.ContentID.
type Parser struct {
	// Provenance, when not nil, gives the provenance of the i-th record of
	// a text (see Prompt.Provenance).
	Provenance func(i int) dataset.Provenance
	// AllowMissingResponse keeps objects without a response (or with an
	// empty one), for instruction-only generation.
	AllowMissingResponse bool
	// MaxWork bounds the bytes the bracket matcher and the decoder may
	// visit over one text (16 MiB when 0), so that adversarial text cannot
	// take quadratic time; ordinary output costs about three times its
	// length.
	MaxWork int
}

// Parse parses text with a default Parser and the given provenance function
// (which may be nil).
func Parse(text string, prov func(i int) dataset.Provenance) Result {
	return Parser{Provenance: prov}.Parse(text)
}

// Parse finds every task object in text and turns it into a record. It
// never panics and never fails: what cannot be used is in Result.Rejects.
func (p Parser) Parse(text string) Result {
	st := &parseState{p: p, res: Result{Raw: text}}
	st.budget = p.MaxWork
	if st.budget <= 0 {
		st.budget = 16 << 20
	}
	if strings.TrimSpace(text) == "" {
		st.reject(ReasonEmptyOutput, "", 0, text)
		return st.res
	}
	st.scan(text)
	return st.res
}

type parseState struct {
	p      Parser
	res    Result
	budget int
	found  bool // any JSON value that counted (record or reject)
}

func (st *parseState) reject(reason, detail string, off int, text string) {
	st.res.Rejects = append(st.res.Rejects, Reject{Reason: reason, Detail: detail, Offset: off, Text: text})
	if st.res.Reasons == nil {
		st.res.Reasons = map[string]int{}
	}
	st.res.Reasons[reason]++
}

var wrapperStart = regexp.MustCompile(`^\{\s*["\x{201c}\x{201d}][^"\x{201c}\x{201d}]*["\x{201c}\x{201d}]\s*:\s*[\[{]`)

// looksLikeObject reports whether s starts as a JSON object with a key.
func looksLikeObject(s string) bool {
	if len(s) == 0 || s[0] != '{' {
		return false
	}
	t := strings.TrimLeft(s[1:], " \t\r\n")
	if !(strings.HasPrefix(t, `"`) || strings.HasPrefix(t, "\u201c") || strings.HasPrefix(t, "\u201d")) {
		return false
	}
	return strings.Contains(t, ":")
}

func (st *parseState) scan(text string) {
	type open struct{ at int }
	var unclosed []open // object-like starts that never close
	lastSuccess := -1   // start offset of the last value that counted
	for i := 0; i < len(text); {
		c := text[i]
		if c != '{' && c != '[' {
			i++
			continue
		}
		end, status := jsonx.End(text, i, &st.budget)
		switch status {
		case jsonx.OutOfBudget:
			st.reject(ReasonScanLimit, fmt.Sprintf("stopped at byte %d of %d", i, len(text)), i, text[i:])
			st.found = true
			return
		case jsonx.Open:
			if c == '{' && looksLikeObject(text[i:]) && !wrapperStart.MatchString(text[i:]) {
				unclosed = append(unclosed, open{i})
			}
			i++
			continue
		}
		seg := text[i:end]
		st.budget -= 2 * len(seg) // decoding, and repair when needed
		if st.budget < 0 {
			st.reject(ReasonScanLimit, fmt.Sprintf("stopped at byte %d of %d", i, len(text)), i, text[i:])
			st.found = true
			return
		}
		v, repaired, err := jsonx.Decode(seg)
		if err != nil {
			if c == '{' && looksLikeObject(seg) {
				st.reject(ReasonInvalidJSON, err.Error(), i, seg)
				st.found = true
				lastSuccess = i
				i = end
				continue
			}
			i++
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			if repaired {
				st.res.Repaired++
			}
			st.object(v, i, seg)
		case []any:
			if !hasObject(v) {
				i = end
				continue
			}
			if repaired {
				st.res.Repaired++
			}
			st.list(v)
		default:
			i++
			continue
		}
		st.found = true
		lastSuccess = i
		i = end
	}
	for _, u := range unclosed {
		if u.at > lastSuccess {
			st.reject(ReasonTruncated, "the object is never closed", u.at, text[u.at:])
			st.found = true
			break // later starts are inside this one
		}
		st.reject(ReasonInvalidJSON, "the object is never closed", u.at, firstLine(text[u.at:]))
		st.found = true
	}
	if !st.found {
		st.reject(ReasonNoJSON, "", 0, text)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func hasObject(v []any) bool {
	for _, x := range v {
		if _, ok := x.(map[string]any); ok {
			return true
		}
	}
	return false
}

func (st *parseState) list(v []any) {
	for _, x := range v {
		switch x := x.(type) {
		case map[string]any:
			st.object(x, -1, "")
		case []any:
			if hasObject(x) {
				st.list(x)
				continue
			}
			st.reject(ReasonNotObject, "a list", -1, marshalText(x))
		default:
			st.reject(ReasonNotObject, fmt.Sprintf("a %T", x), -1, marshalText(x))
		}
	}
}

func marshalText(v any) string {
	s, err := jsonText(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return s
}

// normKey normalises a field name: lower case, '_' and '-' as spaces,
// surrounding white space and a trailing colon removed.
func normKey(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	k = strings.TrimSuffix(k, ":")
	k = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return ' '
		}
		return r
	}, k)
	return strings.Join(strings.Fields(k), " ")
}

// lookup returns the first of keys present in m (by normalised name) and
// the original key.
func lookup(norm map[string]string, m map[string]any, keys []string) (v any, orig string, ok bool) {
	for _, k := range keys {
		if o, found := norm[k]; found {
			return m[o], o, true
		}
	}
	return nil, "", false
}

// object turns one decoded object into a record, or unwraps a container
// such as {"tasks": [...]}.
func (st *parseState) object(m map[string]any, off int, raw string) {
	norm := make(map[string]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic choice between keys that normalise alike
	for _, k := range keys {
		if _, dup := norm[normKey(k)]; !dup {
			norm[normKey(k)] = k
		}
	}
	if raw == "" {
		raw = marshalText(m)
	}
	instV, instK, hasInst := lookup(norm, m, instructionKeys)
	if !hasInst {
		// A container: unwrap the lists of objects (or objects) it holds.
		unwrapped := false
		for _, k := range keys {
			switch x := m[k].(type) {
			case []any:
				if hasObject(x) {
					st.list(x)
					unwrapped = true
				}
			case map[string]any:
				if isTaskLike(x) {
					st.object(x, -1, "")
					unwrapped = true
				}
			}
		}
		if unwrapped {
			return
		}
	}
	st.res.Objects++
	inst := strings.TrimSpace(textOf(instV))
	if inst == "" {
		st.reject(ReasonMissingInstruction, "", off, raw)
		return
	}
	used := map[string]bool{instK: true}
	r := dataset.Record{Instruction: inst}
	if v, k, ok := lookup(norm, m, contextKeys); ok {
		used[k] = true
		r.Input = strings.TrimSpace(textOf(v))
	}
	respV, respK, hasResp := lookup(norm, m, responseKeys)
	if hasResp {
		used[respK] = true
		r.Output = strings.TrimSpace(textOf(respV))
	} else if list, ok := m[norm["instances"]].([]any); ok && norm["instances"] != "" && len(list) > 0 {
		// Self-instruct layout: {"instruction", "instances": [{"input", "output"}]}.
		if first, ok := list[0].(map[string]any); ok {
			used[norm["instances"]] = true
			fn := map[string]string{}
			for k := range first {
				fn[normKey(k)] = k
			}
			if v, _, ok := lookup(fn, first, contextKeys); ok && r.Input == "" {
				r.Input = strings.TrimSpace(textOf(v))
			}
			if v, _, ok := lookup(fn, first, responseKeys); ok {
				hasResp = true
				r.Output = strings.TrimSpace(textOf(v))
			}
		}
	}
	if isNoInput(r.Input) {
		r.Input = ""
	}
	if !st.p.AllowMissingResponse {
		if !hasResp {
			st.reject(ReasonMissingResponse, "", off, raw)
			return
		}
		if r.Output == "" {
			st.reject(ReasonEmptyResponse, "", off, raw)
			return
		}
	}
	if v, k, ok := lookup(norm, m, categoryKeys); ok {
		used[k] = true
		r.Category = strings.TrimSpace(textOf(v))
	}
	for _, k := range keys {
		if !used[k] {
			if r.Meta == nil {
				r.Meta = map[string]any{}
			}
			r.Meta[k] = m[k]
		}
	}
	r.ID = dataset.ContentID(r)
	if st.p.Provenance != nil {
		r.Provenance = st.p.Provenance(len(st.res.Records))
	}
	st.res.Records = append(st.res.Records, r)
}

// isTaskLike reports whether an object has an instruction-like field.
func isTaskLike(m map[string]any) bool {
	for k := range m {
		nk := normKey(k)
		for _, c := range instructionKeys {
			if nk == c {
				return true
			}
		}
	}
	return false
}

func isNoInput(s string) bool {
	switch strings.ToLower(strings.Trim(s, " <>\"'.")) {
	case "noinput", "no input", "none", "n/a", "null":
		return true
	}
	return false
}

// textOf renders a decoded JSON value as text: strings as they are, lists
// of strings one per line, everything else as JSON.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return marshalText(x)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n")
	}
	return marshalText(v)
}
