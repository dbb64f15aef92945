package train

import (
	"fmt"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// sharedData returns a file of the shared data folder beside the
// repository, skipping the test when it is absent.
func sharedData(t testing.TB, parts ...string) string {
	return testshared.Path(t, append([]string{"data"}, parts...)...)
}

// stories260K is the shared stories260K model; callers must not modify it.
func stories260K(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

// byteTokenizer is a tokenizer of 259 tokens (<unk>, <s>, </s> and the 256
// byte pieces) that encodes any text byte by byte.
func byteTokenizer(t testing.TB) *llama.Tokenizer {
	t.Helper()
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	tok, err := llama.NewTokenizer(vocab, make([]float32, len(vocab)), nil, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// storyRecords returns n short instruction records in the style of the
// stories the tiny model was trained on. Record i pairs name i+offset with
// thing 3i+offset (both modulo 8): the sets of offsets 0 and 3 share no
// pair, so they serve as training and held-out sets.
func storyRecords(n, offset int) []dataset.Record {
	names := []string{"Lily", "Tom", "Sue", "Ben", "Max", "Mia", "Sam", "Anna"}
	things := []string{"ball", "cat", "dog", "tree", "cake", "boat", "kite", "toy"}
	recs := make([]dataset.Record, n)
	for i := range recs {
		name, thing := names[(i+offset)%len(names)], things[(3*i+offset)%len(things)]
		recs[i] = dataset.Record{
			ID:          fmt.Sprintf("r%d", i+offset),
			Instruction: "Tell a story about " + name + ".",
			Output:      name + " had a big " + thing + ". " + name + " was very happy.",
			Category:    []string{"story", "open_qa"}[i%2],
		}
	}
	return recs
}
