package textlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/ggmi-dev/ggmi/sim"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// sharedDir returns the shared folder beside the repository, skipping the
// test when it is absent.
func sharedDir(t testing.TB) string {
	dir := testshared.Path(t)
	testshared.Path(t, "data")
	testshared.StoriesPath(t)
	return dir
}

var (
	baseOnce sync.Once
	baseM    *llama.Model
	baseErr  error
)

// baseModel loads stories260K once per test binary.
func baseModel(t testing.TB) *llama.Model {
	t.Helper()
	d := filepath.Join(sharedDir(t), "models", "stories260K")
	baseOnce.Do(func() {
		baseM, baseErr = llama.LoadLlama2c(filepath.Join(d, "stories260K.bin"), filepath.Join(d, "tok512.bin"))
	})
	if baseErr != nil {
		t.Fatal(baseErr)
	}
	return baseM
}

// handSources returns task sources t0..t(n−1) with train texts "tI-J"
// (sizes given) and held-out texts "hI-J", and unrelated sources u0, u1.
func handSources(trainSizes []int, heldOut int) (tasks, unrelated []Source) {
	for i, n := range trainSizes {
		s := Source{Name: fmt.Sprintf("t%d", i)}
		for j := 0; j < n; j++ {
			s.Train = append(s.Train, fmt.Sprintf("t%d-%d", i, j))
		}
		for j := 0; j < heldOut; j++ {
			s.HeldOut = append(s.HeldOut, fmt.Sprintf("h%d-%d", i, j))
		}
		tasks = append(tasks, s)
	}
	for i := 0; i < 2; i++ {
		s := Source{Name: fmt.Sprintf("u%d", i)}
		for j := 0; j < 5; j++ {
			s.Train = append(s.Train, fmt.Sprintf("u%d-%d", i, j))
		}
		unrelated = append(unrelated, s)
	}
	return tasks, unrelated
}

func sourceOf(text string) string { return text[:strings.IndexByte(text, '-')] }

// The data of a world: which sources play which part, how many texts each
// contributes, and that the anchors are M's first texts of their sources.
func TestTextlabAssemble(t *testing.T) {
	tasks, unrelated := handSources([]int{10, 10, 3, 10}, 4)
	opt := Default()
	opt.AnchorsPerSource, opt.GeneratorPerSource, opt.HeldOutPerSource = 3, 6, 2
	cases := []struct {
		K, J, L   int
		shuffle   bool
		tasks     []string
		unrelated []string
	}{
		{1, 0, 0, false, []string{"t0"}, nil},
		{1, 1, 1, false, []string{"t0", "t1"}, []string{"u0"}},
		{2, 2, 2, false, []string{"t0", "t1", "t2", "t3"}, []string{"u0", "u1"}},
		{3, 0, 1, false, []string{"t0", "t1", "t2"}, []string{"u0"}},
		{2, 1, 2, true, nil, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("K%dJ%dL%d-shuffle%v", c.K, c.J, c.L, c.shuffle), func(t *testing.T) {
			o := opt
			o.Shuffle = c.shuffle
			p, err := Assemble(tasks, unrelated, c.K, c.J, c.L, 7, &o)
			if err != nil {
				t.Fatal(err)
			}
			if c.tasks != nil && (!reflect.DeepEqual(p.Tasks, c.tasks) || !reflect.DeepEqual(p.Unrelated, c.unrelated)) {
				t.Fatalf("sources %v / %v, want %v / %v", p.Tasks, p.Unrelated, c.tasks, c.unrelated)
			}
			if len(p.Tasks) != c.K+c.J || len(p.Unrelated) != c.L {
				t.Fatalf("%d task and %d unrelated sources", len(p.Tasks), len(p.Unrelated))
			}
			if len(p.Anchors) != c.K*3 {
				t.Fatalf("%d anchors, want %d", len(p.Anchors), c.K*3)
			}
			for i := 0; i < c.K; i++ {
				seen := map[string]bool{}
				for j, a := range p.Anchors[i*3 : i*3+3] {
					if sourceOf(a) != p.Tasks[i] || seen[a] {
						t.Fatalf("anchor %q of source %s (repeated %v)", a, p.Tasks[i], seen[a])
					}
					seen[a] = true
					if p.Generator[i][j] != a {
						t.Fatalf("anchor %d of %s is %q, M's text %q", j, p.Tasks[i], a, p.Generator[i][j])
					}
				}
			}
			if len(p.Generator) != c.K+c.J+c.L || len(p.HeldOut) != c.K+c.J {
				t.Fatalf("%d generator and %d held-out sources", len(p.Generator), len(p.HeldOut))
			}
			names := append(append([]string(nil), p.Tasks...), p.Unrelated...)
			for i, g := range p.Generator {
				if len(g) != 6 {
					t.Fatalf("M's source %s has %d texts, want 6", names[i], len(g))
				}
				count := map[string]int{}
				for _, x := range g {
					if sourceOf(x) != names[i] {
						t.Fatalf("M's source %s holds %q", names[i], x)
					}
					count[x]++
				}
				// t2 has 3 train texts and u* 5: repeated in order to fill 6.
				switch names[i] {
				case "t2":
					if len(count) != 3 || count[g[0]] != 2 {
						t.Fatalf("t2's texts %v", g)
					}
				case "u0", "u1":
					if len(count) != 5 {
						t.Fatalf("%s's texts %v", names[i], g)
					}
				default:
					if len(count) != 6 {
						t.Fatalf("%s's texts %v", names[i], g)
					}
				}
			}
			for i, h := range p.HeldOut {
				if len(h) != 2 || h[0][1:2] != p.Tasks[i][1:] || h[0] == h[1] {
					t.Fatalf("held-out of %s: %v", p.Tasks[i], h)
				}
			}
		})
	}
}

// Worlds of one seed share the source order, the anchors of every shared
// source and the held-out texts; another seed draws other anchors.
func TestTextlabAssemblePaired(t *testing.T) {
	tasks, unrelated := handSources([]int{20, 20, 20, 20}, 6)
	opt := Default()
	opt.AnchorsPerSource, opt.GeneratorPerSource, opt.HeldOutPerSource = 4, 8, 3
	a, err := Assemble(tasks, unrelated, 1, 1, 1, 3, &opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Assemble(tasks, unrelated, 2, 2, 2, 3, &opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Tasks, b.Tasks[:2]) || !reflect.DeepEqual(a.Anchors, b.Anchors[:4]) ||
		!reflect.DeepEqual(a.HeldOut, b.HeldOut[:2]) || a.Unrelated[0] != b.Unrelated[0] {
		t.Fatalf("worlds of one seed differ: %+v vs %+v", a, b)
	}
	again, _ := Assemble(tasks, unrelated, 1, 1, 1, 3, &opt)
	if !reflect.DeepEqual(a, again) {
		t.Fatal("Assemble is not deterministic")
	}
	differ := false
	for s := uint64(4); s < 10 && !differ; s++ {
		c, err := Assemble(tasks, unrelated, 1, 1, 1, s, &opt)
		if err != nil {
			t.Fatal(err)
		}
		differ = !reflect.DeepEqual(a.Anchors, c.Anchors)
	}
	if !differ {
		t.Fatal("every seed draws the same anchors")
	}
}

func TestTextlabAssembleErrors(t *testing.T) {
	tasks, unrelated := handSources([]int{10, 2, 10}, 4)
	opt := Default()
	opt.AnchorsPerSource, opt.GeneratorPerSource, opt.HeldOutPerSource = 3, 6, 2
	cases := []struct {
		name    string
		K, J, L int
		heldOut int
		want    string
	}{
		{"K zero", 0, 1, 1, 2, "K ≥ 1"},
		{"too many task sources", 2, 2, 0, 2, "4 task sources requested, 3 available"},
		{"too many unrelated", 1, 0, 3, 2, "3 unrelated sources requested, 2 available"},
		{"anchors beyond train", 2, 0, 0, 2, "source t1 has 2 train texts, 3 anchors requested"},
		{"held-out too small", 1, 0, 0, 5, "source t0 has 4 held-out texts, 5 requested"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opt
			o.Shuffle = false
			o.HeldOutPerSource = c.heldOut
			_, err := Assemble(tasks, unrelated, c.K, c.J, c.L, 1, &o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestTextlabTokenBudget(t *testing.T) {
	cases := []struct {
		opt  Options
		want int
	}{
		{Default(), 60 * 8 * 64},
		{Quick(), 6 * 4 * 32},
		{Options{StudentSteps: 3, Batch: 2, SeqLen: 5}, 30},
	}
	for i, c := range cases {
		if got := c.opt.TokenBudget(); got != c.want {
			t.Errorf("case %d: budget %d, want %d", i, got, c.want)
		}
	}
}

func TestTextlabValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"default", func(*Options) {}, ""},
		{"quick", func(o *Options) { *o = Quick() }, ""},
		{"seeds", func(o *Options) { o.Seeds = 0 }, "seeds must be at least 1"},
		{"anchors above generator", func(o *Options) { o.AnchorsPerSource = 200 }, "must be at least the anchors"},
		{"lr", func(o *Options) { o.LR = math.NaN() }, "learning rates"},
		{"prompt", func(o *Options) { o.Prompt = "chat" }, `unknown prompt mode "chat"`},
		{"K zero", func(o *Options) { o.SweepK = []int{0, 1} }, "K must be at least 1"},
		{"L negative", func(o *Options) { o.SweepL = []int{-1} }, "J and L must be at least 0"},
		{"no sweep", func(o *Options) { o.SweepK, o.SweepJ, o.SweepL = nil, nil, nil }, "no sweep"},
		{"seq len", func(o *Options) { o.SeqLen = 1 }, "sequence length"},
		{"temperature", func(o *Options) { o.Temperature = -1 }, "temperature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Default()
			c.edit(&o)
			err := o.Validate()
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// The distinct worlds of the default sweeps: the base world is shared by
// the three sweeps.
func TestTextlabWorldKeys(t *testing.T) {
	o := Default()
	if got, want := len(o.points()), 12; got != want {
		t.Fatalf("%d points, want %d", got, want)
	}
	if got, want := len(o.worldKeys()), 10*o.Seeds; got != want {
		t.Fatalf("%d worlds, want %d", got, want)
	}
}

// The task sources of the shared data, with counts checked by hand: GSM8K
// keeps its files (7,473 / 1,319), the others are split 8:2 (175 → 140/35,
// 252 → 202/50, 80 → 64/16, 427 non-empty outputs → 342/85).
func TestTextlabTaskSources(t *testing.T) {
	srcs, err := TaskSources(filepath.Join(sharedDir(t), "data"), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []SourceInfo{
		{"gsm8k-question", 7473, 1319}, {"self-instruct-seed", 140, 35}, {"self-instruct-user", 202, 50},
		{"mt-bench", 64, 16}, {"gsm8k-answer", 7473, 1319}, {"self-instruct-output", 342, 85},
	}
	if got := infos(srcs); !reflect.DeepEqual(got, want) {
		t.Fatalf("sources %+v, want %+v", got, want)
	}
	for _, s := range srcs {
		for _, x := range append(append([]string(nil), s.Train...), s.HeldOut...) {
			if strings.TrimSpace(x) == "" || s.Name == "gsm8k-answer" && strings.Contains(x, "<<") {
				t.Fatalf("source %s holds %q", s.Name, x)
			}
		}
	}
	if !strings.HasPrefix(srcs[0].Train[0], "Natalia sold clips") || !strings.HasPrefix(srcs[4].Train[0], "Natalia sold 48/2 = 24 clips in May.") {
		t.Fatalf("first GSM8K texts %q / %q", srcs[0].Train[0], srcs[4].Train[0])
	}
}

// The generated unrelated sources: sizes, determinism, correct arithmetic.
func TestTextlabUnrelatedSources(t *testing.T) {
	a, err := UnrelatedSources(nil, 5, 32, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := UnrelatedSources(nil, 5, 32, 9)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("not deterministic")
	}
	if len(a) != 2 || a[0].Name != "arithmetic" || a[1].Name != "letters" || len(a[0].Train) != 5 || len(a[1].Train) != 5 {
		t.Fatalf("sources %+v", infos(a))
	}
	for _, text := range a[0].Train {
		eqs := strings.Split(text, ", ")
		if len(eqs) < 4 || len(eqs) > 8 {
			t.Fatalf("%d equations in %q", len(eqs), text)
		}
		for _, e := range eqs {
			f := strings.Fields(e)
			x, _ := strconv.Atoi(f[0])
			y, _ := strconv.Atoi(f[2])
			z, _ := strconv.Atoi(f[4])
			ok := map[string]bool{"+": x+y == z, "-": x-y == z, "*": x*y == z}[f[1]]
			if len(f) != 5 || f[3] != "=" || !ok {
				t.Fatalf("wrong equation %q", e)
			}
		}
	}
	if _, err := UnrelatedSources(nil, 0, 32, 1); err == nil {
		t.Fatal("no error for 0 texts")
	}
	m := baseModel(t)
	s, err := UnrelatedSources(m, 4, 24, 9)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range s {
		names = append(names, x.Name)
	}
	if !reflect.DeepEqual(names, []string{"stories", "arithmetic", "shuffled-words", "letters"}) {
		t.Fatalf("names %v", names)
	}
	var w1, w2 []string
	for i := range s[0].Train {
		w1 = append(w1, strings.Fields(s[0].Train[i])...)
		w2 = append(w2, strings.Fields(s[2].Train[i])...)
	}
	if len(w1) != len(w2) || reflect.DeepEqual(w1, w2) {
		t.Fatalf("shuffled words are not a permutation of the stories' words")
	}
}

// The held-out loss is the mean over predicted tokens of −log p from the
// engine's own LogProb, texts cut to their first seqLen+1 tokens.
func TestTextlabHeldOutLoss(t *testing.T) {
	m := baseModel(t)
	tok := m.Tokenizer
	cases := []struct {
		texts  []string
		seqLen int
	}{
		{[]string{"Once upon a time there was a cat."}, 64},
		{[]string{"Tom had 3 apples.", "What is the capital of France?", "Lily said hi."}, 64},
		{[]string{"The little dog ran to the park and played with a big red ball all day long."}, 8},
		{[]string{"a", "b c", "Write a poem.", "x", "y", "z", "q", "r", "s", "t"}, 16}, // more than one batch
	}
	for i, c := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			var sum float64
			var n int
			for _, text := range c.texts {
				toks := tok.Encode(text, true, true)
				cont := toks[1:min(len(toks), c.seqLen+1)]
				lp, err := m.LogProbTokens(toks[:1], cont)
				if err != nil {
					t.Fatal(err)
				}
				sum -= lp.Sum
				n += len(cont)
			}
			loss, tokens, err := HeldOutLoss(m, c.texts, c.seqLen)
			if err != nil {
				t.Fatal(err)
			}
			if tokens != n || math.Abs(loss-sum/float64(n)) > 1e-4 {
				t.Fatalf("loss %.6f over %d tokens, LogProb gives %.6f over %d", loss, tokens, sum/float64(n), n)
			}
		})
	}
	if l, n, err := HeldOutLoss(m, nil, 8); err != nil || n != 0 || !math.IsNaN(l) {
		t.Fatalf("empty set: %v %d %v", l, n, err)
	}
	if _, _, err := HeldOutLoss(m, []string{"a"}, 10000); err == nil {
		t.Fatal("no error for a sequence beyond the context")
	}
}

func TestTextlabFloatJSON(t *testing.T) {
	for _, v := range []float64{0, -1.5, 3e-9, math.NaN(), math.Inf(1)} {
		b, err := json.Marshal(Float(v))
		if err != nil {
			t.Fatal(err)
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		want := v
		if math.IsInf(v, 0) {
			want = math.NaN()
		}
		if !(float64(back) == want || math.IsNaN(want) && math.IsNaN(float64(back))) {
			t.Fatalf("%v → %s → %v", v, b, back)
		}
	}
}

// The quick preset end to end on the shared data: within 30 s, equal
// results for equal seeds whatever the number of workers, every world
// complete, JSON and Markdown written.
func TestTextlabQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	opt := Quick()
	opt.SharedDir = sharedDir(t)
	opt.Workers = 2
	t0 := time.Now()
	a, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("quick run took %v (budget 30 s)", d)
	}
	opt.Workers = 1
	b, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Seconds, b.Seconds, a.Workers, b.Workers, a.Options.Workers, b.Options.Workers = 0, 0, 0, 0, 0, 0
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatal("two runs with the same seed differ")
	}
	if len(a.Points) != 6 || a.Worlds != 4 || len(a.Trends) != 9 {
		t.Fatalf("%d points, %d worlds, %d trends", len(a.Points), a.Worlds, len(a.Trends))
	}
	for _, p := range a.Points {
		for _, w := range p.Worlds {
			if math.IsNaN(float64(w.Gap)) || w.GenTexts != opt.Synthetic || len(w.PerSource) != w.K+w.J ||
				math.Abs(float64(w.Gap-(w.LossAnchor-w.LossGen))) > 1e-12 {
				t.Fatalf("world %+v", w)
			}
			if (w.J == 0) != math.IsNaN(float64(w.GapJ)) {
				t.Fatalf("gap_J %v with J %d", w.GapJ, w.J)
			}
		}
	}
	var back Result
	if err := json.Unmarshal(ja, &back); err != nil {
		t.Fatalf("result does not read back: %v", err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, a, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Text lab", "### Trends", "| gap | K | ↓ |", "| gap | J | ↑ |", "| gap | L | ↓ |", "Sign: gap = held-out loss"} {
		if !strings.Contains(md.String(), s) {
			t.Fatalf("report lacks %q:\n%s", s, md.String())
		}
	}
	if strings.Contains(md.String(), "Next to the GMM lab") {
		t.Error("comparison written without a GMM lab run")
	}
	// Next to a GMM lab run: one row per sweep, the lab's verdicts and
	// slopes in the columns it has (here the exact estimator only).
	lab := &sim.Summary{Rounds: 100, Seed: 1, Config: sim.Config{Dim: 2}, Trends: []sim.Trend{
		{Sweep: "K", Column: "gap_mc_gt-model", Slope: -3.682, SlopeCI: [2]float64{-4.771, -2.717}, Verdict: "holds"},
		{Sweep: "J", Column: "gap_mc_gt-model", Slope: 0.449, SlopeCI: [2]float64{-5.974, 6.644}, Verdict: "inconclusive"},
		{Sweep: "K", Column: "gap_mc_model-gt", Slope: 0.579, SlopeCI: [2]float64{0.489, 0.676}, Verdict: "reversed"},
		{Sweep: "K", Column: "delta_h", Slope: 1, Verdict: "no claim"},
	}}
	md.Reset()
	if err := WriteMarkdown(&md, a, lab); err != nil {
		t.Fatal(err)
	}
	var k Trend
	for _, tr := range a.Trends {
		if tr.Sweep == "K" && tr.Column == "gap" {
			k = tr
		}
	}
	wantK := fmt.Sprintf("| K | ↓ | %s %s %s | holds -3.682 [-4.771, -2.717] | reversed +0.579 [+0.489, +0.676] |",
		k.Verdict, num(k.Slope), interval(k.SlopeCI))
	for _, s := range []string{"### Next to the GMM lab", "100 rounds per value, dimension 2, seed 1", wantK,
		"| inconclusive +0.449 [-5.974, +6.644] | – |", "GMM lab, exact KL, gt-model", "GMM lab, exact KL, model-gt (the paper's) |\n"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("comparison lacks %q:\n%s", s, md.String())
		}
	}
	if strings.Contains(md.String(), "reference histogram") {
		t.Error("a column the lab run does not have is shown")
	}
}

func TestTextlabRunErrors(t *testing.T) {
	ctx := context.Background()
	o := Quick()
	o.Seeds = 0
	if _, err := Run(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "seeds") {
		t.Fatalf("error %v", err)
	}
	o = Quick()
	o.SharedDir = t.TempDir()
	if _, err := Run(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "base model") {
		t.Fatalf("error %v", err)
	}
	o = Quick()
	o.SharedDir = sharedDir(t)
	o.SweepK = []int{9}
	if _, err := Run(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "task sources requested") {
		t.Fatalf("error %v", err)
	}
	o = Quick()
	o.SharedDir = sharedDir(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Run(cctx, o, nil); err == nil {
		t.Fatal("no error from a cancelled run")
	}
}
