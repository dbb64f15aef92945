package textlab

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
)

// Source is one component of the text world: a named distribution of
// texts with a train split (anchors and M's training data are drawn from
// it) and a held-out split (the ground-truth evaluation; empty for
// unrelated sources).
type Source struct {
	Name    string   `json:"name"`
	Train   []string `json:"-"`
	HeldOut []string `json:"-"`
}

// SourceInfo describes a source in a result: its name and split sizes.
type SourceInfo struct {
	Name    string `json:"name"`
	Train   int    `json:"train"`
	HeldOut int    `json:"held_out"`
}

func infos(srcs []Source) []SourceInfo {
	out := make([]SourceInfo, len(srcs))
	for i, s := range srcs {
		out[i] = SourceInfo{Name: s.Name, Train: len(s.Train), HeldOut: len(s.HeldOut)}
	}
	return out
}

// calcAnnotation matches GSM8K's calculator annotations «<<48/2=24>>».
var calcAnnotation = regexp.MustCompile(`<<[^>]*>>`)

// readTexts reads a data file with a dataset schema and maps every record
// to a text, dropping empty texts.
func readTexts(path string, opt dataset.ReadOptions, text func(dataset.Record) string) ([]dataset.Record, error) {
	recs, _, err := dataset.ReadFile(path, opt)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out := recs[:0]
	for _, r := range recs {
		t := strings.TrimSpace(text(r))
		if t == "" {
			continue
		}
		r.Output = t // the text of the source, whatever field it came from
		out = append(out, r)
	}
	return out, nil
}

func textsOf(recs []dataset.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Output
	}
	return out
}

// TaskSources reads the task sources from dataDir (the shared data
// folder holding gsm8k/, self-instruct/ and mt-bench/), in catalogue order:
//
//   - gsm8k-question: GSM8K questions (train.jsonl / test.jsonl);
//   - self-instruct-seed: the instructions of the 175 seed tasks;
//   - self-instruct-user: the instructions of the 252 user-oriented tasks;
//   - mt-bench: the first turn of the 80 MT-bench questions;
//   - gsm8k-answer: GSM8K worked answers without calculator annotations;
//   - self-instruct-output: the reference output of the first instance of
//     every seed and user-oriented task.
//
// GSM8K keeps its own train/test files; the other sources are split 8:2 by
// [dataset.Split] with splitSeed.
func TaskSources(dataDir string, splitSeed uint64) ([]Source, error) {
	gsmTrain := filepath.Join(dataDir, "gsm8k", "train.jsonl")
	seedPath := filepath.Join(dataDir, "self-instruct", "seed_tasks.jsonl")
	userPath := filepath.Join(dataDir, "self-instruct", "user_oriented_instructions.jsonl")
	mtPath := filepath.Join(dataDir, "mt-bench", "question.jsonl")
	instruction := func(r dataset.Record) string { return r.Instruction }
	answer := func(r dataset.Record) string {
		a := calcAnnotation.ReplaceAllString(r.Output, "")
		return strings.ReplaceAll(a, "\n", " ")
	}
	output := func(r dataset.Record) string { return r.Output }
	gsm := dataset.ReadOptions{Schema: "gsm8k"}
	si := dataset.ReadOptions{Schema: "self-instruct", FirstInstanceOnly: true}

	var out []Source
	add := func(name string, train, test []dataset.Record, err error) error {
		if err != nil {
			return fmt.Errorf("task source %s: %w", name, err)
		}
		out = append(out, Source{Name: name, Train: textsOf(train), HeldOut: textsOf(test)})
		return nil
	}
	fixed := func(path string, opt dataset.ReadOptions, text func(dataset.Record) string) ([]dataset.Record, []dataset.Record, error) {
		tr, err := readTexts(path, opt, text)
		if err != nil {
			return nil, nil, err
		}
		te, err := readTexts(strings.Replace(path, "train.jsonl", "test.jsonl", 1), opt, text)
		return tr, te, err
	}
	split := func(paths []string, opt dataset.ReadOptions, text func(dataset.Record) string) ([]dataset.Record, []dataset.Record, error) {
		var all []dataset.Record
		for _, p := range paths {
			recs, err := readTexts(p, opt, text)
			if err != nil {
				return nil, nil, err
			}
			all = append(all, recs...)
		}
		return dataset.Split(all, dataset.SplitOptions{Seed: splitSeed})
	}
	tr, te, err := fixed(gsmTrain, gsm, instruction)
	if err := add("gsm8k-question", tr, te, err); err != nil {
		return nil, err
	}
	tr, te, err = split([]string{seedPath}, si, instruction)
	if err := add("self-instruct-seed", tr, te, err); err != nil {
		return nil, err
	}
	tr, te, err = split([]string{userPath}, si, instruction)
	if err := add("self-instruct-user", tr, te, err); err != nil {
		return nil, err
	}
	tr, te, err = split([]string{mtPath}, dataset.ReadOptions{Schema: "mt-bench"}, instruction)
	if err := add("mt-bench", tr, te, err); err != nil {
		return nil, err
	}
	tr, te, err = fixed(gsmTrain, gsm, answer)
	if err := add("gsm8k-answer", tr, te, err); err != nil {
		return nil, err
	}
	tr, te, err = split([]string{seedPath, userPath}, si, output)
	if err := add("self-instruct-output", tr, te, err); err != nil {
		return nil, err
	}
	return out, nil
}

// UnrelatedSources builds the task-irrelevant sources offline, n texts
// each, deterministically from seed, in catalogue order:
//
//   - stories: texts sampled from base (the stories260K model) from BOS at
//     temperature 1, at most maxTokens tokens each;
//   - arithmetic: 4 to 8 generated equations per text ("37 + 58 = 95");
//   - shuffled-words: the words of the stories shuffled across texts, each
//     text as long as its story (a bag of story words without syntax);
//   - letters: 8 to 20 random lower-case strings of 2 to 8 letters.
//
// Without a model (base nil) the two story-based sources are left out.
func UnrelatedSources(base *llama.Model, n, maxTokens int, seed uint64) ([]Source, error) {
	if n < 1 {
		return nil, fmt.Errorf("unrelated sources: need at least 1 text per source (got %d)", n)
	}
	var out []Source
	var stories []string
	if base != nil {
		reqs := make([]llama.BatchRequest, n)
		for i := range reqs {
			reqs[i] = llama.BatchRequest{Prompt: "", Options: llama.GenerateOptions{
				SampleOptions: llama.SampleOptions{Temperature: 1, Seed: mix(seed, 0x5709, uint64(i))},
				MaxTokens:     maxTokens,
			}}
		}
		gens, err := base.GenerateBatch(reqs, 1)
		if err != nil {
			return nil, fmt.Errorf("unrelated source stories: %w", err)
		}
		for _, g := range gens {
			t := strings.TrimSpace(g.Text)
			if t == "" {
				t = "Once upon a time"
			}
			stories = append(stories, t)
		}
		out = append(out, Source{Name: "stories", Train: stories})
	}
	rng := rand.New(rand.NewPCG(seed, 0xa717))
	arith := make([]string, n)
	ops := []string{"+", "-", "*"}
	for i := range arith {
		k := 4 + rng.IntN(5)
		eqs := make([]string, k)
		for j := range eqs {
			a, b := rng.IntN(100), rng.IntN(100)
			op := ops[rng.IntN(len(ops))]
			c := a + b
			switch op {
			case "-":
				c = a - b
			case "*":
				c = a * b
			}
			eqs[j] = fmt.Sprintf("%d %s %d = %d", a, op, b, c)
		}
		arith[i] = strings.Join(eqs, ", ")
	}
	out = append(out, Source{Name: "arithmetic", Train: arith})
	if stories != nil {
		var words []string
		lens := make([]int, len(stories))
		for i, s := range stories {
			f := strings.Fields(s)
			lens[i] = len(f)
			words = append(words, f...)
		}
		rs := rand.New(rand.NewPCG(seed, 0x5b0f))
		rs.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		shuffled := make([]string, len(stories))
		off := 0
		for i, l := range lens {
			shuffled[i] = strings.Join(words[off:off+l], " ")
			if shuffled[i] == "" {
				shuffled[i] = "the"
			}
			off += l
		}
		out = append(out, Source{Name: "shuffled-words", Train: shuffled})
	}
	rl := rand.New(rand.NewPCG(seed, 0x1e77))
	letters := make([]string, n)
	for i := range letters {
		k := 8 + rl.IntN(13)
		ws := make([]string, k)
		for j := range ws {
			b := make([]byte, 2+rl.IntN(7))
			for q := range b {
				b[q] = byte('a' + rl.IntN(26))
			}
			ws[j] = string(b)
		}
		letters[i] = strings.Join(ws, " ")
	}
	out = append(out, Source{Name: "letters", Train: letters})
	return out, nil
}

// mix derives a 64-bit stream identifier from a seed and labels
// (SplitMix64 finaliser over the sequence).
func mix(seed uint64, labels ...uint64) uint64 {
	h := seed ^ 0x9e3779b97f4a7c15
	for _, l := range labels {
		h ^= l + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}
