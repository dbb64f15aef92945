package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadHygiene(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 70000) // the bad byte lands beyond the first buffer
	cases := []struct {
		name, content string
		opt           ReadOptions
		want          string // "" means the read succeeds
	}{
		{"csv-named.jsonl", "instruction,output\nhi,there\n", ReadOptions{}, "this looks like CSV, not JSON Lines; name it .csv or pass --format csv"},
		{"csv-named.jsonl", "instruction,output\nhi,there\n", ReadOptions{Format: CSV}, ""},
		{"jsonl-named.csv", "{\"instruction\":\"a\"}\n", ReadOptions{}, "this looks like JSON Lines, not CSV; name it .jsonl or pass --format jsonl"},
		{"noext", "{\"instruction\":\"a\"}\n", ReadOptions{}, "this looks like JSON Lines: name it .jsonl or pass --format jsonl"},
		{"bad.jsonl", "{\"instruction\":\"ok\",\"output\":\"y\"}\n{\"instruction\":\"caf\xe9\"}\n", ReadOptions{}, "line 2: byte 20 (offset 53 in the file) is not valid UTF-8"},
		{"bad.jsonl", "{\"instruction\":\"ok\",\"output\":\"y\"}\n{\"instruction\":\"caf\xe9\",\"output\":\"y\"}\n", ReadOptions{LossyUTF8: true}, ""},
		{"far.jsonl", "{\"instruction\":\"" + long + "\xff\"}\n", ReadOptions{}, "line 1: byte 70017 "},
		{"cut.jsonl", "{\"instruction\":\"\xe2\x82\"}\n", ReadOptions{}, "not valid UTF-8"},
		{"good.jsonl", "{\"instruction\":\"caf\u00e9 \u20ac \U0001F600\",\"output\":\"y\"}\n", ReadOptions{}, ""},
		{"bad.csv", "instruction\n\"\xc3\x28\"\n", ReadOptions{}, "line 2: byte 2 "},
	}
	for _, c := range cases {
		t.Run(c.name+c.want, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadFile(p, c.opt)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	_, _, err := ReadFile(dir, ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}
