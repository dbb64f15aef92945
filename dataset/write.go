package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/ggmi-dev/ggmi/internal/atomicfile"
)

// WriteOptions control WriteFile.
type WriteOptions struct {
	// Format overrides the format given by the file's extension.
	Format Format
	// Append adds JSONL records to the end of the file, one write call per
	// line on a file opened with O_APPEND, instead of replacing the file.
	// Only JSONL (without .gz) can be appended to.
	Append bool
	// Sync calls fsync after each appended line, or on the temporary file
	// before the rename.
	Sync bool
}

// MarshalLine encodes a record as one JSON line ending in '\n' (HTML
// characters are not escaped).
func MarshalLine(r Record) ([]byte, error) {
	b, err := EncodeLine(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	return b, nil
}

// EncodeLine encodes any value as one JSON line ending in '\n' (HTML
// characters are not escaped).
func EncodeLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes records to path in the format of its extension (or
// opt.Format); a .gz name is gzip-compressed. Without opt.Append the file is
// written to a temporary file beside it and renamed into place.
func WriteFile(path string, recs []Record, opt WriteOptions) error {
	format, gz, err := FormatOf(path)
	if opt.Format != "" {
		format, err = ParseFormat(string(opt.Format))
	}
	if err != nil {
		return fmt.Errorf("write %w", err)
	}
	if opt.Append {
		if format != JSONL || gz {
			return fmt.Errorf("write %s: only uncompressed JSONL can be appended to", path)
		}
		w, err := OpenJSONL(path, opt.Sync)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				w.Close()
				return err
			}
		}
		return w.Close()
	}
	return WriteAtomic(path, opt.Sync, func(w io.Writer) error {
		if gz {
			zw := gzip.NewWriter(w)
			if err := Encode(zw, format, recs); err != nil {
				return err
			}
			return zw.Close()
		}
		return Encode(w, format, recs)
	})
}

// Encode writes records to w in the given format.
func Encode(w io.Writer, format Format, recs []Record) error {
	switch format {
	case JSONL:
		for _, r := range recs {
			b, err := MarshalLine(r)
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	case JSON:
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i, r := range recs {
			b, err := MarshalLine(r)
			if err != nil {
				return err
			}
			sep := ",\n"
			if i == 0 {
				sep = "\n"
			}
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			if _, err := w.Write(b[:len(b)-1]); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "\n]\n")
		return err
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(recordFields); err != nil {
			return err
		}
		for _, r := range recs {
			row, err := flatten(r)
			if err != nil {
				return err
			}
			if err := cw.Write(row.strings()); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case Parquet:
		return writeParquet(w, recs)
	}
	return fmt.Errorf("unknown format %q", format)
}

// WriteAtomic writes the file at path through a temporary file in the same
// directory (created when missing) and a rename, so that readers see the
// old content or the new, never part of it. With sync the data and then
// the rename are made durable (fsync of the file and of the directory).
func WriteAtomic(path string, sync bool, fill func(io.Writer) error) error {
	return atomicfile.Write(path, sync, fill)
}

// JSONLWriter appends records to a JSONL file: each record is encoded in
// full and written with a single write call on a file opened with O_APPEND,
// so writers in several goroutines or processes never interleave lines. It
// is safe for concurrent use.
type JSONLWriter struct {
	mu   sync.Mutex
	f    *os.File
	path string
	sync bool
}

// OpenJSONL opens (creating if needed) a JSONL file for appending; with
// sync each line is followed by fsync.
func OpenJSONL(path string, sync bool) (*JSONLWriter, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &JSONLWriter{f: f, path: path, sync: sync}, nil
}

// Write appends one record as one line.
func (w *JSONLWriter) Write(r Record) error {
	b, err := MarshalLine(r)
	if err != nil {
		return fmt.Errorf("append %s: %w", w.path, err)
	}
	return w.WriteLines(b)
}

// WriteLines appends b, whole lines already encoded, with a single write
// call (then fsync when the writer syncs): a group of lines lands
// together or, if the process dies, as a torn last line that readers
// skip.
func (w *JSONLWriter) WriteLines(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("append %s: %w", w.path, os.ErrClosed)
	}
	n, err := w.f.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("append %s: %w", w.path, err)
	}
	if w.sync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("append %s: fsync: %w", w.path, err)
		}
	}
	return nil
}

// Close closes the file.
func (w *JSONLWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}
