package synth

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// seedTasks reads the self-instruct seed tasks from ../shared, or skips.
func seedTasks(t *testing.T) []dataset.Record {
	t.Helper()
	path := testshared.Path(t, "data", "self-instruct", "seed_tasks.jsonl")
	recs, _, err := dataset.ReadFile(path, dataset.ReadOptions{Schema: "self-instruct", FirstInstanceOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 175 {
		t.Fatalf("read %d seed tasks, want 175", len(recs))
	}
	return recs
}

// bowEmbed is a deterministic bag-of-words embedding (hashed into 64 bins).
func bowEmbed(calls *int) EmbedFunc {
	return func(texts []string) ([][]float32, error) {
		if calls != nil {
			*calls++
		}
		out := make([][]float32, len(texts))
		for i, s := range texts {
			v := make([]float32, 64)
			for _, w := range strings.Fields(strings.ToLower(s)) {
				h := fnv.New32a()
				h.Write([]byte(strings.Trim(w, ".,?!:;\"'()")))
				v[h.Sum32()%64]++
			}
			out[i] = v
		}
		return out, nil
	}
}

func distinct(idx []int) bool {
	s := slices.Clone(idx)
	slices.Sort(s)
	return len(slices.Compact(s)) == len(idx)
}

func TestSelectorsDeterministic(t *testing.T) {
	anchors := seedTasks(t)
	sels := []Selector{RandomSelector{}, StratifiedSelector{Field: "meta.is_classification"}, NewDiverseSelector(bowEmbed(nil))}
	for _, sel := range sels {
		t.Run(sel.Name(), func(t *testing.T) {
			for _, k := range []int{0, 1, 3, 10, 20, 175, 500} {
				a, err := sel.Select(anchors, k, 42)
				if err != nil {
					t.Fatal(err)
				}
				b, err := sel.Select(anchors, k, 42)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("k=%d: same seed gave %v and %v", k, a, b)
				}
				if len(a) != min(k, len(anchors)) || !distinct(a) {
					t.Fatalf("k=%d: got %d indices (distinct %v)", k, len(a), distinct(a))
				}
			}
			a, _ := sel.Select(anchors, 10, 1)
			b, _ := sel.Select(anchors, 10, 2)
			if reflect.DeepEqual(a, b) {
				t.Errorf("seeds 1 and 2 gave the same demos %v", a)
			}
		})
	}
}

func TestStratifiedProportions(t *testing.T) {
	anchors := seedTasks(t)
	var nTrue int
	for _, r := range anchors {
		if r.Field("meta.is_classification") == "true" {
			nTrue++
		}
	}
	if nTrue != 26 {
		t.Fatalf("%d classification tasks, want 26", nTrue)
	}
	share := float64(nTrue) / float64(len(anchors))
	sel := StratifiedSelector{Field: "meta.is_classification"}
	const prompts = 2000
	for _, k := range []int{3, 10, 20} {
		q := float64(k) * share
		sum := 0
		for s := range prompts {
			idx, err := sel.Select(anchors, k, uint64(s))
			if err != nil {
				t.Fatal(err)
			}
			c := 0
			for _, i := range idx {
				if anchors[i].Field("meta.is_classification") == "true" {
					c++
				}
			}
			if c != int(math.Floor(q)) && c != int(math.Floor(q))+1 {
				t.Fatalf("k=%d seed %d: %d classification demos, want %d or %d", k, s, c, int(math.Floor(q)), int(math.Floor(q))+1)
			}
			sum += c
		}
		mean := float64(sum) / prompts
		// The count is floor(q) + Bernoulli(frac(q)): standard error < 0.5/√prompts.
		if math.Abs(mean-q) > 4*0.5/math.Sqrt(prompts) {
			t.Errorf("k=%d: mean %.4f classification demos per prompt, want %.4f", k, mean, q)
		}
		t.Logf("k=%d: %.4f classification demos per prompt (exact share %.4f)", k, mean, q)
	}
	if _, err := (StratifiedSelector{}).Select(anchors, 3, 1); err == nil {
		t.Error("stratified selection without a field accepted")
	}
}

func TestStratifiedByCategory(t *testing.T) {
	var anchors []dataset.Record
	for i := range 100 {
		cat := "a"
		switch {
		case i >= 90:
			cat = "c"
		case i >= 60:
			cat = "b"
		}
		anchors = append(anchors, dataset.Record{ID: fmt.Sprint(i), Instruction: fmt.Sprint("task ", i), Category: cat})
	}
	idx, err := StratifiedSelector{Field: "category"}.Select(anchors, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, i := range idx {
		count[anchors[i].Category]++
	}
	if !reflect.DeepEqual(count, map[string]int{"a": 6, "b": 3, "c": 1}) {
		t.Errorf("counts %v, want a:6 b:3 c:1", count)
	}
}

func TestDiverseSelector(t *testing.T) {
	anchors := seedTasks(t)
	calls := 0
	sel := NewDiverseSelector(bowEmbed(&calls))
	vecs, _ := bowEmbed(nil)(func() []string {
		s := make([]string, len(anchors))
		for i, r := range anchors {
			s[i] = DemoText(r)
		}
		return s
	}())
	for i := range vecs {
		vecs[i] = normalise(vecs[i])
	}
	meanDist := func(idx []int) float64 {
		var s float64
		var n int
		for a := range idx {
			for b := a + 1; b < len(idx); b++ {
				s += cosDist(vecs[idx[a]], vecs[idx[b]])
				n++
			}
		}
		return s / float64(n)
	}
	var div, rnd float64
	const trials = 20
	for s := range trials {
		d, err := sel.Select(anchors, 10, uint64(s))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := RandomSelector{}.Select(anchors, 10, uint64(s))
		div += meanDist(d)
		rnd += meanDist(r)
	}
	if calls != 1 {
		t.Errorf("embedding called %d times, want once (cached)", calls)
	}
	if div <= rnd {
		t.Errorf("diverse demos have mean distance %.3f, random ones %.3f", div/trials, rnd/trials)
	}
	t.Logf("mean pairwise cosine distance: diverse %.3f, random %.3f", div/trials, rnd/trials)

	failing := NewDiverseSelector(func([]string) ([][]float32, error) { return nil, errors.New("boom") })
	if _, err := failing.Select(anchors, 3, 1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("embedding error: %v", err)
	}
	short := NewDiverseSelector(func(s []string) ([][]float32, error) { return make([][]float32, len(s)-1), nil })
	if _, err := short.Select(anchors, 3, 1); err == nil {
		t.Error("too few vectors accepted")
	}
	if _, err := NewDiverseSelector(nil).Select(anchors, 3, 1); err == nil {
		t.Error("nil embedding function accepted")
	}
}

func normalise(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

func TestSelectorErrors(t *testing.T) {
	for _, sel := range []Selector{RandomSelector{}, StratifiedSelector{Field: "category"}, NewDiverseSelector(bowEmbed(nil))} {
		if _, err := sel.Select(nil, 3, 1); err == nil {
			t.Errorf("%s: no anchors accepted", sel.Name())
		}
		if _, err := sel.Select(sampleDemos(), -1, 1); err == nil {
			t.Errorf("%s: negative k accepted", sel.Name())
		}
	}
}

func TestParseSelector(t *testing.T) {
	embed := func(texts []string) ([][]float32, error) { return make([][]float32, len(texts)), nil }
	for _, tc := range []struct {
		spec, name string
		embed      EmbedFunc
		ok         bool
	}{
		{"", "random", nil, true},
		{"random", "random", nil, true},
		{"stratified:category", "stratified:category", nil, true},
		{"diverse", "diverse", embed, true},
		{"diverse", "", nil, false},
		{"stratified:", "", nil, false},
		{"best", "", nil, false},
	} {
		s, err := ParseSelector(tc.spec, tc.embed)
		if (err == nil) != tc.ok || (tc.ok && s.Name() != tc.name) {
			t.Errorf("%q: %v %v", tc.spec, s, err)
		}
	}
}
