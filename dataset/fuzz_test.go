package dataset

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(dollyBad), "", false)
	f.Add([]byte(`{"messages":[{"role":"user","content":"x"}]}`), "", true)
	f.Add([]byte(`{"instruction":"I","instances":[{"input":1}, 2]}`), "self-instruct", true)
	f.Add([]byte("\xef\xbb\xbf{\"question\":\"q\",\"answer\":\"a\"}\r\n"), "", false)
	f.Add([]byte(`{"id":"x","meta":"{not json","messages":"[1]"}`), "record", true)
	f.Fuzz(func(t *testing.T, data []byte, schema string, skip bool) {
		recs, rep, err := Read(bytes.NewReader(data), "f.jsonl", ReadOptions{Schema: schema, SkipInvalid: skip})
		if err == nil && rep.Records != len(recs) {
			t.Fatalf("report says %d records, got %d", rep.Records, len(recs))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "read ") {
			t.Fatalf("error without context: %v", err)
		}
		// Whatever was read can be written and read back.
		var buf bytes.Buffer
		if err := Encode(&buf, JSONL, recs); err != nil {
			t.Fatal(err)
		}
		back, _, err := Read(&buf, "g.jsonl", ReadOptions{})
		if err != nil && len(recs) > 0 {
			t.Fatalf("re-read: %v", err)
		}
		if len(back) != len(recs) && len(recs) > 0 {
			t.Fatalf("re-read %d of %d records", len(back), len(recs))
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("instruction,output\na,b\n\"unterminated,c\n"), false)
	f.Add([]byte("id,instruction,input,output,category,messages,meta,provenance\nx,i,,o,,\"[{\"\"role\"\":1}]\",,\n"), true)
	f.Add([]byte("question,answer\n1,2,3\n"), true)
	f.Add([]byte("a,a\n1,2\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		recs, rep, err := Read(bytes.NewReader(data), "f.csv", ReadOptions{SkipInvalid: skip})
		if err == nil && rep.Records != len(recs) {
			t.Fatalf("report says %d records, got %d", rep.Records, len(recs))
		}
		var buf bytes.Buffer
		if err := Encode(&buf, CSV, recs); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzMapPath(f *testing.F) {
	f.Add(`{"a":{"b":[10,{"c":"x"}]}}`, "a.b.1.c")
	f.Add(`{"s":"{\"k\":[1,2]}"}`, "s.k.1")
	f.Add(`[1,[2,[3]]]`, "1[1][0]")
	f.Add(`"x"`, "..")
	f.Fuzz(func(t *testing.T, doc, path string) {
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		MapPath(v, path)
		if s, err := CustomSchema([]string{"instruction=" + path}); err == nil {
			if m, ok := v.(map[string]any); ok {
				s.Map(m, ReadOptions{})
			}
		}
	})
}
