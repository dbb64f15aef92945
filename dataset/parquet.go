package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

// parquetRow is the flat layout of a record in CSV and Parquet files:
// messages, meta and provenance hold JSON text ("" when empty).
type parquetRow struct {
	ID          string `parquet:"id"`
	Instruction string `parquet:"instruction"`
	Input       string `parquet:"input"`
	Output      string `parquet:"output"`
	Category    string `parquet:"category"`
	Messages    string `parquet:"messages"`
	Meta        string `parquet:"meta"`
	Provenance  string `parquet:"provenance"`
}

func flatten(r Record) (parquetRow, error) {
	row := parquetRow{ID: r.ID, Instruction: r.Instruction, Input: r.Input, Output: r.Output, Category: r.Category}
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("record %s: %w", r.ID, err)
		}
		return string(b), nil
	}
	var err error
	if len(r.Messages) > 0 {
		if row.Messages, err = enc(r.Messages); err != nil {
			return row, err
		}
	}
	if len(r.Meta) > 0 {
		if row.Meta, err = enc(r.Meta); err != nil {
			return row, err
		}
	}
	if !r.Provenance.IsZero() {
		if row.Provenance, err = enc(r.Provenance); err != nil {
			return row, err
		}
	}
	return row, nil
}

func (p parquetRow) strings() []string {
	return []string{p.ID, p.Instruction, p.Input, p.Output, p.Category, p.Messages, p.Meta, p.Provenance}
}

func writeParquet(w io.Writer, recs []Record) error {
	rows := make([]parquetRow, len(recs))
	for i, r := range recs {
		row, err := flatten(r)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	if err := parquet.Write(w, rows, parquet.Compression(&parquet.Zstd)); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// readParquet reads every row of a Parquet file as an object. The library
// is guarded: a panic on a corrupt file becomes an error.
func readParquet(br *bufio.Reader, name string, add addFunc) (err error) {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read %s: corrupt parquet file: %v", name, p)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("read %s: parquet: %w", name, err)
	}
	r := parquet.NewReader(f)
	defer r.Close()
	for line := 1; ; line++ {
		m := map[string]any{}
		if err := r.Read(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read %s row %d: parquet: %w", name, line, err)
		}
		if e := add(line, jsonish(m), nil, ""); e != nil {
			return e
		}
	}
}

// jsonish converts the values the Parquet library returns into the types
// encoding/json produces with UseNumber.
func jsonish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonish(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonish(e)
		}
		return x
	case []byte:
		return string(x)
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int8:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int16:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case uint8:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint16:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint32:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float32:
		return floatNumber(float64(x))
	case float64:
		return floatNumber(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

func floatNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}
