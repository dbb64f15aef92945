package synth

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// want is one expected record: instruction, context, response.
type want struct{ I, C, R string }

func recs(res Result) []want {
	out := make([]want, len(res.Records))
	for i, r := range res.Records {
		out[i] = want{r.Instruction, r.Input, r.Output}
	}
	return out
}

func TestParseShapes(t *testing.T) {
	a := want{"Name a fruit.", "", "Apple."}
	b := want{"Summarise the text.", "The cat sat on the mat.", "A cat sat."}
	c := want{"Translate to French.", "good morning", "bonjour"}
	objA := `{"instruction": "Name a fruit.", "context": "", "response": "Apple."}`
	objB := `{"instruction": "Summarise the text.", "context": "The cat sat on the mat.", "response": "A cat sat."}`
	objC := `{"instruction": "Translate to French.", "input": "good morning", "output": "bonjour"}`
	cases := []struct {
		name    string
		text    string
		want    []want
		reasons map[string]int
	}{
		{"single object", objA, []want{a}, nil},
		{"array", "[" + objA + "," + objB + "]", []want{a, b}, nil},
		{"array pretty", "[\n  " + objA + ",\n  " + objB + "\n]\n", []want{a, b}, nil},
		{"json lines", objA + "\n" + objB + "\n" + objC + "\n", []want{a, b, c}, nil},
		{"fenced json", "Here you go:\n```json\n[" + objA + "]\n```\nEnjoy!", []want{a}, nil},
		{"fenced no language", "```\n" + objB + "\n```", []want{b}, nil},
		{"multiple fenced blocks", "First:\n```json\n" + objA + "\n```\nSecond:\n```json\n[" + objB + ", " + objC + "]\n```\n", []want{a, b, c}, nil},
		{"text before and after", "Sure! Below are the tasks you asked for.\n" + "[" + objA + "]" + "\nLet me know if you need more.", []want{a}, nil},
		{"numbered list", "1. " + objA + "\n2. " + objB + "\n3. " + objC, []want{a, b, c}, nil},
		{"numbered list with parens", "1) " + objA + "\n2) " + objB, []want{a, b}, nil},
		{"trailing comma in object", `{"instruction": "Name a fruit.", "context": "", "response": "Apple.",}`, []want{a}, nil},
		{"trailing comma in array", "[" + objA + ",\n" + objB + ",\n]", []want{a, b}, nil},
		{"smart quotes", "{\u201cinstruction\u201d: \u201cName a fruit.\u201d, \u201ccontext\u201d: \u201c\u201d, \u201cresponse\u201d: \u201cApple.\u201d}", []want{a}, nil},
		{"smart quotes inside ascii strings kept", `{"instruction": "Explain the word “cat”.", "response": "A “cat” is an animal."}`, []want{{"Explain the word “cat”.", "", "A “cat” is an animal."}}, nil},
		{"smart-quoted string holding ascii quotes", "{\u201cinstruction\u201d: \u201cSay \"hi\".\u201d, \u201cresponse\u201d: \u201chi\u201d}", []want{{`Say "hi".`, "", "hi"}}, nil},
		{"nested braces in strings", `{"instruction": "Fix the code: func f() { return }", "context": "if x { y() }", "response": "Use {} and [] carefully: {\"a\": 1}"}`, []want{{"Fix the code: func f() { return }", "if x { y() }", `Use {} and [] carefully: {"a": 1}`}}, nil},
		{"prose with braces", "The set {1, 2, 3} has {three} elements; f(x) = {x | x > 0}.\n" + objA, []want{a}, nil},
		{"prose with brackets", "See [1] and [2, 3] and [the appendix].\n" + objB, []want{b}, nil},
		{"unicode", `{"instruction": "Übersetze ins Japanische: «Guten Morgen» 🌅", "context": "", "response": "おはようございます"}`, []want{{"Übersetze ins Japanische: «Guten Morgen» 🌅", "", "おはようございます"}}, nil},
		{"escaped unicode", `{"instruction": "caf\u00e9?", "response": "\ud83d\ude00"}`, []want{{"café?", "", "😀"}}, nil},
		{"variants task/input/answer", `{"task": "Add 2 and 3.", "input": "", "answer": "5"}`, []want{{"Add 2 and 3.", "", "5"}}, nil},
		{"variants question/output", `{"Question": "Capital of France?", "Output": "Paris"}`, []want{{"Capital of France?", "", "Paris"}}, nil},
		{"variant reference response", `{"instruction": "Name a fruit.", "context": "", "reference response": "Apple."}`, []want{a}, nil},
		{"variant reference_response", `{"instruction": "Name a fruit.", "context": "", "reference_response": "Apple."}`, []want{a}, nil},
		{"wrapper object", `{"tasks": [` + objA + `, ` + objB + `]}`, []want{a, b}, nil},
		{"noinput context", `{"instruction": "Name a fruit.", "context": "<noinput>", "response": "Apple."}`, []want{a}, nil},
		{"raw newline in string", "{\"instruction\": \"Name a fruit.\", \"response\": \"Apple.\nOr a pear.\"}", []want{{"Name a fruit.", "", "Apple.\nOr a pear."}}, nil},
		{"numbers as values", `{"instruction": "What is 6*7?", "response": 42}`, []want{{"What is 6*7?", "", "42"}}, nil},
		{"list response", `{"instruction": "List two colours.", "response": ["red", "blue"]}`, []want{{"List two colours.", "", "red\nblue"}}, nil},
		{"self-instruct instances", `{"instruction": "Translate to French.", "instances": [{"input": "good morning", "output": "bonjour"}]}`, []want{c}, nil},
		{"template braces around object", "{{" + objA + "}}", []want{a}, nil},
		{"missing instruction", `{"context": "x", "response": "y"}` + "\n" + objA, []want{a}, map[string]int{ReasonMissingInstruction: 1}},
		{"empty instruction", `{"instruction": "  ", "response": "y"}`, nil, map[string]int{ReasonMissingInstruction: 1}},
		{"empty response", `{"instruction": "Do it.", "response": ""}` + "\n" + objB, []want{b}, map[string]int{ReasonEmptyResponse: 1}},
		{"missing response", `{"instruction": "Do it."}`, nil, map[string]int{ReasonMissingResponse: 1}},
		{"invalid JSON then valid", `{"instruction": "He said "hi" to me", "response": "x"}` + "\n" + objC, []want{c}, map[string]int{ReasonInvalidJSON: 1}},
		{"truncated array", "[" + objA + ",\n" + `{"instruction": "Write a poem", "context": "", "resp`, []want{a}, map[string]int{ReasonTruncated: 1}},
		{"truncated wrapper", `{"tasks": [` + objA + `, {"instruction": "Write`, []want{a}, map[string]int{ReasonTruncated: 1}},
		{"unclosed object in the middle", `{"instruction": "Broken", "response": "no end"` + "\n" + objB, []want{b}, map[string]int{ReasonInvalidJSON: 1}},
		{"array with a non-object", `[` + objA + `, "just a string"]`, []want{a}, map[string]int{ReasonNotObject: 1}},
		{"bad element rescued", `[` + objA + `, {"instruction": oops}, ` + objB + `]`, []want{a, b}, map[string]int{ReasonInvalidJSON: 1}},
		{"no JSON", "Once upon a time there was a cat. The end.", nil, map[string]int{ReasonNoJSON: 1}},
		{"prose braces only", "A {set} and a [list].", nil, map[string]int{ReasonNoJSON: 1}},
		{"empty", " \n\t", nil, map[string]int{ReasonEmptyOutput: 1}},
		{"array of numbers ignored", "[1, 2, 3]", nil, map[string]int{ReasonNoJSON: 1}},
		{"extra fields to meta", `{"instruction": "Name a fruit.", "response": "Apple.", "category": "open_qa", "difficulty": 2}`, []want{a}, nil},
		{"windows newlines", "[\r\n" + objA + ",\r\n" + objB + "\r\n]\r\n", []want{a, b}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Parse(tc.text, nil)
			got := recs(res)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("records:\n got %q\nwant %q\nrejects %+v", got, tc.want, res.Rejects)
			}
			reasons := res.Reasons
			if len(reasons) == 0 {
				reasons = nil
			}
			if !reflect.DeepEqual(reasons, tc.reasons) {
				t.Errorf("reasons: got %v, want %v (rejects %+v)", res.Reasons, tc.reasons, res.Rejects)
			}
			for _, r := range res.Records {
				if r.ID != dataset.ContentID(r) {
					t.Errorf("record ID %q is not its content ID", r.ID)
				}
			}
			for _, rj := range res.Rejects {
				if rj.Text == "" && rj.Reason != ReasonEmptyOutput {
					t.Errorf("reject %+v keeps no text", rj)
				}
			}
			if res.Raw != tc.text {
				t.Errorf("raw text not kept")
			}
		})
	}
}

func TestParseMetaAndCategory(t *testing.T) {
	res := Parse(`{"instruction": "Name a fruit.", "response": "Apple.", "category": "open_qa", "difficulty": 2}`, nil)
	if len(res.Records) != 1 {
		t.Fatalf("got %d records", len(res.Records))
	}
	r := res.Records[0]
	if r.Category != "open_qa" {
		t.Errorf("category %q", r.Category)
	}
	if got := r.Meta["difficulty"]; got != json.Number("2") {
		t.Errorf("meta difficulty = %#v", got)
	}
}

func TestParseProvenance(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := Prompt{ID: "p1", DemoIDs: []string{"d1", "d2"}, Seed: 7}
	var idx []int
	prov := func(i int) dataset.Provenance {
		idx = append(idx, i)
		return p.Provenance("m", map[string]any{"temperature": 0.7}, fmt.Sprintf("raw-%d", i), at)
	}
	res := Parse(`[{"instruction": "a", "response": "b"}, {"instruction": "c", "response": "d"}]`, prov)
	if len(res.Records) != 2 || !reflect.DeepEqual(idx, []int{0, 1}) {
		t.Fatalf("records %d, provenance calls %v", len(res.Records), idx)
	}
	got := res.Records[1].Provenance
	if got.PromptID != "p1" || !reflect.DeepEqual(got.DemoIDs, []string{"d1", "d2"}) || got.Model != "m" ||
		got.Seed != 7 || !got.Time.Equal(at) || got.RawKey != "raw-1" || got.Params["temperature"] != 0.7 {
		t.Errorf("provenance %+v", got)
	}
}

func TestParseAllowMissingResponse(t *testing.T) {
	res := Parser{AllowMissingResponse: true}.Parse(`{"instruction": "Do it."}`)
	if len(res.Records) != 1 || len(res.Rejects) != 0 {
		t.Fatalf("records %v rejects %v", res.Records, res.Rejects)
	}
}

func TestParseScanLimit(t *testing.T) {
	text := strings.Repeat("{", 5000)
	res := Parser{MaxWork: 100000}.Parse(text)
	if res.Reasons[ReasonScanLimit] != 1 {
		t.Fatalf("reasons %v", res.Reasons)
	}
	// The default budget still finishes such text quickly.
	start := time.Now()
	Parse(strings.Repeat("[{", 20000), nil)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("pathological text took %v", d)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"instruction": "a", "response": "b"}`,
		`[{"instruction": "a", "context": "c", "response": "b"},]`,
		"```json\n{\"task\": \"a\", \"answer\": \"b\"}\n```",
		"1. {\u201cinstruction\u201d: \u201ca\u201d, \u201cresponse\u201d: \u201cb\u201d}",
		`{"tasks": [{"question": "q", "output": "o"}, {"instruction": "x`,
		`{"instruction": "{[}]", "response": "\"}"}`,
		"{\"instruction\": \"a\nb\", \"response\": \"c\"}",
		"prose {with} [braces] and \u201cquotes\u201d",
		`{"instruction": {"nested": [1, {"a": null}]}, "response": true}`,
		`[[{"instruction": "a", "response": "b"}], 3, "x"]`,
		"{\"instruction\": \"\xff\xfe\", \"response\": \"\x00\"}",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		res := Parser{MaxWork: 1 << 20}.Parse(text)
		if res.Raw != text {
			t.Fatal("raw text not kept")
		}
		total := 0
		for _, n := range res.Reasons {
			total += n
		}
		if total != len(res.Rejects) {
			t.Fatalf("reasons count %d, rejects %d", total, len(res.Rejects))
		}
		for _, r := range res.Records {
			if strings.TrimSpace(r.Instruction) == "" {
				t.Fatalf("record without instruction from %q", text)
			}
			if strings.TrimSpace(r.Output) == "" {
				t.Fatalf("record without response from %q", text)
			}
			if r.ID == "" {
				t.Fatal("record without ID")
			}
		}
		if len(res.Records) == 0 && len(res.Rejects) == 0 {
			t.Fatalf("nothing reported for %q", text)
		}
	})
}

func TestRejectEntries(t *testing.T) {
	res := Parse(`{"instruction": "x", "response": ""}`, nil)
	e := res.RejectEntries("p1", "k1")
	if len(e) != 1 {
		t.Fatalf("entries %v", e)
	}
	b, err := json.Marshal(e[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"prompt_id":"p1","raw_key":"k1","reason":"empty response","offset":0,"text":"{\"instruction\": \"x\", \"response\": \"\"}"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if got := res.ReasonNames(); !reflect.DeepEqual(got, []string{ReasonEmptyResponse}) {
		t.Errorf("reason names %v", got)
	}
}
