package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func dataPath(t testing.TB, parts ...string) string {
	t.Helper()
	p := testshared.Path(t, append([]string{"data"}, parts...)...)
	return p
}

func TestRealFiles(t *testing.T) {
	for _, c := range []struct {
		path    []string
		opt     ReadOptions
		schema  string
		rows    int
		records int
		check   func(t *testing.T, r []Record)
	}{
		{[]string{"self-instruct", "seed_tasks.jsonl"}, ReadOptions{FirstInstanceOnly: true}, "self-instruct", 175, 175, func(t *testing.T, r []Record) {
			if r[0].ID != "seed_task_0" || !strings.HasPrefix(r[0].Instruction, "Is there anything I can eat for a breakfast") ||
				!strings.HasPrefix(r[0].Output, "Yes, you can have 1 oatmeal") || r[0].Meta["name"] != "breakfast_suggestion" {
				t.Errorf("first record %+v", r[0])
			}
			if r[0].Meta["is_classification"] != false {
				t.Errorf("is_classification = %#v", r[0].Meta["is_classification"])
			}
		}},
		// Every task in these files has exactly one instance.
		{[]string{"self-instruct", "seed_tasks.jsonl"}, ReadOptions{}, "self-instruct", 175, 175, func(t *testing.T, r []Record) {
			ids := map[string]bool{}
			for _, x := range r {
				if ids[x.ID] {
					t.Errorf("duplicate id %s", x.ID)
				}
				ids[x.ID] = true
			}
		}},
		{[]string{"self-instruct", "user_oriented_instructions.jsonl"}, ReadOptions{FirstInstanceOnly: true}, "self-instruct", 252, 252, func(t *testing.T, r []Record) {
			if r[0].ID != "user_oriented_task_0" || r[0].Meta["motivation_app"] != "Grammarly" || !strings.HasPrefix(r[0].Input, "If you have any questions") {
				t.Errorf("first record %+v", r[0])
			}
		}},
		{[]string{"gsm8k", "train.jsonl"}, ReadOptions{}, "gsm8k", 7473, 7473, func(t *testing.T, r []Record) {
			if !strings.HasPrefix(r[0].Instruction, "Natalia sold clips") || r[0].Meta["final_answer"] != "72" || len(r[0].ID) != 32 {
				t.Errorf("first record %+v", r[0])
			}
		}},
		{[]string{"gsm8k", "test.jsonl"}, ReadOptions{Schema: "gsm8k"}, "gsm8k", 1319, 1319, nil},
		{[]string{"gsm8k", "test.jsonl"}, ReadOptions{Mapping: []string{"instruction=question", "output=answer"}}, "custom", 1319, 1319, nil},
		{[]string{"mt-bench", "question.jsonl"}, ReadOptions{}, "mt-bench", 80, 80, func(t *testing.T, r []Record) {
			if r[0].ID != "81" || r[0].Category != "writing" || len(r[0].Messages) != 2 || r[0].Messages[1].Role != "user" ||
				r[0].Instruction != r[0].Messages[0].Content {
				t.Errorf("first record %+v", r[0])
			}
		}},
	} {
		name := strings.Join(c.path, "/") + "/" + c.schema
		t.Run(name, func(t *testing.T) {
			recs, rep, err := ReadFile(dataPath(t, c.path...), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Schema != c.schema || rep.Rows != c.rows || (c.records >= 0 && rep.Records != c.records) || rep.Records != len(recs) {
				t.Errorf("report %+v, want schema %s, %d rows, %d records", rep, c.schema, c.rows, c.records)
			}
			if c.check != nil {
				c.check(t, recs)
			}
		})
	}
}

// sample is a set of records that uses every field.
func sample() []Record {
	return []Record{
		{ID: "a1", Instruction: "Give three tips.", Output: "1. Eat.\n2. Sleep.\n3. Move.", Category: "brainstorming"},
		{ID: "a2", Instruction: "Translate \"hello\" <b>", Input: "to French, with a comma", Output: "bonjour",
			Meta: map[string]any{"n": json.Number("3"), "nested": map[string]any{"k": []any{"x", json.Number("1.5"), true, nil}}}},
		{ID: "a3", Messages: []Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello, there"}}, Instruction: "hi", Output: "hello, there"},
		{ID: "a4", Instruction: "Écris un poème ✓", Output: "…",
			Provenance: Provenance{PromptID: "p7", DemoIDs: []string{"a1", "a2"}, Model: "gpt-x", Params: map[string]any{"temperature": json.Number("0.7")},
				Seed: 42, Time: time.Date(2026, 11, 22, 3, 4, 5, 6, time.UTC), RawKey: "sha:abc"}},
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := sample()
	recs := want
	for _, name := range []string{"a.jsonl", "b.parquet", "c.csv", "d.json", "e.jsonl.gz", "f.csv.gz", "g.parquet"} {
		p := filepath.Join(dir, name)
		if err := WriteFile(p, recs, WriteOptions{Sync: true}); err != nil {
			t.Fatal(err)
		}
		got, rep, err := ReadFile(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Schema != "record" {
			t.Errorf("%s: schema %s", name, rep.Schema)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: round trip differs:\n got %#v\nwant %#v", name, got, want)
		}
		recs = got
	}
}

func TestGolden(t *testing.T) {
	for _, f := range []Format{JSONL, JSON, CSV} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(&buf, f, sample()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "sample."+string(f))
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file:\n%s", golden, buf.String())
			}
		})
	}
}

func TestSchemas(t *testing.T) {
	for _, c := range []struct {
		name, schema, line string
		want               []Record
		wantErr            string
	}{
		{"alpaca", "", `{"instruction":"Add","input":"2, 3","output":"5","text":"x"}`,
			[]Record{{Instruction: "Add", Input: "2, 3", Output: "5", Meta: map[string]any{"text": "x"}}}, ""},
		{"dolly", "", `{"instruction":"Q","context":"C","response":"R","category":"open_qa"}`,
			[]Record{{Instruction: "Q", Input: "C", Output: "R", Category: "open_qa"}}, ""},
		{"dolly missing", "dolly", `{"instruction":"Q","context":"C"}`, nil, `missing field "response"`},
		{"self-instruct", "", `{"id":"t1","instruction":"I","instances":[{"input":"a","output":"b"},{"input":"c","output":"d"}]}`,
			[]Record{{ID: "t1", Instruction: "I", Input: "a", Output: "b", Meta: map[string]any{"instance": json.Number("0")}},
				{ID: "t1#1", Instruction: "I", Input: "c", Output: "d", Meta: map[string]any{"instance": json.Number("1")}}}, ""},
		{"self-instruct empty", "self-instruct", `{"instruction":"I","instances":[]}`, nil, `field "instances": empty list`},
		{"gsm8k", "", `{"question":"1+1?","answer":"1+1=2\n#### 2"}`,
			[]Record{{Instruction: "1+1?", Output: "1+1=2\n#### 2", Meta: map[string]any{"final_answer": "2"}}}, ""},
		{"chat", "", `{"messages":[{"role":"system","content":"S"},{"role":"user","content":"U"},{"role":"assistant","content":"A"}]}`,
			[]Record{{Instruction: "U", Output: "A", Messages: []Message{{"system", "S"}, {"user", "U"}, {"assistant", "A"}}}}, ""},
		{"sharegpt", "", `{"id":"s","conversations":[{"from":"human","value":"U"},{"from":"gpt","value":"A"}]}`,
			[]Record{{ID: "s", Instruction: "U", Output: "A", Messages: []Message{{"user", "U"}, {"assistant", "A"}}}}, ""},
		{"sharegpt bad", "sharegpt", `{"conversations":[{"from":"human"}]}`, nil, `lacks "from" or "value"`},
		{"undetectable", "", `{"foo":1}`, nil, "cannot detect the schema from the fields [foo]"},
		{"unknown schema", "nope", `{"foo":1}`, nil, `unknown schema "nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := Read(strings.NewReader(c.line+"\n"), "x.jsonl", ReadOptions{Schema: c.schema})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if c.want[i].ID == "" {
					c.want[i].ID = ContentID(c.want[i])
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestCustomMapping(t *testing.T) {
	line := `{"q":"Who?","answers":[{"text":"Me","score":1}],"ctx":{"title":"T"},"extra":true}`
	got, rep, err := Read(strings.NewReader(line), "squad.jsonl", ReadOptions{Mapping: []string{"instruction=q", "output=answers.0.text", "input=ctx.title", "meta.score=answers[0].score"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Instruction: "Who?", Output: "Me", Input: "T", Meta: map[string]any{"score": json.Number("1"), "extra": true}}
	want.ID = ContentID(want)
	if rep.Schema != "custom" || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %#v", got)
	}
	_, _, err = Read(strings.NewReader(line), "squad.jsonl", ReadOptions{Mapping: []string{"instruction=q", "output=answers.3.text"}})
	if err == nil || !strings.Contains(err.Error(), "read squad.jsonl line 1") || !strings.Contains(err.Error(), `missing field "answers.3.text"`) {
		t.Errorf("error %v", err)
	}
	for _, bad := range []string{"instruction", "=q", "nofield=q"} {
		if _, _, err := Read(strings.NewReader(line), "s.jsonl", ReadOptions{Mapping: []string{bad}}); err == nil {
			t.Errorf("mapping %q accepted", bad)
		}
	}
}

func TestMapPath(t *testing.T) {
	var v any
	d := json.NewDecoder(strings.NewReader(`{"a":{"b":[10,{"c":"x"}]},"d.e":"dotted","s":"{\"k\":[1,2]}"}`))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want any
		ok   bool
	}{
		{"a.b.0", json.Number("10"), true},
		{"a.b.1.c", "x", true},
		{"a.b[1].c", "x", true},
		{"d.e", "dotted", true},
		{"s.k.1", json.Number("2"), true},
		{"a.b.2", nil, false},
		{"a.b.-1", nil, false},
		{"a.x", nil, false},
		{"a.b.1.c.z", nil, false},
	} {
		got, err := MapPath(v, c.path)
		if (err == nil) != c.ok || c.ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("MapPath(%q) = %#v, %v", c.path, got, err)
		}
		if err != nil && !errors.Is(err, ErrNoPath) {
			t.Errorf("MapPath(%q) error %v is not ErrNoPath", c.path, err)
		}
	}
}

const dollyBad = `{"instruction":"a","context":"","response":"x","category":"qa"}
{"instruction":"b","context":"","response":"y","category":"qa"}

{"instruction":"c", broken}
{"instruction":"d","context":""}
[1,2]
{"instruction":"e","context":"","response":"z","category":"qa"} trailing
{"instruction":"f","context":"","response":"w","category":"qa"}
`

func TestMalformedLines(t *testing.T) {
	_, _, err := Read(strings.NewReader(dollyBad), "dolly.jsonl", ReadOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "read dolly.jsonl line 4: invalid character 'b'") {
		t.Fatalf("error %v", err)
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 4 || le.File != "dolly.jsonl" {
		t.Errorf("LineError %+v", le)
	}
	recs, rep, err := Read(strings.NewReader(dollyBad), "dolly.jsonl", ReadOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	wantReasons := map[string]int{"invalid JSON": 2, "missing field response": 1, "not an object": 1}
	if len(recs) != 3 || rep.Rows != 7 || rep.Skipped != 4 || !reflect.DeepEqual(rep.Reasons, wantReasons) {
		t.Errorf("%d records, report %+v", len(recs), rep)
	}
	if !strings.Contains(rep.String(), "4 skipped (invalid JSON: 2, missing field response: 1, not an object: 1)") {
		t.Errorf("summary %q", rep.String())
	}
	if len(rep.Examples) != 4 || !strings.HasPrefix(rep.Examples[1], "read dolly.jsonl line 5: schema dolly: missing field") {
		t.Errorf("examples %q", rep.Examples)
	}
}

func TestMalformedOtherFormats(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
	}{
		{"bad.json", "[\n{\"instruction\":\"a\",\"output\":\"b\"},\n{\"instruction\": nope}\n]", "read bad.json line 3: invalid character 'o'"},
		{"bad.csv", "instruction,output\na,b\n\"unterminated,c\n", "read bad.csv line 3:"},
		{"bad2.csv", "instruction,output\na,b\nc,d,e\n", "read bad2.csv line 3: wrong number of fields"},
		{"bad.parquet", "PAR1 this is not parquet", "read bad.parquet"},
		{"x.txt", "", "unknown format"},
	} {
		_, _, err := Read(strings.NewReader(c.data), c.name, ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	recs, rep, err := Read(strings.NewReader("instruction,output\na,b\nc,d,e\nf,g\n"), "s.csv", ReadOptions{SkipInvalid: true})
	if err != nil || len(recs) != 2 || rep.Skipped != 1 {
		t.Errorf("skip CSV: %d records, %+v, %v", len(recs), rep, err)
	}
}

func TestGzipAndFormatOption(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"question":"q","answer":"a"}` + "\n"))
	zw.Close()
	recs, _, err := Read(bytes.NewReader(buf.Bytes()), "data.bin", ReadOptions{Format: JSONL})
	if err != nil || len(recs) != 1 || recs[0].Instruction != "q" {
		t.Fatalf("%v %v", recs, err)
	}
	// A .json file holding JSON Lines is read as such.
	recs, _, err = Read(strings.NewReader("{\"question\":\"q\",\"answer\":\"a\"}\n{\"question\":\"r\",\"answer\":\"b\"}\n"), "d.json", ReadOptions{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
}

func TestJSONLAppendConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out", "log.jsonl")
	w1, err := OpenJSONL(p, false)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := OpenJSONL(p, true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	long := strings.Repeat("x", 100000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := w1
			if g%2 == 1 {
				w = w2
			}
			for i := range 25 {
				if err := w.Write(Record{ID: fmt.Sprintf("%d-%d", g, i), Instruction: long}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w1.Close()
	w2.Close()
	if err := WriteFile(p, []Record{{ID: "last", Instruction: "i"}}, WriteOptions{Append: true}); err != nil {
		t.Fatal(err)
	}
	recs, _, err := ReadFile(p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 201 || recs[200].ID != "last" {
		t.Errorf("%d records", len(recs))
	}
	if err := WriteFile(p+".gz", nil, WriteOptions{Append: true}); err == nil {
		t.Error("append to .gz accepted")
	}
}

func TestSplit(t *testing.T) {
	var recs []Record
	cats := []string{"qa", "qa", "qa", "brainstorm", "summarise"}
	for i := range 1000 {
		recs = append(recs, Record{ID: fmt.Sprintf("r%04d", i), Category: cats[i%len(cats)]})
	}
	train, test, err := Split(recs, SplitOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 800 || len(test) != 200 {
		t.Fatalf("split %d/%d", len(train), len(test))
	}
	// Same seed, reversed input: same membership.
	rev := make([]Record, len(recs))
	for i, r := range recs {
		rev[len(recs)-1-i] = r
	}
	_, test2, _ := Split(rev, SplitOptions{Seed: 1})
	if ids(test2, true) != ids(test, true) {
		t.Error("membership depends on input order")
	}
	// Output keeps input order.
	for i := 1; i < len(test); i++ {
		if test[i-1].ID >= test[i].ID {
			t.Fatal("test set not in input order")
		}
	}
	_, test3, _ := Split(recs, SplitOptions{Seed: 2})
	if ids(test3, true) == ids(test, true) {
		t.Error("seed has no effect")
	}
	// Stratified: every category split 8:2.
	_, st, err := Split(recs, SplitOptions{Seed: 1, StratifyBy: "category", TestFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range st {
		count[r.Category]++
	}
	if !reflect.DeepEqual(count, map[string]int{"qa": 150, "brainstorm": 50, "summarise": 50}) {
		t.Errorf("strata %v", count)
	}
	if _, _, err := Split(recs, SplitOptions{TestFraction: 1.5}); err == nil {
		t.Error("fraction 1.5 accepted")
	}
}

func ids(rs []Record, sorted bool) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	if sorted {
		sortStrings(s)
	}
	return strings.Join(s, ",")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestSplitRealGSM8K(t *testing.T) {
	recs, _, err := ReadFile(dataPath(t, "gsm8k", "train.jsonl"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := Split(recs, SplitOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(test) != 1495 || len(train) != 7473-1495 {
		t.Errorf("split %d/%d", len(train), len(test))
	}
	_, again, _ := Split(recs, SplitOptions{Seed: 7})
	if ids(again, false) != ids(test, false) {
		t.Error("not deterministic")
	}
	mt, _, err := ReadFile(dataPath(t, "mt-bench", "question.jsonl"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, mtest, _ := Split(mt, SplitOptions{Seed: 3, StratifyBy: "category"})
	count := map[string]int{}
	for _, r := range mtest {
		count[r.Category]++
	}
	for c, n := range count {
		if n != 2 { // 8 categories of 10 questions
			t.Errorf("category %s: %d in test, want 2", c, n)
		}
	}
	if len(count) != 8 {
		t.Errorf("%d categories", len(count))
	}
}

// The real files survive JSONL → Parquet → CSV → JSON unchanged.
func TestRoundTripReal(t *testing.T) {
	var all []Record
	for _, p := range [][]string{{"self-instruct", "seed_tasks.jsonl"}, {"self-instruct", "user_oriented_instructions.jsonl"}, {"gsm8k", "test.jsonl"}, {"mt-bench", "question.jsonl"}} {
		recs, _, err := ReadFile(dataPath(t, p...), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	dir := t.TempDir()
	cur := all
	for _, name := range []string{"a.jsonl", "b.parquet", "c.csv", "d.json"} {
		p := filepath.Join(dir, name)
		if err := WriteFile(p, cur, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _, err := ReadFile(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(all))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], all[i]) {
				t.Fatalf("%s: record %d differs:\n got %#v\nwant %#v", name, i, got[i], all[i])
			}
		}
		cur = got
	}
}
