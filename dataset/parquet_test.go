package dataset

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// A Parquet file written by another tool, with nested lists of structs and
// numeric columns, read through the self-instruct schema.
func TestReadForeignParquet(t *testing.T) {
	type instance struct {
		Input  string `parquet:"input"`
		Output string `parquet:"output"`
	}
	type task struct {
		ID        string     `parquet:"id"`
		Name      string     `parquet:"name"`
		Inst      string     `parquet:"instruction"`
		Instances []instance `parquet:"instances,list"`
		Score     float64    `parquet:"score"`
		Votes     int64      `parquet:"votes"`
	}
	rows := []task{
		{ID: "t1", Name: "n1", Inst: "Do this", Instances: []instance{{"a", "b"}, {"c", "d"}}, Score: 0.5, Votes: 3},
		{ID: "t2", Name: "n2", Inst: "Do that", Instances: []instance{{"", "e"}}, Score: 1, Votes: 0},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	recs, rep, err := Read(&buf, "tasks.parquet", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "self-instruct" || len(recs) != 3 {
		t.Fatalf("report %+v, %d records", rep, len(recs))
	}
	r := recs[1]
	if r.ID != "t1#1" || r.Instruction != "Do this" || r.Input != "c" || r.Output != "d" || r.Field("meta.votes") != "3" || r.Field("meta.score") != "0.5" {
		t.Errorf("record %+v", r)
	}
}
