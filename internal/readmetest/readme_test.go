package readmetest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type block struct {
	line       int
	skip, long bool
	text       string
}

// blocks returns the ```sh blocks of a Markdown file with their markers.
func blocks(path string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []block
	var cur *block
	var prev string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &block{line: n}
			marker := strings.TrimSpace(prev)
			cur.skip = strings.HasPrefix(marker, "<!-- readme-test: skip")
			cur.long = strings.HasPrefix(marker, "<!-- readme-test: long")
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	return out, sc.Err()
}

func TestREADMEBlocks(t *testing.T) {
	if os.Getenv("GGMI_README_INNER") != "" {
		t.Skip("inside a README block already")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blocks(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		t.Fatal("no ```sh block in README.md")
	}
	long := os.Getenv("GGMI_README_LONG") != ""
	// The binary lives in the test's directory, not a block's: a block's
	// temporary directory is removed when that block ends.
	binDir := t.TempDir()
	var bin string
	for _, b := range bs {
		t.Run(strings.Fields(b.text + " empty")[0]+"@"+itoa(b.line), func(t *testing.T) {
			switch {
			case b.skip:
				t.Skipf("README.md:%d is marked skip", b.line)
			case b.long && !long:
				t.Skipf("README.md:%d is long; run with GGMI_README_LONG=1", b.line)
			case strings.Contains(b.text, "../shared/") && !sharedPresent():
				t.Skipf("README.md:%d reads ../shared, which is absent beside the repository", b.line)
			}
			if bin == "" {
				bin = binDir
				build := exec.Command("go", "build", "-o", filepath.Join(bin, "ggmi"), "./cmd/ggmi")
				build.Dir = root
				if out, err := build.CombinedOutput(); err != nil {
					t.Fatalf("build ggmi: %v\n%s", err, out)
				}
			}
			cmd := exec.Command("bash", "-e", "-c", b.text)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GGMI_README_INNER=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("README.md:%d: %v\n%s", b.line, err, out)
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// The parser sees markers and block bodies as written.
func TestBlocksParser(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.md")
	md := "x\n\n<!-- readme-test: skip (needs a key) -->\n```sh\necho a\n```\n\n```sh\necho b\n```\n<!-- readme-test: long -->\n\n```sh\necho c\n```\n```go\nx\n```\n"
	if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	bs, err := blocks(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || !bs[0].skip || bs[1].skip || bs[1].long || !bs[2].long || bs[1].text != "echo b\n" {
		t.Fatalf("%+v", bs)
	}
}

// sharedPresent reports whether ../shared sits beside the repository (the
// README's blocks run from its root).
func sharedPresent() bool {
	st, err := os.Stat(filepath.Join("..", "..", "..", "shared"))
	return err == nil && st.IsDir()
}
