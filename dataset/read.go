package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Format is a file format.
type Format string

// The formats ReadFile and WriteFile handle.
const (
	JSONL   Format = "jsonl"
	JSON    Format = "json"
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// FormatOf returns the format named by a file's extension, and whether the
// name ends in .gz.
func FormatOf(path string) (f Format, gz bool, err error) {
	name := strings.ToLower(filepath.Base(path))
	name, gz = strings.CutSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".jsonl", ".ndjson":
		return JSONL, gz, nil
	case ".json":
		return JSON, gz, nil
	case ".csv":
		return CSV, gz, nil
	case ".parquet", ".pq":
		return Parquet, gz, nil
	}
	return "", gz, fmt.Errorf("%s: unknown format (want .jsonl, .json, .csv or .parquet, optionally .gz, or name the format)", path)
}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSONL, JSON, CSV, Parquet:
		return f, nil
	case "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown format %q (want jsonl, json, csv or parquet)", s)
}

// ReadOptions control ReadFile and Read.
type ReadOptions struct {
	// Format overrides the format given by the file's extension.
	Format Format
	// Schema is a built-in schema name; "" means "auto".
	Schema string
	// Mapping, when not empty, is a custom schema of "field=path" pairs
	// (see CustomSchema) and overrides Schema.
	Mapping []string
	// FirstInstanceOnly makes the self-instruct schema keep only the first
	// instance of each task instead of one record per instance.
	FirstInstanceOnly bool
	// SkipInvalid skips malformed rows and rows that lack a required field,
	// counting them by reason in the report, instead of failing.
	SkipInvalid bool
	// LossyUTF8 replaces bytes that are not valid UTF-8 with U+FFFD instead
	// of failing with the file, line and byte.
	LossyUTF8 bool
}

// ReadReport tells what a read did.
type ReadReport struct {
	// File is the name used in messages.
	File string `json:"file"`
	// Schema is the schema used (the detected one for "auto").
	Schema string `json:"schema"`
	// Rows is the number of source rows seen (blank lines excluded).
	Rows int `json:"rows"`
	// Records is the number of records produced.
	Records int `json:"records"`
	// Skipped is the number of rows skipped with SkipInvalid.
	Skipped int `json:"skipped"`
	// Reasons counts the skipped rows by reason.
	Reasons map[string]int `json:"reasons,omitempty"`
	// Examples holds the first few skip messages, with their lines.
	Examples []string `json:"examples,omitempty"`
}

// String summarises the report in one line.
func (r ReadReport) String() string {
	s := fmt.Sprintf("%s: %d rows, %d records (schema %s)", r.File, r.Rows, r.Records, r.Schema)
	if r.Skipped > 0 {
		keys := make([]string, 0, len(r.Reasons))
		for k := range r.Reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s: %d", k, r.Reasons[k])
		}
		s += fmt.Sprintf(", %d skipped (%s)", r.Skipped, strings.Join(parts, ", "))
	}
	return s
}

// LineError is a bad row: its file, its line (the row number for Parquet,
// the line where the element starts for JSON arrays) and the cause.
type LineError struct {
	File   string
	Line   int
	Reason string
	Err    error
}

func (e *LineError) Error() string { return fmt.Sprintf("read %s line %d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ReadFile reads the records of a local file.
func ReadFile(path string, opt ReadOptions) ([]Record, ReadReport, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, ReadReport{File: path}, fmt.Errorf("read %s: it is a directory, not a data file (name a file inside it)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ReadReport{File: path}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	return Read(f, path, opt)
}

const maxExamples = 10

// Read reads records from r; name is used to pick the format (unless
// opt.Format is set) and in messages. Gzip-compressed input is recognised by
// its magic bytes and decompressed.
func Read(r io.Reader, name string, opt ReadOptions) ([]Record, ReadReport, error) {
	rep := ReadReport{File: name}
	format := opt.Format
	if format == "" {
		f, _, err := FormatOf(name)
		if err != nil {
			if got := sniffReader(r); got != "" {
				return nil, rep, fmt.Errorf("read %s: unknown file extension; this looks like %s: name it .%s or pass --format %s", name, what2(got), got, got)
			}
			return nil, rep, fmt.Errorf("read %w", err)
		}
		format = f
	} else if _, err := ParseFormat(string(format)); err != nil {
		return nil, rep, fmt.Errorf("read %s: %w", name, err)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, rep, fmt.Errorf("read %s: gzip: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	if format != Parquet {
		if err := checkSniff(br, name, format); err != nil {
			return nil, rep, err
		}
		if !opt.LossyUTF8 {
			br = bufio.NewReaderSize(&utf8Reader{r: br, name: name, line: 1}, 1<<16)
		}
	}

	var schema Schema
	var err error
	resolved := false
	switch {
	case len(opt.Mapping) > 0:
		schema, err = CustomSchema(opt.Mapping)
		resolved = true
	case opt.Schema != "" && opt.Schema != "auto":
		schema, err = LookupSchema(opt.Schema)
		resolved = true
	}
	if err != nil {
		return nil, rep, fmt.Errorf("read %s: %w", name, err)
	}
	if resolved {
		rep.Schema = schema.Name
	}

	var out []Record
	// add handles one row; a non-nil return stops the read.
	add := func(line int, row any, decErr error, decReason string) error {
		rep.Rows++
		var le *LineError
		switch obj, ok := row.(map[string]any); {
		case decErr != nil:
			le = &LineError{File: name, Line: line, Reason: decReason, Err: decErr}
		case !ok:
			le = &LineError{File: name, Line: line, Reason: "not an object", Err: fmt.Errorf("not a JSON object but %s", kindOf(row))}
		default:
			if !resolved {
				s, err := DetectSchema(obj)
				if err != nil {
					return fmt.Errorf("read %s line %d: %w", name, line, err)
				}
				schema, resolved = s, true
				rep.Schema = s.Name
			}
			recs, err := schema.m(obj, &opt)
			if err != nil {
				reason := "invalid row"
				var fe *FieldError
				if errors.As(err, &fe) {
					reason = fe.reason()
				}
				le = &LineError{File: name, Line: line, Reason: reason, Err: fmt.Errorf("schema %s: %w", schema.Name, err)}
				break
			}
			out = append(out, recs...)
			return nil
		}
		if !opt.SkipInvalid {
			return le
		}
		rep.Skipped++
		if rep.Reasons == nil {
			rep.Reasons = map[string]int{}
		}
		rep.Reasons[le.Reason]++
		if len(rep.Examples) < maxExamples {
			rep.Examples = append(rep.Examples, le.Error())
		}
		return nil
	}

	switch format {
	case JSONL:
		err = readJSONL(br, add)
	case JSON:
		err = readJSONArray(br, name, add)
	case CSV:
		err = readCSV(br, name, add)
	case Parquet:
		err = readParquet(br, name, add)
	}
	rep.Records = len(out)
	if err != nil {
		var le *LineError
		if errors.As(err, &le) {
			return out, rep, err
		}
		if !strings.HasPrefix(err.Error(), "read ") {
			err = fmt.Errorf("read %s: %w", name, err)
		}
		return out, rep, err
	}
	return out, rep, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

type addFunc func(line int, row any, err error, reason string) error

// decodeOne decodes exactly one JSON value from b.
func decodeOne(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, errors.New("unexpected end of JSON input")
		}
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}

var bom = []byte("\xef\xbb\xbf")

func readJSONL(br *bufio.Reader, add addFunc) error {
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return err
		}
		if len(b) > 0 {
			if line == 1 {
				b = bytes.TrimPrefix(b, bom)
			}
			if t := bytes.TrimSpace(b); len(t) > 0 {
				v, derr := decodeOne(t)
				if e := add(line, v, derr, "invalid JSON"); e != nil {
					return e
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readJSONArray reads a JSON array of objects; a file whose first value is an
// object is read as JSON Lines instead (many .json files are).
func readJSONArray(br *bufio.Reader, name string, add addFunc) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	data = bytes.TrimPrefix(data, bom)
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 {
		return nil
	}
	if t[0] == '{' {
		return readJSONL(bufio.NewReader(bytes.NewReader(data)), add)
	}
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return 1 + bytes.Count(data[:off], []byte{'\n'})
	}
	if t[0] != '[' {
		return &LineError{File: name, Line: lineAt(int64(len(data) - len(t))), Reason: "invalid JSON", Err: errors.New("want a JSON array of objects")}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if _, err := d.Token(); err != nil {
		return &LineError{File: name, Line: 1, Reason: "invalid JSON", Err: err}
	}
	for d.More() {
		off := d.InputOffset()
		for off < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
			off++
		}
		var v any
		if err := d.Decode(&v); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			// The decoder cannot resynchronise after a syntax error.
			return &LineError{File: name, Line: lineAt(off), Reason: "invalid JSON", Err: err}
		}
		if e := add(lineAt(off), v, nil, ""); e != nil {
			return e
		}
	}
	if _, err := d.Token(); err != nil {
		return &LineError{File: name, Line: lineAt(d.InputOffset()), Reason: "invalid JSON", Err: err}
	}
	return nil
}

func readCSV(br *bufio.Reader, name string, add addFunc) error {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return &LineError{File: name, Line: 1, Reason: "invalid CSV", Err: fmt.Errorf("header: %w", err)}
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	seen := map[string]bool{}
	for _, h := range header {
		if seen[h] {
			return &LineError{File: name, Line: 1, Reason: "invalid CSV", Err: fmt.Errorf("header: duplicate column %q", h)}
		}
		seen[h] = true
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			if e := add(pe.StartLine, nil, pe.Err, "invalid CSV"); e != nil {
				return e
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		row := make(map[string]any, len(header))
		for i, h := range header {
			row[h] = rec[i]
		}
		if e := add(line, row, nil, ""); e != nil {
			return e
		}
	}
}
