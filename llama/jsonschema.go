package llama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Limits of the JSON-schema subset understood by CompileJSONSchema.
const (
	// MaxSchemaProperties is the largest number of properties of one
	// object schema.
	MaxSchemaProperties = 64
	// MaxSchemaEnum is the largest number of values of one enum.
	MaxSchemaEnum = 64
	// MaxNumberDigits is the largest number of significant digits of a
	// generated number (integer and fraction digits together), so that
	// every generated number is exact in float64 and compares exactly
	// with the schema's bounds.
	MaxNumberDigits = 15
	// MaxFractionDigits is the largest number of fraction digits of a
	// generated number.
	MaxFractionDigits = 6
	// MaxWhitespace is the largest number of consecutive whitespace bytes
	// (space, tab or newline) the constraint lets the model write wherever
	// JSON allows whitespace.
	MaxWhitespace = 2
	// maxDepth bounds the nesting of generated values.
	maxDepth = 32
)

type jsKind uint8

const (
	kindAny jsKind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindInteger
	kindBool
	kindNull
	kindEnum // literal alternatives (enum, booleans, null)
)

// schemaNode is one compiled (sub)schema.
type schemaNode struct {
	kind jsKind
	// object
	props    []schemaProp
	required uint64
	extra    *schemaNode // schema of additional properties; nil forbids them
	// array
	items              *schemaNode
	minItems, maxItems int // maxItems < 0: unbounded
	// string
	maxLength int // < 0: unbounded
	// number
	lo, hi float64 // inclusive bounds (±Inf when absent)
	// enum: the JSON encodings of the alternatives
	lits [][]byte

	minLen int // length of the shortest document of this schema
}

type schemaProp struct {
	name   string
	key    []byte // the JSON encoding of the name without the quotes
	schema *schemaNode
}

// JSONSchema is a compiled JSON schema from the subset supported by the
// constrained decoder. It is immutable and may be shared.
//
// Supported: "type" object (with "properties", "required",
// "additionalProperties" false, true or a schema), array ("items",
// "minItems", "maxItems"), string ("enum", "maxLength"), number and
// integer ("minimum", "maximum"), boolean and null; "enum" on any type;
// the empty schema (and true) for any JSON value. Annotations ("title",
// "description", "$schema", "$id", "$comment", "default", "examples") are
// ignored. Any other keyword is an error naming it and its location.
//
// The generated documents are a subset of the valid ones (conservative
// choices): object keys are written without escapes other than those of
// the declared names, additional property names use only ASCII letters,
// digits and '_', no property is repeated; numbers have no exponent, at
// most MaxNumberDigits significant digits and MaxFractionDigits fraction
// digits, integers no fraction; whitespace runs are at most MaxWhitespace
// bytes; values nest at most 32 deep; enum values are written in their
// compact canonical encoding. A number prefix is allowed while some
// completion of it (within the digit limits) lies in [minimum, maximum];
// bounds are compared in float64 with a relative tolerance of 1e-9 when
// scaled to the number's last digit, so bounds with more than about nine
// significant digits may be off at their last digit.
type JSONSchema struct {
	root *schemaNode
	src  string
}

// String returns the schema text it was compiled from.
func (s *JSONSchema) String() string { return s.src }

// AnyJSONObject returns the schema of any JSON object (OpenAI's
// {"type": "json_object"} response format).
func AnyJSONObject() *JSONSchema {
	n := &schemaNode{kind: kindObject, extra: anyNode, maxItems: -1, maxLength: -1, lo: math.Inf(-1), hi: math.Inf(1)}
	n.minLen = 2
	return &JSONSchema{root: n, src: `{"type":"object"}`}
}

// anyNode is the schema of any JSON value.
var anyNode = &schemaNode{kind: kindAny, maxItems: -1, maxLength: -1, lo: math.Inf(-1), hi: math.Inf(1), minLen: 1}

var annotations = map[string]bool{"title": true, "description": true, "$schema": true, "$id": true,
	"$comment": true, "default": true, "examples": true}

// CompileJSONSchema compiles a JSON schema (see JSONSchema for the
// subset). Unsupported keywords, malformed values and unsatisfiable
// schemas yield an error naming the JSON pointer of the offending part.
func CompileJSONSchema(schema []byte) (*JSONSchema, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("json schema: unexpected data after the schema")
	}
	n, err := compileNode(v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return &JSONSchema{root: n, src: string(schema)}, nil
}

func ptrOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func compileNode(v any, at string, depth int) (*schemaNode, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nested deeper than %d levels at %s", maxDepth, ptrOr(at))
	}
	if b, ok := v.(bool); ok {
		if !b {
			return nil, fmt.Errorf("schema false at %s admits no value", ptrOr(at))
		}
		return anyNode, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema at %s must be an object or a boolean", ptrOr(at))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	typ := ""
	if t, ok := m["type"]; ok {
		s, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("\"type\" at %s must be a single string (type lists are not supported)", ptrOr(at))
		}
		typ = s
	}
	allowed := map[string]bool{"type": true, "enum": true}
	switch typ {
	case "object":
		allowed["properties"], allowed["required"], allowed["additionalProperties"] = true, true, true
	case "array":
		allowed["items"], allowed["minItems"], allowed["maxItems"] = true, true, true
	case "string":
		allowed["maxLength"] = true
	case "number", "integer":
		allowed["minimum"], allowed["maximum"] = true, true
	case "boolean", "null", "":
	default:
		return nil, fmt.Errorf("unsupported type %q at %s", typ, ptrOr(at))
	}
	for _, k := range keys {
		if !allowed[k] && !annotations[k] {
			return nil, fmt.Errorf("unsupported schema keyword %q at %s", k, ptrOr(at))
		}
	}
	n := &schemaNode{maxItems: -1, maxLength: -1, lo: math.Inf(-1), hi: math.Inf(1)}
	if e, ok := m["enum"]; ok {
		return compileEnum(e, typ, at)
	}
	switch typ {
	case "":
		return anyNode, nil
	case "object":
		n.kind = kindObject
		n.extra = anyNode
		if ap, ok := m["additionalProperties"]; ok {
			if b, ok := ap.(bool); ok && !b {
				n.extra = nil
			} else {
				x, err := compileNode(ap, at+"/additionalProperties", depth+1)
				if err != nil {
					return nil, err
				}
				n.extra = x
			}
		}
		if p, ok := m["properties"]; ok {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("\"properties\" at %s must be an object", ptrOr(at))
			}
			if len(pm) > MaxSchemaProperties {
				return nil, fmt.Errorf("%d properties at %s exceed the limit of %d", len(pm), ptrOr(at), MaxSchemaProperties)
			}
			names := make([]string, 0, len(pm))
			for k := range pm {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, name := range names {
				sub, err := compileNode(pm[name], at+"/properties/"+escapePointer(name), depth+1)
				if err != nil {
					return nil, err
				}
				n.props = append(n.props, schemaProp{name: name, key: encodeKey(name), schema: sub})
			}
		}
		if r, ok := m["required"]; ok {
			list, ok := r.([]any)
			if !ok {
				return nil, fmt.Errorf("\"required\" at %s must be an array of strings", ptrOr(at))
			}
			for _, x := range list {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("\"required\" at %s must be an array of strings", ptrOr(at))
				}
				i := slices.IndexFunc(n.props, func(p schemaProp) bool { return p.name == s })
				if i < 0 {
					// A required property without a declared schema
					// takes the additionalProperties schema.
					if n.extra == nil {
						return nil, fmt.Errorf("required property %q at %s is not declared and additionalProperties is false", s, ptrOr(at))
					}
					if len(n.props) == MaxSchemaProperties {
						return nil, fmt.Errorf("too many properties at %s (limit %d)", ptrOr(at), MaxSchemaProperties)
					}
					n.props = append(n.props, schemaProp{name: s, key: encodeKey(s), schema: n.extra})
					i = len(n.props) - 1
				}
				n.required |= 1 << uint(i)
			}
		}
	case "array":
		n.kind = kindArray
		n.items = anyNode
		if it, ok := m["items"]; ok {
			x, err := compileNode(it, at+"/items", depth+1)
			if err != nil {
				return nil, err
			}
			n.items = x
		}
		var err error
		if n.minItems, err = intKeyword(m, "minItems", 0, at); err != nil {
			return nil, err
		}
		if n.maxItems, err = intKeyword(m, "maxItems", -1, at); err != nil {
			return nil, err
		}
		if n.maxItems >= 0 && n.minItems > n.maxItems {
			return nil, fmt.Errorf("minItems %d exceeds maxItems %d at %s", n.minItems, n.maxItems, ptrOr(at))
		}
	case "string":
		n.kind = kindString
		var err error
		if n.maxLength, err = intKeyword(m, "maxLength", -1, at); err != nil {
			return nil, err
		}
	case "number", "integer":
		n.kind = kindNumber
		if typ == "integer" {
			n.kind = kindInteger
		}
		for _, k := range []string{"minimum", "maximum"} {
			x, ok := m[k]
			if !ok {
				continue
			}
			num, ok := x.(json.Number)
			if !ok {
				return nil, fmt.Errorf("%q at %s must be a number", k, ptrOr(at))
			}
			f, err := num.Float64()
			if err != nil || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%q at %s: %v is out of range", k, ptrOr(at), num)
			}
			if k == "minimum" {
				n.lo = f
			} else {
				n.hi = f
			}
		}
		if n.lo > n.hi {
			return nil, fmt.Errorf("minimum %g exceeds maximum %g at %s", n.lo, n.hi, ptrOr(at))
		}
	case "boolean":
		n.kind = kindEnum
		n.lits = [][]byte{[]byte("true"), []byte("false")}
	case "null":
		n.kind = kindEnum
		n.lits = [][]byte{[]byte("null")}
	}
	ml, ok := minLength(n)
	if !ok {
		return nil, fmt.Errorf("no number this decoder can write satisfies the schema at %s (at most %d significant and %d fraction digits)", ptrOr(at), MaxNumberDigits, MaxFractionDigits)
	}
	n.minLen = ml
	return n, nil
}

// escapePointer escapes a property name for a JSON pointer.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func intKeyword(m map[string]any, k string, def int, at string) (int, error) {
	x, ok := m[k]
	if !ok {
		return def, nil
	}
	num, ok := x.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%q at %s must be a non-negative integer", k, ptrOr(at))
	}
	i, err := num.Int64()
	if err != nil || i < 0 || i > 1<<20 {
		return 0, fmt.Errorf("%q at %s must be a non-negative integer below 2^20 (got %v)", k, ptrOr(at), num)
	}
	return int(i), nil
}

// encodeKey returns the JSON encoding of s without the surrounding quotes.
func encodeKey(s string) []byte {
	b := encodeJSON(s)
	return b[1 : len(b)-1]
}

// encodeJSON encodes v compactly without HTML escaping.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func compileEnum(e any, typ, at string) (*schemaNode, error) {
	list, ok := e.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("\"enum\" at %s must be a non-empty array", ptrOr(at))
	}
	if len(list) > MaxSchemaEnum {
		return nil, fmt.Errorf("enum at %s has %d values (limit %d)", ptrOr(at), len(list), MaxSchemaEnum)
	}
	n := &schemaNode{kind: kindEnum, maxItems: -1, maxLength: -1, lo: math.Inf(-1), hi: math.Inf(1)}
	for i, x := range list {
		if typ != "" && !hasType(x, typ) {
			return nil, fmt.Errorf("enum value %d at %s is not of type %q", i, ptrOr(at), typ)
		}
		lit := encodeJSON(x)
		if !slices.ContainsFunc(n.lits, func(l []byte) bool { return bytes.Equal(l, lit) }) {
			n.lits = append(n.lits, lit)
		}
	}
	n.minLen = len(n.lits[0])
	for _, l := range n.lits {
		n.minLen = min(n.minLen, len(l))
	}
	return n, nil
}

func hasType(x any, typ string) bool {
	switch v := x.(type) {
	case string:
		return typ == "string"
	case json.Number:
		if typ == "number" {
			return true
		}
		_, err := v.Int64()
		return typ == "integer" && err == nil
	case bool:
		return typ == "boolean"
	case nil:
		return typ == "null"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	}
	return false
}

// minLength returns the length of the shortest document of n and whether
// there is one.
func minLength(n *schemaNode) (int, bool) {
	switch n.kind {
	case kindAny:
		return 1, true
	case kindObject:
		l := 2
		k := 0
		for i, p := range n.props {
			if n.required&(1<<uint(i)) != 0 {
				l += len(p.key) + 3 + p.schema.minLen
				k++
			}
		}
		if k > 1 {
			l += k - 1
		}
		return l, true
	case kindArray:
		if n.minItems == 0 {
			return 2, true
		}
		return 2 + n.minItems*n.items.minLen + n.minItems - 1, true
	case kindString:
		return 2, true
	case kindNumber, kindInteger:
		c := numCost(numState{}, n)
		return c, c >= 0
	case kindEnum:
		l := len(n.lits[0])
		for _, x := range n.lits {
			l = min(l, len(x))
		}
		return l, true
	}
	return 1, true
}
