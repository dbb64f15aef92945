package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// utf8Reader passes bytes through and fails, naming the line and the byte,
// at the first byte that is not valid UTF-8.
type utf8Reader struct {
	r       io.Reader
	name    string
	line    int   // current line, 1-based
	col     int   // bytes already seen on the current line
	offset  int64 // bytes already seen in the file
	pending []byte
	err     error
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	// Keep room for the bytes of a rune cut by the previous read.
	if len(p) <= utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	n := copy(p, u.pending)
	u.pending = u.pending[:0]
	m, rerr := u.r.Read(p[n:])
	n += m
	buf := p[:n]
	i := 0
	for i < len(buf) {
		c := buf[i]
		if c < utf8.RuneSelf {
			u.advance(c, 1)
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) && rerr == nil {
			// Wait for the rest of the rune.
			u.pending = append(u.pending, buf[i:]...)
			return i, nil
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size <= 1 {
			u.err = &LineError{File: u.name, Line: u.line, Reason: "invalid UTF-8",
				Err: fmt.Errorf("byte %d (offset %d in the file) is not valid UTF-8 (0x%02x); fix the file's encoding or pass --lossy-utf8 to replace bad bytes with U+FFFD", u.col+1, u.offset, c)}
			return i, nil
		}
		u.advance(c, size)
		i += size
	}
	return n, rerr
}

func (u *utf8Reader) advance(c byte, size int) {
	u.offset += int64(size)
	if c == '\n' {
		u.line++
		u.col = 0
		return
	}
	u.col += size
}

// sniff returns the format the first bytes of a file look like, or "".
func sniff(head []byte) Format {
	head = bytes.TrimPrefix(head, bom)
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return Parquet
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return ""
	}
	switch t[0] {
	case '{':
		return JSONL
	case '[':
		return JSON
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	if bytes.ContainsAny(first, ",\t;") {
		return CSV
	}
	return ""
}

// checkSniff refuses a file whose content plainly is another format than
// the one its name or the options give.
func checkSniff(br *bufio.Reader, name string, format Format) error {
	head, _ := br.Peek(4096)
	got := sniff(head)
	if got == "" || got == format || (got == JSONL && format == JSON) || (got == JSON && format == JSONL) {
		return nil
	}
	if format == CSV && got == CSV {
		return nil
	}
	what := map[Format]string{JSONL: "JSON Lines", JSON: "JSON", CSV: "CSV", Parquet: "Parquet"}[got]
	return fmt.Errorf("read %s: this looks like %s, not %s; name it .%s or pass --format %s", name, what, what2(format), got, got)
}

func what2(f Format) string {
	return map[Format]string{JSONL: "JSON Lines", JSON: "JSON", CSV: "CSV", Parquet: "Parquet"}[f]
}

// sniffReader peeks at a seekable reader's first bytes (and rewinds it).
func sniffReader(r io.Reader) Format {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return ""
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(rs, head)
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	return sniff(head[:n])
}
