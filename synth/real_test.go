package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// generateStory returns real text from the built-in engine, or skips.
func generateStory(t *testing.T, prompt string, seed uint64) string {
	t.Helper()
	path := testshared.StoriesPath(t)
	m, err := llama.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Generate(prompt, llama.GenerateOptions{
		SampleOptions: llama.SampleOptions{Temperature: 0.9, TopP: 0.95, Seed: seed},
		MaxTokens:     400,
		IgnoreEOS:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.Text
}

// injected builds the i-th object to inject, in one of several shapes, and
// the record it must give back.
func injected(i int, rng *rand.Rand) (text string, w want) {
	insts := []string{
		"Summarise the story in one sentence.",
		"Rewrite the line {\"a\": [1, 2]} as YAML.",
		"Übersetze „Guten Tag“ ins Englische.",
		"Count the words in the context.",
		"Explain what `func() { }` does in Go.",
		"Name a colour that starts with \"b\".",
		"Write a haiku about 🌧️ rain.",
		"Classify the sentiment: {positive, negative}.",
	}
	w = want{I: insts[i%len(insts)], C: fmt.Sprintf("context %d: Lily had a [big] ball } {", i), R: fmt.Sprintf("Answer %d — “done”.\nSecond line.", i)}
	if i%3 == 0 {
		w.C = ""
	}
	keys := [][3]string{{"instruction", "context", "response"}, {"task", "input", "output"}, {"question", "context", "answer"}, {"instruction", "input", "reference response"}}[i%4]
	obj := map[string]string{keys[0]: w.I, keys[1]: w.C, keys[2]: w.R}
	var b []byte
	var err error
	if rng.IntN(2) == 0 {
		b, err = json.Marshal(obj)
	} else {
		b, err = json.MarshalIndent(obj, "", "  ")
	}
	if err != nil {
		panic(err)
	}
	s := string(b)
	switch rng.IntN(4) {
	case 0:
		s = "\n```json\n" + s + "\n```\n"
	case 1:
		s = fmt.Sprintf("\n%d. %s\n", i+1, s)
	case 2:
		s = " " + s + " "
	}
	return s, w
}

func TestParseRealModelOutput(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		story := generateStory(t, "Once upon a time", seed)
		if utf8.RuneCountInString(story) < 200 {
			t.Fatalf("seed %d: the model wrote only %q", seed, story)
		}
		// The model's own text holds no task.
		if res := Parse(story, nil); len(res.Records) != 0 {
			t.Fatalf("seed %d: records from plain model output: %+v", seed, res.Records)
		}
		rng := rand.New(rand.NewPCG(seed, 99))
		runes := []rune(story)
		const n = 12
		pos := make([]int, n)
		for i := range pos {
			pos[i] = rng.IntN(len(runes) + 1)
		}
		// Insert in position order so the objects appear in index order.
		slices.Sort(pos)
		var b strings.Builder
		var wants []want
		last := 0
		for i, p := range pos {
			b.WriteString(string(runes[last:p]))
			s, w := injected(i, rng)
			b.WriteString(s)
			wants = append(wants, w)
			last = p
		}
		b.WriteString(string(runes[last:]))
		text := b.String()
		res := Parse(text, nil)
		if got := recs(res); !reflect.DeepEqual(got, wants) {
			t.Errorf("seed %d: recovered\n%q\nwant\n%q\nrejects %+v\ntext:\n%s", seed, got, wants, res.Rejects, text)
		}
		if seed == 1 {
			t.Logf("model text with objects injected (first 600 bytes):\n%.600s", text)
		}
	}
}
