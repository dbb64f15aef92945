package jsonx

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestEnd(t *testing.T) {
	cases := []struct {
		name  string
		s     string
		start int
		want  string // the span; "" unless status is Closed
		st    Status
	}{
		{"object", `{"a": 1} tail`, 0, `{"a": 1}`, Closed},
		{"list", `x [1, [2], {"b": 3}] y`, 2, `[1, [2], {"b": 3}]`, Closed},
		{"brackets in a string", `{"instruction": "{[}]", "response": "\"}"} z`, 0, `{"instruction": "{[}]", "response": "\"}"}`, Closed},
		{"smart-quoted string", "{\u201ca\u201d: \u201cb}\u201d} z", 0, "{\u201ca\u201d: \u201cb}\u201d}", Closed},
		{"smart quote inside ASCII string", "{\"a\": \"\u201c}\"} z", 0, "{\"a\": \"\u201c}\"}", Closed},
		{"inner start", `{"a": {"b": 1}}`, 6, `{"b": 1}`, Closed},
		{"truncated", `{"tasks": [{"question": "q"`, 0, "", Open},
		{"only depth counts", `{"a": [1}`, 0, "", Open},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			budget := math.MaxInt
			end, st := End(c.s, c.start, &budget)
			if st != c.st {
				t.Fatalf("status %d, want %d", st, c.st)
			}
			if st == Closed && c.s[c.start:end] != c.want {
				t.Errorf("span %q, want %q", c.s[c.start:end], c.want)
			}
		})
	}
}

func TestEndBudget(t *testing.T) {
	s := `{"a": [1, 2, 3]}` // 16 bytes
	for _, c := range []struct {
		budget int
		st     Status
	}{{16, Closed}, {15, OutOfBudget}, {1, OutOfBudget}} {
		b := c.budget
		_, st := End(s, 0, &b)
		if st != c.st {
			t.Errorf("budget %d: status %d, want %d", c.budget, st, c.st)
		}
	}
	b := 100
	End(s, 0, &b)
	if b != 100-16 {
		t.Errorf("budget left %d, want %d (one unit a byte)", b, 100-16)
	}
}

func TestRepair(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"valid JSON untouched", `{"a": "x, }", "b": [1, 2], "c": "“q”"}`, `{"a": "x, }", "b": [1, 2], "c": "“q”"}`},
		{"trailing commas", "{\"a\":[1,2,],\n}", "{\"a\":[1,2]\n}"},
		{"trailing comma before white space", "[{\"a\": 1} ,\n\t]", "[{\"a\": 1} \n\t]"},
		{"smart quotes", "{\u201cinstruction\u201d: \u201ca\u201d}", `{"instruction": "a"}`},
		{"ASCII quote inside a smart string", "{\u201ca\u201d: \u201che said \"hi\"\u201d}", `{"a": "he said \"hi\""}`},
		{"smart quote that does not close", "{\u201ca\u201d: \u201cthe \u201cbest\u201d one\u201d}", "{\"a\": \"the \u201cbest\u201d one\"}"},
		{"raw control characters", "{\"a\": \"x\ny\tz\rw\x01\"}", `{"a": "x\ny\tz\rw\u0001"}`},
		{"escapes kept", `{"a": "q\"}", "b": "\\"}`, `{"a": "q\"}", "b": "\\"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Repair(c.in); got != c.want {
				t.Errorf("Repair(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name     string
		seg      string
		want     any
		repaired bool
		err      string // substring; "" for success
	}{
		{"strict", `{"a": 1.5}`, map[string]any{"a": json.Number("1.5")}, false, ""},
		{"list", `[1, "x"]`, []any{json.Number("1"), "x"}, false, ""},
		{"repaired", `[{"a": "b",},]`, []any{map[string]any{"a": "b"}}, true, ""},
		{"smart quotes repaired", "{\u201ca\u201d: \u201cb\u201d}", map[string]any{"a": "b"}, true, ""},
		{"text after the value", `{"a": 1} {"b": 2}`, nil, false, "text after the JSON value"},
		{"beyond repair, strict error kept", `{"a": }`, nil, false, "invalid character '}'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, repaired, err := Decode(c.seg)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if repaired != c.repaired {
				t.Errorf("repaired %v, want %v", repaired, c.repaired)
			}
			if !reflect.DeepEqual(v, c.want) {
				t.Errorf("value %#v, want %#v", v, c.want)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want []string
	}{
		{"plain", ` {"a":1} `, []string{`{"a":1}`, `{"a":1}`}},
		{"fence with language tag", "Here:\n```json\n{\"a\": [1]}\n```\nDone.",
			[]string{"Here:\n```json\n{\"a\": [1]}\n```\nDone.", `{"a": [1]}`, `{"a": [1]}`, `[1]`}},
		{"fence without tag", "```\n[1]\n```", []string{"```\n[1]\n```", "[1]", "[1]"}},
		{"fence starting with JSON on the first line", "```{\"a\":1}\n```", []string{"```{\"a\":1}\n```", `{"a":1}`, `{"a":1}`}},
		{"unclosed fence", "```json\n{\"a\":1}", []string{"```json\n{\"a\":1}", `{"a":1}`}},
		{"prose around spans, outermost first", `The answer is {"label":{"x":[2]}} because.`,
			[]string{`The answer is {"label":{"x":[2]}} because.`, `{"label":{"x":[2]}}`, `{"x":[2]}`, `[2]`}},
		{"unclosed span skipped", `{"a": [1, 2`, []string{`{"a": [1, 2`}},
		{"no JSON", "no idea", []string{"no idea"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Candidates(c.s); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Candidates(%q)\n got %q\nwant %q", c.s, got, c.want)
			}
		})
	}
	if n := len(Candidates(strings.Repeat("[]", 100))); n != 32 {
		t.Errorf("%d candidates of 100 spans, want at most 32", n)
	}
}

type label struct {
	Label string `json:"label"`
}

func TestDecodeFirst(t *testing.T) {
	errEmpty := errors.New("no label")
	nonEmpty := func(v *label) error {
		if v.Label == "" {
			return errEmpty
		}
		return nil
	}
	cases := []struct {
		name string
		s    string
		want string
		err  string
	}{
		{"whole text", `{"label":"entailment"}`, "entailment", ""},
		{"fenced", "```json\n{\"label\": \"Entailment\"}\n```", "Entailment", ""},
		{"in prose", `The answer is {"label":"contradiction"} because of the dates.`, "contradiction", ""},
		{"trailing commas", `{"label":"neutral",}`, "neutral", ""},
		{"smart quotes", "{\u201clabel\u201d: \u201cneutral\u201d}", "neutral", ""},
		{"first that passes ok", `{"x":1} then {"label":"b"}`, "b", ""},
		{"ok's error when nothing passes", `{"x":1}`, "", "no label"},
		{"no JSON", "no idea", "", "no JSON found"},
		{"empty", "", "", "no JSON found"},
		{"truncated", `{"label":"entail`, "", "no JSON found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := DecodeFirst(c.s, nonEmpty)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Label != c.want {
				t.Errorf("label %q, want %q", v.Label, c.want)
			}
		})
	}
}

// FuzzDecode checks that Decode and End do not panic, that a value Decode
// accepts without repair is valid JSON, and that Repair leaves valid JSON
// alone.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"instruction": "a", "response": "b"}`,
		`[{"a": 1},]`,
		"{\u201ca\u201d: \u201cb\u201d}",
		`{"a": "{[}]", "b": "\"}"}`,
		"{\"a\": \"x\ny\"}",
		`{"a": [1, 2`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, repaired, err := Decode(s)
		if err == nil && !repaired && !json.Valid([]byte(s)) {
			t.Errorf("Decode accepted invalid JSON %q without repair", s)
		}
		if json.Valid([]byte(s)) && Repair(s) != s {
			t.Errorf("Repair changed valid JSON %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '{' || s[i] == '[' {
				b := 4 * len(s)
				if end, st := End(s, i, &b); st == Closed && (end <= i || end > len(s)) {
					t.Errorf("End(%q, %d) = %d", s, i, end)
				}
			}
		}
	})
}
