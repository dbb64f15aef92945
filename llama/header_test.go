package llama_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// ReadHeader gives the shape Load gives, for both file formats, and
// refuses truncated and foreign files with a message free of Go syntax.
func TestReadHeader(t *testing.T) {
	m := testshared.Stories(t)
	for _, name := range []string{"stories260K.bin", "stories260K.gguf"} {
		h, err := llama.ReadHeader(testshared.Path(t, "models", "stories260K", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := m.Config
		if h.Config.Dim != c.Dim || h.Config.HiddenDim != c.HiddenDim || h.Config.NLayers != c.NLayers ||
			h.Config.NHeads != c.NHeads || h.Config.NKVHeads != c.NKVHeads || h.Config.VocabSize != c.VocabSize {
			t.Errorf("%s: header %+v, model %+v", name, h.Config, c)
		}
		if h.Bytes <= 0 {
			t.Errorf("%s: %d bytes", name, h.Bytes)
		}
	}
	whole, err := os.ReadFile(testshared.StoriesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := map[string][]byte{
		"truncated.bin": whole[:len(whole)-4],
		"text.bin":      []byte("this is not a model at all, only some text\n"),
		"empty.bin":     nil,
		"gguf.bin":      []byte("GGUF\x03\x00\x00\x00"),
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := llama.ReadHeader(p)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "{") || strings.Contains(err.Error(), "llama.Config") {
			t.Errorf("%s: %v shows Go syntax", name, err)
		}
	}
	if _, err := llama.ReadHeader(dir); err == nil {
		t.Error("a directory without config.json: no error")
	}
}
