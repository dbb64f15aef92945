package generate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llm"
)

// journalEntry is one line of journal.jsonl: a request whose response is in
// the cache and whose record and reject lines are on disk.
type journalEntry struct {
	Prompt int    `json:"prompt"`
	Sample int    `json:"sample"`
	Key    string `json:"key"`
	// Format tells whether the response format was sent (false after the
	// endpoint refused it).
	Format bool `json:"format"`
	// Time is when the response was received; it is the records'
	// provenance time.
	Time    time.Time `json:"time"`
	Usage   usageJSON `json:"usage"`
	Fetched bool      `json:"fetched"`
	// Batch tells that the answer came through a batch API (half price).
	Batch   bool `json:"batch,omitempty"`
	Records int  `json:"records"`
	Rejects int  `json:"rejects"`
}

// usageJSON is llm.Usage with JSON names.
type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func toUsageJSON(u llm.Usage) usageJSON { return usageJSON{u.PromptTokens, u.CompletionTokens} }

func (u usageJSON) usage() llm.Usage {
	return llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
}

// jsonLine encodes v as one JSON line (HTML characters not escaped).
func jsonLine(v any) ([]byte, error) { return dataset.EncodeLine(v) }

// readLines calls fn for every complete line of path (a last line without
// its newline is torn and skipped). A missing file has no lines.
func readLines(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a torn last line (or none)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// readJournal returns the entries of the journal at path, skipping a torn
// last line; a complete line that does not decode is an error (the file was
// edited or belongs to something else).
func readJournal(path string) ([]journalEntry, error) {
	var out []journalEntry
	n := 0
	err := readLines(path, func(line []byte) error {
		n++
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil || e.Key == "" {
			return fmt.Errorf("journal %s line %d is not a journal entry; the directory holds something else or was edited", path, n)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// keyed is the part of a record or reject line that names its request.
type keyed struct {
	RawKey     string `json:"raw_key"`
	Provenance struct {
		RawKey string `json:"raw_key"`
	} `json:"provenance"`
}

// filterFile rewrites path (through a temporary file and a rename) keeping
// only the complete lines whose raw key satisfies keep. A missing file is
// created empty.
func filterFile(path string, keep func(key string) bool) error {
	var buf bytes.Buffer
	err := readLines(path, func(line []byte) error {
		var k keyed
		if json.Unmarshal(line, &k) != nil {
			return nil // a damaged line cannot be attributed: drop it
		}
		key := k.RawKey
		if key == "" {
			key = k.Provenance.RawKey
		}
		if keep(key) {
			buf.Write(line)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic writes a file durably through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	return writeAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomicFunc is writeAtomic with the content written by fill.
func writeAtomicFunc(path string, fill func(io.Writer) error) error {
	return dataset.WriteAtomic(path, true, fill)
}
