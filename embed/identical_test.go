package embed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// identicalBatch is 300 copies of one text among a few others, shuffled in.
func identicalBatch() ([]string, []int) {
	const text = "Write a short poem about the sea at night."
	others := []string{"Summarise the article in two sentences.", "List three uses of copper.",
		"Translate the sentence into French.", "Explain recursion to a child."}
	var texts []string
	var copies []int
	for i := range 300 {
		texts = append(texts, text)
		copies = append(copies, len(texts)-1)
		if i%60 == 0 {
			texts = append(texts, others[(i/60)%len(others)]+fmt.Sprint(" #", i))
		}
	}
	return texts, copies
}

// checkIdentical fails unless every copy's vector equals the first's bit for bit.
func checkIdentical(t *testing.T, name string, v [][]float32, copies []int) {
	t.Helper()
	first := v[copies[0]]
	distinct := 1
	var seen [][]float32
	seen = append(seen, first)
	for _, i := range copies[1:] {
		if !slices.Equal(v[i], first) {
			new := true
			for _, s := range seen {
				if slices.Equal(s, v[i]) {
					new = false
				}
			}
			if new {
				seen = append(seen, v[i])
				distinct++
			}
		}
	}
	if distinct != 1 {
		t.Errorf("%s: %d copies of one text gave %d different vectors", name, len(copies), distinct)
	}
}

func TestIdenticalTextsEmbedIdentically(t *testing.T) {
	texts, copies := identicalBatch()
	ctx := context.Background()
	vec, err := ReadVectors(strings.NewReader("6 3\nthe 1 0 0\nsea 0 1 0\npoem 0 0 1\nnight 1 1 0\nshort 0 1 1\nwrite 1 0 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	embs := []struct {
		name string
		e    Embedder
	}{
		{"lsa", LSA{Dim: 16, Seed: 3}},
		{"lsa-fit-sample", LSA{Dim: 16, Seed: 3, FitSample: 50}},
		{"sif", SIF{Vectors: vec}},
		{"sif-keep-pc", SIF{Vectors: vec, KeepPC: true}},
	}
	for _, tc := range embs {
		v, err := tc.e.Embed(ctx, texts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkIdentical(t, tc.name, v, copies)
		// Through the cache, written then read back.
		c := Cached{Inner: tc.e, Dir: t.TempDir()}
		for pass := range 2 {
			v, err := c.Embed(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			checkIdentical(t, fmt.Sprintf("cached %s pass %d", tc.name, pass), v, copies)
		}
	}
	// Only identical texts: every component but the first is rounding noise
	// and set to zero; all vectors equal.
	same := make([]string, 300)
	for i := range same {
		same[i] = "one and the same record"
	}
	v, err := LSA{Dim: 8}.Embed(ctx, same)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, len(same))
	for i := range all {
		all[i] = i
	}
	checkIdentical(t, "lsa all identical", v, all)
	for j := 1; j < len(v[0]); j++ {
		if v[0][j] != 0 {
			t.Errorf("lsa all identical: component %d = %g, want 0", j, v[0][j])
		}
	}
}

func TestIdenticalTextsEngine(t *testing.T) {
	e, err := NewEngine(sharedModel(t), EngineOptions{Workers: 2, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	texts, copies := identicalBatch()
	v, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(v), len(texts))
	}
	checkIdentical(t, "engine", v, copies)
	if slices.Equal(v[copies[0]], v[1]) {
		t.Error("different texts share a vector")
	}
}
