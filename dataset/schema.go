package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Schema maps the rows of a source (decoded JSON objects, or CSV and Parquet
// rows as objects) onto records.
type Schema struct {
	// Name is the schema's name ("alpaca", "custom", ...).
	Name string
	m    func(row map[string]any, opt *ReadOptions) ([]Record, error)
}

// Map turns one source row into records (several for self-instruct rows
// with several instances).
func (s Schema) Map(row map[string]any, opt ReadOptions) ([]Record, error) {
	if s.m == nil {
		return nil, errors.New("schema has no mapping")
	}
	return s.m(row, &opt)
}

// FieldError reports a required field that is missing or has the wrong type.
type FieldError struct {
	Field   string
	Problem string // "missing" or a description
}

func (e *FieldError) Error() string {
	if e.Problem == "missing" {
		return fmt.Sprintf("missing field %q", e.Field)
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Problem)
}

// reason is the short, countable cause of a FieldError.
func (e *FieldError) reason() string {
	if e.Problem == "missing" {
		return "missing field " + e.Field
	}
	return "invalid field " + e.Field
}

// SchemaNames lists the built-in schemas.
func SchemaNames() []string {
	return []string{"auto", "record", "alpaca", "dolly", "self-instruct", "gsm8k", "chat", "sharegpt", "mt-bench"}
}

var builtin = map[string]func(map[string]any, *ReadOptions) ([]Record, error){
	"record":        mapRecord,
	"alpaca":        mapAlpaca,
	"dolly":         mapDolly,
	"self-instruct": mapSelfInstruct,
	"gsm8k":         mapGSM8K,
	"chat":          mapChat,
	"sharegpt":      mapShareGPT,
	"mt-bench":      mapMTBench,
}

// LookupSchema returns a built-in schema by name ("auto" is resolved per
// file by DetectSchema and is not returned here).
func LookupSchema(name string) (Schema, error) {
	m, ok := builtin[name]
	if !ok {
		return Schema{}, fmt.Errorf("unknown schema %q (want one of %s, or a field=path mapping)", name, strings.Join(SchemaNames(), ", "))
	}
	return Schema{Name: name, m: m}, nil
}

var recordFields = []string{"id", "instruction", "input", "output", "category", "messages", "meta", "provenance"}

// DetectSchema picks a built-in schema from the keys of a row.
func DetectSchema(row map[string]any) (Schema, error) {
	has := func(k string) bool { _, ok := row[k]; return ok }
	own := has("id")
	for k := range row {
		if !slices.Contains(recordFields, k) {
			own = false
			break
		}
	}
	name := ""
	switch {
	case own:
		name = "record"
	case has("messages"):
		name = "chat"
	case has("conversations"):
		name = "sharegpt"
	case has("instruction") && has("instances"):
		name = "self-instruct"
	case has("turns"):
		name = "mt-bench"
	case has("question") && has("answer"):
		name = "gsm8k"
	case has("instruction") && (has("context") || has("response")):
		name = "dolly"
	case has("instruction") && has("output"):
		name = "alpaca"
	default:
		keys := make([]string, 0, len(row))
		for k := range row {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return Schema{}, fmt.Errorf("cannot detect the schema from the fields [%s]; name one or give a field=path mapping", strings.Join(keys, ", "))
	}
	return LookupSchema(name)
}

// CustomSchema builds a schema from "field=path" pairs. Fields are id,
// instruction, input (or context), output (or response), category, messages
// (a list of {role, content}) and meta.KEY; paths are MapPath paths into the
// row. Every mapped path must exist in every row. Top-level source fields
// that no path starts with are kept in Meta.
func CustomSchema(pairs []string) (Schema, error) {
	type pair struct{ field, path string }
	var ps []pair
	used := map[string]bool{}
	for _, p := range pairs {
		f, path, ok := strings.Cut(p, "=")
		f, path = strings.TrimSpace(f), strings.TrimSpace(path)
		if !ok || f == "" || path == "" {
			return Schema{}, fmt.Errorf("mapping %q: want field=path", p)
		}
		switch f {
		case "context":
			f = "input"
		case "response":
			f = "output"
		}
		if !slices.Contains([]string{"id", "instruction", "input", "output", "category", "messages"}, f) && !strings.HasPrefix(f, "meta.") {
			return Schema{}, fmt.Errorf("mapping %q: unknown field %q (want id, instruction, input, output, category, messages or meta.KEY)", p, f)
		}
		ps = append(ps, pair{f, path})
		top, _, _ := strings.Cut(strings.ReplaceAll(path, "[", "."), ".")
		used[top] = true
	}
	if len(ps) == 0 {
		return Schema{}, errors.New("empty mapping")
	}
	m := func(row map[string]any, _ *ReadOptions) ([]Record, error) {
		var r Record
		for _, p := range ps {
			v, err := MapPath(row, p.path)
			if err != nil || v == nil {
				return nil, &FieldError{Field: p.path, Problem: "missing"}
			}
			switch {
			case p.field == "messages":
				msgs, err := messagesOf(v, "role", "content", nil)
				if err != nil {
					return nil, &FieldError{Field: p.path, Problem: err.Error()}
				}
				r.Messages = msgs
			case strings.HasPrefix(p.field, "meta."):
				if r.Meta == nil {
					r.Meta = map[string]any{}
				}
				r.Meta[strings.TrimPrefix(p.field, "meta.")] = v
			default:
				setField(&r, p.field, stringOf(v))
			}
		}
		for k, v := range row {
			if !used[k] {
				if r.Meta == nil {
					r.Meta = map[string]any{}
				}
				r.Meta[k] = v
			}
		}
		if r.ID == "" {
			r.ID = ContentID(r)
		}
		return []Record{r}, nil
	}
	return Schema{Name: "custom", m: m}, nil
}

func setField(r *Record, f, v string) {
	switch f {
	case "id":
		r.ID = v
	case "instruction":
		r.Instruction = v
	case "input":
		r.Input = v
	case "output":
		r.Output = v
	case "category":
		r.Category = v
	}
}

// str returns row[k] as text; present is false when k is absent or null.
func str(row map[string]any, k string) (s string, present bool) {
	v, ok := row[k]
	if !ok || v == nil {
		return "", false
	}
	return stringOf(v), true
}

func required(row map[string]any, k string) (string, error) {
	s, ok := str(row, k)
	if !ok {
		return "", &FieldError{Field: k, Problem: "missing"}
	}
	return s, nil
}

// rest copies the fields of row not in used into a Meta map (nil if none).
func rest(row map[string]any, used ...string) map[string]any {
	var m map[string]any
	for k, v := range row {
		if slices.Contains(used, k) {
			continue
		}
		if m == nil {
			m = map[string]any{}
		}
		m[k] = v
	}
	return m
}

func finish(r Record, row map[string]any, idKey string) Record {
	if s, ok := str(row, idKey); ok && s != "" {
		r.ID = s
	} else {
		r.ID = ContentID(r)
	}
	return r
}

func mapRecord(row map[string]any, _ *ReadOptions) ([]Record, error) {
	clean := make(map[string]any, len(row))
	for k, v := range row {
		if !slices.Contains(recordFields, k) || v == nil {
			continue
		}
		if s, ok := v.(string); ok {
			switch k {
			case "messages", "meta", "provenance":
				if strings.TrimSpace(s) == "" {
					continue
				}
				d := json.NewDecoder(strings.NewReader(s))
				d.UseNumber()
				var x any
				if err := d.Decode(&x); err != nil {
					return nil, &FieldError{Field: k, Problem: "not JSON: " + err.Error()}
				}
				v = x
			}
		}
		clean[k] = v
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("re-encode row: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var r Record
	if err := d.Decode(&r); err != nil {
		return nil, &FieldError{Field: "record", Problem: err.Error()}
	}
	if len(r.Meta) == 0 {
		r.Meta = nil
	}
	if len(r.Messages) == 0 {
		r.Messages = nil
	}
	if r.ID == "" {
		r.ID = ContentID(r)
	}
	return []Record{r}, nil
}

func mapAlpaca(row map[string]any, _ *ReadOptions) ([]Record, error) {
	var r Record
	var err error
	if r.Instruction, err = required(row, "instruction"); err != nil {
		return nil, err
	}
	if r.Output, err = required(row, "output"); err != nil {
		return nil, err
	}
	r.Input, _ = str(row, "input")
	r.Category, _ = str(row, "category")
	r.Meta = rest(row, "id", "instruction", "input", "output", "category")
	return []Record{finish(r, row, "id")}, nil
}

func mapDolly(row map[string]any, _ *ReadOptions) ([]Record, error) {
	var r Record
	var err error
	if r.Instruction, err = required(row, "instruction"); err != nil {
		return nil, err
	}
	if r.Output, err = required(row, "response"); err != nil {
		return nil, err
	}
	r.Input, _ = str(row, "context")
	r.Category, _ = str(row, "category")
	r.Meta = rest(row, "id", "instruction", "context", "response", "category")
	return []Record{finish(r, row, "id")}, nil
}

func mapSelfInstruct(row map[string]any, opt *ReadOptions) ([]Record, error) {
	inst, err := required(row, "instruction")
	if err != nil {
		return nil, err
	}
	list, ok := row["instances"].([]any)
	if !ok {
		if _, present := row["instances"]; !present {
			return nil, &FieldError{Field: "instances", Problem: "missing"}
		}
		return nil, &FieldError{Field: "instances", Problem: "not a list"}
	}
	if len(list) == 0 {
		return nil, &FieldError{Field: "instances", Problem: "empty list"}
	}
	if opt != nil && opt.FirstInstanceOnly {
		list = list[:1]
	}
	meta := rest(row, "id", "instruction", "instances")
	id, _ := str(row, "id")
	out := make([]Record, 0, len(list))
	for k, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			return nil, &FieldError{Field: fmt.Sprintf("instances.%d", k), Problem: "not an object"}
		}
		r := Record{Instruction: inst}
		r.Input, _ = str(obj, "input")
		r.Output, _ = str(obj, "output")
		r.Meta = clone(meta)
		if len(list) > 1 || k > 0 {
			if r.Meta == nil {
				r.Meta = map[string]any{}
			}
			r.Meta["instance"] = json.Number(fmt.Sprint(k))
		}
		switch {
		case id == "":
			r.ID = ContentID(r)
		case k == 0:
			r.ID = id
		default:
			r.ID = fmt.Sprintf("%s#%d", id, k)
		}
		out = append(out, r)
	}
	return out, nil
}

func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func mapGSM8K(row map[string]any, _ *ReadOptions) ([]Record, error) {
	var r Record
	var err error
	if r.Instruction, err = required(row, "question"); err != nil {
		return nil, err
	}
	if r.Output, err = required(row, "answer"); err != nil {
		return nil, err
	}
	r.Meta = rest(row, "id", "question", "answer")
	if i := strings.LastIndex(r.Output, "####"); i >= 0 {
		if r.Meta == nil {
			r.Meta = map[string]any{}
		}
		r.Meta["final_answer"] = strings.TrimSpace(r.Output[i+4:])
	}
	return []Record{finish(r, row, "id")}, nil
}

// messagesOf decodes a list of objects into messages, reading the role from
// roleKey and the content from contentKey, and renaming roles through
// roles when given.
func messagesOf(v any, roleKey, contentKey string, roles map[string]string) ([]Message, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	out := make([]Message, 0, len(list))
	for i, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		role, ok1 := str(obj, roleKey)
		content, ok2 := str(obj, contentKey)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("item %d lacks %q or %q", i, roleKey, contentKey)
		}
		if roles != nil {
			if r, ok := roles[strings.ToLower(role)]; ok {
				role = r
			}
		}
		out = append(out, Message{Role: role, Content: content})
	}
	return out, nil
}

// fromMessages sets Instruction to the first user turn and Output to the
// first assistant turn after it.
func fromMessages(r *Record) {
	for i, m := range r.Messages {
		if m.Role == "user" {
			r.Instruction = m.Content
			for _, a := range r.Messages[i+1:] {
				if a.Role == "assistant" {
					r.Output = a.Content
					break
				}
			}
			return
		}
	}
}

func mapChat(row map[string]any, _ *ReadOptions) ([]Record, error) {
	v, ok := row["messages"]
	if !ok || v == nil {
		return nil, &FieldError{Field: "messages", Problem: "missing"}
	}
	msgs, err := messagesOf(v, "role", "content", nil)
	if err != nil {
		return nil, &FieldError{Field: "messages", Problem: err.Error()}
	}
	r := Record{Messages: msgs}
	fromMessages(&r)
	r.Category, _ = str(row, "category")
	r.Meta = rest(row, "id", "messages", "category")
	return []Record{finish(r, row, "id")}, nil
}

var shareGPTRoles = map[string]string{
	"human": "user", "user": "user",
	"gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant", "bard": "assistant", "bing": "assistant",
	"system": "system",
}

func mapShareGPT(row map[string]any, _ *ReadOptions) ([]Record, error) {
	v, ok := row["conversations"]
	if !ok || v == nil {
		return nil, &FieldError{Field: "conversations", Problem: "missing"}
	}
	msgs, err := messagesOf(v, "from", "value", shareGPTRoles)
	if err != nil {
		return nil, &FieldError{Field: "conversations", Problem: err.Error()}
	}
	r := Record{Messages: msgs}
	fromMessages(&r)
	r.Meta = rest(row, "id", "conversations")
	return []Record{finish(r, row, "id")}, nil
}

func mapMTBench(row map[string]any, _ *ReadOptions) ([]Record, error) {
	list, ok := row["turns"].([]any)
	if !ok || len(list) == 0 {
		return nil, &FieldError{Field: "turns", Problem: "missing"}
	}
	r := Record{}
	for _, t := range list {
		s, ok := t.(string)
		if !ok {
			return nil, &FieldError{Field: "turns", Problem: "not a list of strings"}
		}
		r.Messages = append(r.Messages, Message{Role: "user", Content: s})
	}
	r.Instruction = r.Messages[0].Content
	r.Category, _ = str(row, "category")
	r.Meta = rest(row, "question_id", "turns", "category")
	return []Record{finish(r, row, "question_id")}, nil
}
