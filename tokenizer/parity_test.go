package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

var (
	sharedOnce              sync.Once
	sharedGPT2, sharedQwen3 *BPE
	sharedErr               error
)

// shared loads the real GPT-2 and Qwen3 tokenizers of ../shared once.
func shared(t testing.TB) (gpt2, qwen3 *BPE) {
	t.Helper()
	dir := testshared.Path(t, "tokenizers")
	sharedOnce.Do(func() {
		sharedGPT2, sharedErr = LoadDir(filepath.Join(dir, "gpt2"))
		if sharedErr == nil {
			sharedQwen3, sharedErr = LoadDir(filepath.Join(dir, "qwen3"))
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedGPT2, sharedQwen3
}

type refCase struct {
	Text  string `json:"text"`
	GPT2  []int  `json:"gpt2"`
	Qwen3 []int  `json:"qwen3"`
}

func readRef(t *testing.T, path string) []refCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []refCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cases
}

func checkRef(t *testing.T, cases []refCase) {
	gpt2, qwen3 := shared(t)
	for i, c := range cases {
		for _, tc := range []struct {
			name string
			tok  *BPE
			want []int
		}{{"gpt2", gpt2, c.GPT2}, {"qwen3", qwen3, c.Qwen3}} {
			// The reference implementations recognise special tokens in
			// the text (gpt-3-encoder does not know any).
			got := tc.tok.EncodeSpecial(c.Text)
			if tc.name == "gpt2" {
				got = tc.tok.Encode(c.Text)
			}
			if !equalIDs(got, tc.want) {
				t.Errorf("case %d %s %q:\n got %v\nwant %v", i, tc.name, c.Text, got, tc.want)
				continue
			}
			if d := tc.tok.Decode(got); d != c.Text && tc.name == "gpt2" {
				t.Errorf("case %d %s: decode %q, want %q", i, tc.name, d, c.Text)
			}
		}
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSharedReference(t *testing.T) {
	checkRef(t, readRef(t, testshared.Path(t, "tokenizers", "reference_encodings.json")))
}

// TestReference checks the cases of testdata/reference_encodings.json
// (made by testdata/make_reference.sh with the reference JavaScript
// implementations): Unicode, emoji, CJK, whitespace runs, digits,
// contractions, special-token strings.
func TestReference(t *testing.T) {
	checkRef(t, readRef(t, filepath.Join("testdata", "reference_encodings.json")))
}

// TestReferenceFile runs the check on a reference file given by
// TOKENIZER_REFERENCE (a larger differential run, see
// bench/tokenizer.sh).
func TestReferenceFile(t *testing.T) {
	p := os.Getenv("TOKENIZER_REFERENCE")
	if p == "" {
		t.Skip("TOKENIZER_REFERENCE is not set")
	}
	checkRef(t, readRef(t, p))
}
