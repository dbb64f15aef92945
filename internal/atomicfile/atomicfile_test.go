package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("boom")
	cases := []struct {
		name    string
		path    string
		old     string // content before, "" for none
		fill    func(io.Writer) error
		want    string // content after
		wantErr error
	}{
		{"new file in a new directory", "sub/dir/a.txt", "", func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }, "hello", nil},
		{"replaces", "b.txt", "old", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"failure keeps the old content", "c.txt", "old", func(w io.Writer) error {
			io.WriteString(w, "half")
			return boom
		}, "old", boom},
		{"failure leaves no file", "d.txt", "", func(io.Writer) error { return boom }, "", boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.path)
			if c.old != "" {
				if err := os.WriteFile(p, []byte(c.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, sync := range []bool{false, true} {
				err := Write(p, sync, c.fill)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("sync %v: err = %v, want %v", sync, err, c.wantErr)
				}
				got, rerr := os.ReadFile(p)
				if c.want == "" {
					if !os.IsNotExist(rerr) {
						t.Errorf("sync %v: file exists after a failed first write (%q, %v)", sync, got, rerr)
					}
				} else if string(got) != c.want {
					t.Errorf("sync %v: content %q, want %q", sync, got, c.want)
				}
				if c.wantErr == nil {
					if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
						t.Errorf("mode %v, want 0644 (set by chmod)", st.Mode().Perm())
					}
				}
			}
			ents, _ := os.ReadDir(filepath.Dir(p))
			for _, e := range ents {
				if len(e.Name()) > 0 && e.Name()[0] == '.' {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
	if err := WriteBytes(filepath.Join(dir, "e.json"), []byte("{}\n"), false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "e.json")); string(b) != "{}\n" {
		t.Errorf("WriteBytes wrote %q", b)
	}
}
