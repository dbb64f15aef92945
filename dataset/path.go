package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoPath is returned (wrapped) by MapPath when the path names nothing.
var ErrNoPath = errors.New("no such path")

// MapPath follows a dotted path into a decoded JSON value: each segment is
// an object key, or an index when the value is a list ("answers.0.text");
// "answers[0].text" is accepted too. An object key that contains dots is
// matched whole before the path is split. A string met before the end of the
// path is decoded as JSON when it holds an object or array (CSV cells and
// Parquet columns often do). The empty path returns v itself.
func MapPath(v any, path string) (any, error) {
	path = strings.ReplaceAll(strings.ReplaceAll(path, "[", "."), "]", "")
	if path == "" {
		return v, nil
	}
	cur := v
	rest := path
	for rest != "" {
		if s, ok := cur.(string); ok {
			t := strings.TrimSpace(s)
			if t == "" || (t[0] != '{' && t[0] != '[') {
				return nil, fmt.Errorf("path %q: %w (a string has no field %q)", path, ErrNoPath, rest)
			}
			d := json.NewDecoder(strings.NewReader(t))
			d.UseNumber()
			var x any
			if err := d.Decode(&x); err != nil {
				return nil, fmt.Errorf("path %q: %w (string is not JSON: %v)", path, ErrNoPath, err)
			}
			cur = x
		}
		switch x := cur.(type) {
		case map[string]any:
			if val, ok := x[rest]; ok {
				return val, nil
			}
			seg, tail, _ := strings.Cut(rest, ".")
			val, ok := x[seg]
			if !ok {
				return nil, fmt.Errorf("path %q: %w (no key %q)", path, ErrNoPath, seg)
			}
			cur, rest = val, tail
		case []any:
			seg, tail, _ := strings.Cut(rest, ".")
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("path %q: %w (index %q of a list of %d)", path, ErrNoPath, seg, len(x))
			}
			cur, rest = x[i], tail
		default:
			return nil, fmt.Errorf("path %q: %w (%q inside a %T)", path, ErrNoPath, rest, cur)
		}
	}
	return cur, nil
}
