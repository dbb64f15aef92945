package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Codec is what EncodeLines and DecodeLines need of a tokenizer (BPE, or
// an adapter around another implementation).
type Codec interface {
	// Encode tokenizes text; special reports whether special tokens are
	// recognised (and BOS added where the model expects it).
	EncodeText(text string, special bool) []int
	Decode(ids []int) string
	VocabSize() int
}

// EncodeText is Encode or, when special is set, EncodeSpecial with BOS
// prepended when the model expects it (AddBOS).
func (t *BPE) EncodeText(text string, special bool) []int {
	if !special {
		return t.Encode(text)
	}
	ids := t.EncodeSpecial(text)
	if t.AddBOS() {
		ids = append([]int{t.bos}, ids...)
	}
	return ids
}

// LineError is a malformed input line of EncodeLines or DecodeLines.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

const maxLine = 64 << 20

// EncodeLines reads JSON lines (a JSON string, or an object with a string
// field "text") and writes one JSON array of token ids per line. Blank
// lines are skipped.
func EncodeLines(r io.Reader, w io.Writer, c Codec, special bool) error {
	return eachLine(r, w, func(line []byte, bw *bufio.Writer) error {
		var text string
		if line[0] == '{' {
			var o struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(line, &o); err != nil {
				return err
			}
			if o.Text == nil {
				return fmt.Errorf("the object has no string field \"text\"")
			}
			text = *o.Text
		} else if err := json.Unmarshal(line, &text); err != nil {
			return fmt.Errorf("not a JSON string nor an object with a \"text\" field: %w", err)
		}
		bw.WriteByte('[')
		for i, id := range c.EncodeText(text, special) {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(strconv.Itoa(id))
		}
		bw.WriteString("]\n")
		return nil
	})
}

// DecodeLines reads JSON arrays of token ids, one per line, and writes
// each one's text as a JSON string (invalid UTF-8 becomes U+FFFD).
func DecodeLines(r io.Reader, w io.Writer, c Codec) error {
	n := c.VocabSize()
	return eachLine(r, w, func(line []byte, bw *bufio.Writer) error {
		var ids []int
		if err := json.Unmarshal(line, &ids); err != nil {
			return fmt.Errorf("not a JSON array of token ids: %w", err)
		}
		for _, id := range ids {
			if id < 0 || id >= n {
				return fmt.Errorf("token id %d is outside the vocabulary of %d tokens", id, n)
			}
		}
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		return enc.Encode(c.Decode(ids))
	})
}

func eachLine(r io.Reader, w io.Writer, f func([]byte, *bufio.Writer) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	bw := bufio.NewWriter(w)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := f(line, bw); err != nil {
			bw.Flush()
			return &LineError{n, err}
		}
	}
	if err := sc.Err(); err != nil {
		bw.Flush()
		return fmt.Errorf("read input: %w", err)
	}
	return bw.Flush()
}
