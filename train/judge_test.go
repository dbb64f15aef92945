package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

func TestParseRating(t *testing.T) {
	cases := []struct {
		reply  string
		rating float64
		reason string
	}{
		{"Good answer. [[7]]", 7, ""},
		{"Close to the reference. [[7.5]]", 7.5, ""},
		{"Explanation...\nRating: [[8]]", 8, ""},
		{"Rating: [[ 10 ]]", 10, ""},
		{"It says [[3]] at first, but on reflection: [[6]]", 6, ""},
		{"Score [9] overall", 9, ""},
		{"Rating: 4/10", 4, ""},
		{"rating = 2", 2, ""},
		{"", math.NaN(), FailEmpty},
		{"   \n", math.NaN(), FailEmpty},
		{"The answer is fine.", math.NaN(), FailNoRating},
		{"Rating: [[seven]]", math.NaN(), FailNotNumber},
		{"Rating: [[rating]]", math.NaN(), FailNotNumber},
		{"Rating: [[0]]", math.NaN(), FailOutOfRange},
		{"Rating: [[11]]", math.NaN(), FailOutOfRange},
		{"Rating: [[-3]]", math.NaN(), FailOutOfRange},
	}
	for _, c := range cases {
		got, reason := ParseRating(c.reply)
		if reason != c.reason || (reason == "" && got != c.rating) || (reason != "" && !math.IsNaN(got)) {
			t.Errorf("ParseRating(%q) = %v, %q; want %v, %q", c.reply, got, reason, c.rating, c.reason)
		}
	}
}

func TestParseJSONRating(t *testing.T) {
	cases := []struct {
		reply  string
		rating float64
		expl   string
		reason string
	}{
		{`{"explanation": "Matches the reference.", "rating": 9}`, 9, "Matches the reference.", ""},
		{` {"explanation":"x","rating":1} `, 1, "x", ""},
		{`{"explanation": "cut off`, math.NaN(), "", FailInvalidJSON},
		{`{"explanation": "no rating"}`, math.NaN(), "", FailInvalidJSON},
		{`{"explanation": "high", "rating": 12}`, math.NaN(), "high", FailOutOfRange},
		{`Plain text instead. Rating: [[6]]`, 6, "Plain text instead. Rating: [[6]]", ""},
		{`Plain text without one`, math.NaN(), "", FailInvalidJSON},
		{``, math.NaN(), "", FailEmpty},
	}
	for _, c := range cases {
		got, expl, reason := ParseJSONRating(c.reply)
		if reason != c.reason || expl != c.expl || (reason == "" && got != c.rating) || (reason != "" && !math.IsNaN(got)) {
			t.Errorf("ParseJSONRating(%q) = %v, %q, %q; want %v, %q, %q", c.reply, got, expl, reason, c.rating, c.expl, c.reason)
		}
	}
}

// Softmax against a hand-computed example: mean ratings 5, 6, 7 give
// e^5/(e^5+e^6+e^7) = 1/(1+e+e²) = 0.090031, then 0.244728 and 0.665241.
func TestSoftmax(t *testing.T) {
	got := Softmax([]float64{5, 6, 7})
	want := []float64{0.09003057, 0.24472847, 0.66524096}
	for i := range want {
		if !near(got[i], want[i], 1e-8) {
			t.Fatalf("softmax %v, want %v", got, want)
		}
	}
	// Shifts do not matter, large values do not overflow, NaN takes no share.
	got = Softmax([]float64{1005, math.NaN(), 1006, 1007})
	if !near(got[0], want[0], 1e-8) || !math.IsNaN(got[1]) || !near(got[3], want[2], 1e-8) {
		t.Fatalf("softmax with NaN and large values %v", got)
	}
	// Table 1 is a softmax: the paper's normalised ratings are recovered
	// from their logarithms (mean ratings up to a common constant).
	paper := []float64{0.1409, 0.1863, 0.1965, 0.2015, 0.2745}
	logs := make([]float64, len(paper))
	for i, p := range paper {
		logs[i] = math.Log(p) + 6
	}
	for i, p := range Softmax(logs) {
		if !near(p, paper[i], 2e-4) {
			t.Fatalf("Table 1 not reproduced: %v", Softmax(logs))
		}
	}
}

// The rating table against hand-computed numbers: Base rates 4 and 6
// (mean 5), FT rates 6, 8 and a failure (mean 7). Softmax of (5, 7):
// 1/(1+e²) = 0.119203 and 0.880797. Per category: on "qa" Base 4, FT 6
// → the same split as 5 vs 7 (0.119203); on "story" Base 6, FT 8 → also
// 0.119203 / 0.880797.
func TestBuildRatingTable(t *testing.T) {
	vs := []Verdict{
		{Config: "Base", Group: "qa", Rating: 4},
		{Config: "Base", Group: "story", Rating: 6},
		{Config: "FT", Group: "qa", Rating: 6},
		{Config: "FT", Group: "story", Rating: 8},
		{Config: "FT", Group: "story", Rating: math.NaN(), Failure: FailNoRating},
		{Config: "Other", Group: "qa", Rating: 10},
	}
	tab := BuildRatingTable(vs, []string{"Base", "FT"})
	if strings.Join(tab.Groups, ",") != "all,qa,story" || strings.Join(tab.Configs, ",") != "Base,FT" {
		t.Fatalf("rows %v columns %v", tab.Groups, tab.Configs)
	}
	if tab.Mean[0][0].Mean != 5 || tab.Mean[0][1].Mean != 7 || tab.Mean[0][1].N != 2 || tab.Failed[0][1] != 1 || tab.Failed[2][1] != 1 {
		t.Fatalf("means %+v failed %v", tab.Mean, tab.Failed)
	}
	// Base over all items: {4, 6}: std √2, half-width 12.706205·√2/√2.
	if !near(tab.Mean[0][0].Hi-5, 12.706205, 1e-5) {
		t.Fatalf("interval %+v", tab.Mean[0][0])
	}
	for g := range tab.Groups {
		if !near(tab.Softmax[g][0], 0.119203, 1e-6) || !near(tab.Softmax[g][1], 0.880797, 1e-6) {
			t.Fatalf("row %s softmax %v", tab.Groups[g], tab.Softmax[g])
		}
	}
	// Without a column list, every configuration in order of appearance;
	// a configuration without ratings on a row is NaN there.
	tab = BuildRatingTable(append(vs, Verdict{Config: "Empty", Group: "qa", Rating: math.NaN(), Failure: FailEmpty}), nil)
	if strings.Join(tab.Configs, ",") != "Base,FT,Other,Empty" || !math.IsNaN(tab.Softmax[0][3]) {
		t.Fatalf("columns %v softmax %v", tab.Configs, tab.Softmax[0])
	}
	if _, err := json.Marshal(tab); err != nil {
		t.Fatal(err)
	}
}

// fakeJudge answers from a function of the prompt and counts requests; it
// rejects response formats when rejectFormat is set, as endpoints without
// structured output do.
type fakeJudge struct {
	mu           sync.Mutex
	rejectFormat bool
	reply        func(prompt string, structured bool) string
	requests     int
	formats      int
}

func (f *fakeJudge) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	f.mu.Lock()
	f.requests++
	if req.Format != nil {
		f.formats++
	}
	f.mu.Unlock()
	if req.Format != nil && f.rejectFormat {
		return llm.Response{}, &llm.RequestError{Kind: llm.ErrInvalidRequest, Param: "response_format", Message: "json_schema is not supported"}
	}
	prompt := req.Messages[0].Content
	if strings.Contains(prompt, "TOO LONG") {
		return llm.Response{}, &llm.RequestError{Kind: llm.ErrContextLength, Param: "messages", Message: "too long"}
	}
	if strings.Contains(prompt, "BROKEN") {
		return llm.Response{}, errors.New("connection reset")
	}
	return llm.Response{Choices: []llm.Choice{{Text: f.reply(prompt, req.Format != nil)}}}, nil
}

func (f *fakeJudge) Embed(context.Context, llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{}, errors.New("no embeddings")
}

func (f *fakeJudge) Models() []string { return []string{"fake-judge"} }

// textReply rates by the answer's content, as a judge that follows the
// text format (and ignores any schema) would.
func textReply(prompt string, _ bool) string {
	switch {
	case strings.Contains(prompt, "GOOD"):
		return "Matches the reference closely.\nRating: [[9]]"
	case strings.Contains(prompt, "HALF"):
		return "Partly right. [[5.5]]"
	case strings.Contains(prompt, "SILENT"):
		return "I cannot decide."
	}
	return "Wrong. [[2]]"
}

func judgeItems() []JudgeItem {
	return []JudgeItem{
		{ID: "1", Config: "FT", Group: "qa", Instruction: "Q1", Reference: "R1", Answer: "GOOD"},
		{ID: "2", Config: "FT", Group: "qa", Instruction: "Q2", Reference: "R2", Answer: "HALF"},
		{ID: "3", Config: "Base", Group: "qa", Instruction: "Q3", Reference: "R3", Answer: "bad"},
		{ID: "4", Config: "Base", Group: "qa", Instruction: "Q4", Reference: "R4", Answer: "SILENT"},
		{ID: "5", Config: "Base", Group: "qa", Instruction: "Q5", Context: "TOO LONG", Reference: "R5", Answer: "x"},
	}
}

// The text path: ratings parsed from the replies, failures counted by
// reason, results in item order whatever the number of workers.
func TestJudgeTextPath(t *testing.T) {
	for _, workers := range []int{1, 3} {
		f := &fakeJudge{reply: textReply}
		j := &Judge{Backend: f, Workers: workers}
		vs, st, err := j.Rate(context.Background(), judgeItems())
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{9, 5.5, 2, math.NaN(), math.NaN()}
		for i, v := range vs {
			if v.ID != judgeItems()[i].ID || (v.Failure == "" && v.Rating != want[i]) || (v.Failure != "") != math.IsNaN(want[i]) || v.Structured {
				t.Fatalf("workers %d: verdict %d %+v", workers, i, v)
			}
		}
		if st.Rated != 3 || st.Failures[FailNoRating] != 1 || st.Failures[FailTooLong] != 1 || st.Text != 4 || f.formats != 0 {
			t.Fatalf("stats %+v, %d formats", st, f.formats)
		}
		if !strings.Contains(vs[0].Explanation, "Matches") {
			t.Fatalf("explanation %q", vs[0].Explanation)
		}
	}
	tab := BuildRatingTable(func() []Verdict {
		vs, _, _ := (&Judge{Backend: &fakeJudge{reply: textReply}}).Rate(context.Background(), judgeItems())
		return vs
	}(), nil)
	// FT: mean(9, 5.5) = 7.25; Base: 2 (two failures).
	if tab.Mean[0][0].Mean != 7.25 || tab.Mean[0][1].Mean != 2 || tab.Failed[0][1] != 2 {
		t.Fatalf("table %+v", tab)
	}
}

// A backend that rejects the schema is asked again for text, once
// switched for good; the prompt asks for the text format then.
func TestJudgeSchemaFallback(t *testing.T) {
	f := &fakeJudge{rejectFormat: true, reply: func(prompt string, structured bool) string {
		if structured || !strings.Contains(prompt, "[[rating]]") {
			return "wrong mode"
		}
		return textReply(prompt, structured)
	}}
	items := judgeItems()[:3]
	vs, st, err := (&Judge{Backend: f, Schema: true}).Rate(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rated != 3 || st.Fallback == "" || st.Text != 3 || st.Structured != 0 || f.formats != 1 {
		t.Fatalf("stats %+v, %d schema requests", st, f.formats)
	}
	if vs[0].Rating != 9 || vs[0].Structured {
		t.Fatalf("verdict %+v", vs[0])
	}
	// A backend that honours the schema: structured replies.
	g := &fakeJudge{reply: func(_ string, structured bool) string {
		if !structured {
			return "wrong mode"
		}
		return `{"explanation": "ok", "rating": 8}`
	}}
	vs, st, err = (&Judge{Backend: g, Schema: true}).Rate(context.Background(), items)
	if err != nil || st.Rated != 3 || st.Structured != 3 || vs[2].Rating != 8 || vs[2].Explanation != "ok" {
		t.Fatalf("structured %+v %+v %v", vs, st, err)
	}
	// Other backend errors stop the run.
	bad := append(judgeItems()[:1], JudgeItem{ID: "b", Answer: "BROKEN"})
	if _, _, err := (&Judge{Backend: &fakeJudge{reply: textReply}}).Rate(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("backend error: %v", err)
	}
	if _, _, err := (&Judge{}).Rate(context.Background(), items); err == nil {
		t.Fatal("judge without backend accepted")
	}
}

func TestJudgeSchemaCompiles(t *testing.T) {
	f := &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: JudgeSchema(80)}
	if _, err := f.Compile(); err != nil {
		t.Fatal(err)
	}
	p := RenderJudgePrompt("", JudgeItem{Instruction: "I", Reference: "R", Answer: "A"}, false)
	for _, want := range []string{"[Question]\nI\n", "[Context]\n(none)\n", "[Reference Answer]\nR\n", "[Assistant's Answer]\nA", "[[rating]]"} {
		if !strings.Contains(p, want) {
			t.Fatalf("prompt lacks %q:\n%s", want, p)
		}
	}
}

// End to end on the real model: stories260K judges under the JSON schema
// through the built-in backend, and every reply parses into a rating.
func TestJudgeBuiltinSchema(t *testing.T) {
	m := stories260K(t)
	b, err := llm.NewBuiltin(m, llm.BuiltinOptions{Name: "stories260K", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var items []JudgeItem
	for i, r := range storyRecords(6, 0) {
		it := itemOf(r, []string{"Base", "FT"}[i%2], "category")
		it.Answer = "Once upon a time there was a little dog."
		items = append(items, it)
	}
	j := &Judge{Backend: b, Schema: true, MaxExplanation: 80, MaxTokens: 150, Temperature: 0.8, Seed: 3, Workers: 2}
	vs, st, err := j.Rate(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rated != len(items) || st.Structured != len(items) || st.Fallback != "" {
		t.Fatalf("stats %+v", st)
	}
	for _, v := range vs {
		if v.Failure != "" || v.Rating < 1 || v.Rating > 10 || v.Rating != math.Trunc(v.Rating) {
			t.Fatalf("verdict %+v", v)
		}
		t.Logf("%s %s: %v %q", v.Config, v.ID, v.Rating, v.Raw)
	}
	tab := BuildRatingTable(vs, []string{"Base", "FT"})
	if s := tab.Softmax[0][0] + tab.Softmax[0][1]; !near(s, 1, 1e-12) {
		t.Fatalf("softmax row sums to %v", s)
	}
	// The same judge reproduces its verdicts.
	again, _, err := j.Rate(context.Background(), items[:2])
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Raw != vs[i].Raw {
			t.Fatalf("item %d: %q then %q", i, vs[i].Raw, again[i].Raw)
		}
	}
}

// windowJudge is a judge backend with a small context window that counts
// tokens as 4 bytes each and, like the built-in engine, refuses requests
// whose prompt plus MaxTokens exceed the window. It records the prompts.
type windowJudge struct {
	fakeJudge
	window  int
	prompts map[string]string // item reference → prompt sent
}

func (w *windowJudge) ContextLength() int { return w.window }

func (w *windowJudge) CountTokens(req llm.Request) (int, error) {
	n := 1 // BOS
	for _, m := range req.Messages {
		n += (len(m.Content) + 3) / 4
	}
	if n+max(req.MaxTokens, 1) > w.window {
		return 0, &llm.RequestError{Kind: llm.ErrContextLength, Param: "messages", Message: "too long"}
	}
	return n, nil
}

func (w *windowJudge) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if _, err := w.CountTokens(req); err != nil {
		return llm.Response{}, err
	}
	w.mu.Lock()
	if w.prompts == nil {
		w.prompts = map[string]string{}
	}
	p := req.Messages[0].Content
	for _, ref := range []string{"REF-A", "REF-B", "REF-C"} {
		if strings.Contains(p, ref) {
			w.prompts[ref] = p
		}
	}
	w.mu.Unlock()
	return w.fakeJudge.Generate(ctx, req)
}

// wrapped hides a backend's methods behind Unwrap, as llm.Cached does.
type wrapped struct{ llm.Backend }

func (w wrapped) Unwrap() llm.Backend { return w.Backend }

// prose returns n bytes of seeded words.
func prose(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "w%d ", rng.IntN(1000))
	}
	return strings.TrimSpace(b.String()[:n])
}

// Prompts too long for the judge's window are shortened, longest field
// first, with the marker, until they fit; only an item that cannot fit at
// all fails, and without truncation the long items fail.
func TestJudgeTruncatesToWindow(t *testing.T) {
	long := prose(1, 6000)
	cases := []struct {
		name       string
		window     int
		maxTokens  int
		noTruncate bool
		unknown    bool // the backend does not tell its window
		item       JudgeItem
		truncated  bool
		compact    bool
		failure    string
		clipped    []string // fields that must end in the marker
		whole      []string // fields that must be sent whole
	}{
		{name: "fits", window: 1000, maxTokens: 100,
			item:  JudgeItem{Instruction: "Name a colour.", Reference: "REF-A blue", Answer: "GOOD red"},
			whole: []string{"Name a colour.", "REF-A blue", "GOOD red"}},
		{name: "long answer", window: 1000, maxTokens: 100,
			item:      JudgeItem{Instruction: "Tell a story.", Reference: "REF-A short story", Answer: "GOOD " + long},
			truncated: true, clipped: []string{"GOOD w"}, whole: []string{"Tell a story.", "REF-A short story"}},
		{name: "long reference and answer", window: 1000, maxTokens: 100,
			item:      JudgeItem{Instruction: "Q", Context: prose(2, 300), Reference: "REF-B " + prose(3, 4000), Answer: "HALF " + long},
			truncated: true, clipped: []string{"REF-B w", "HALF w"}},
		{name: "small window, compact prompt", window: 300, maxTokens: 50,
			item:      JudgeItem{Instruction: prose(4, 500), Reference: "REF-C " + prose(5, 800), Answer: "GOOD " + long},
			truncated: true, compact: true, clipped: []string{"REF-C w", "GOOD w"}},
		{name: "template too long", window: 40, maxTokens: 10,
			item:    JudgeItem{Instruction: "Q", Reference: "REF-A", Answer: "GOOD"},
			compact: true, failure: FailTooLong},
		{name: "truncation off", window: 1000, maxTokens: 100, noTruncate: true,
			item:    JudgeItem{Instruction: "Q", Reference: "REF-A", Answer: "GOOD " + long},
			failure: FailTooLong},
		{name: "window unknown", window: 1000, maxTokens: 100, unknown: true,
			item:    JudgeItem{Instruction: "Q", Reference: "REF-A", Answer: "GOOD " + long},
			failure: FailTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &windowJudge{fakeJudge: fakeJudge{reply: textReply}, window: c.window}
			var b llm.Backend = wrapped{w}
			if c.unknown {
				b = &fakeJudgeOnly{w}
			}
			j := &Judge{Backend: b, MaxTokens: c.maxTokens, NoTruncate: c.noTruncate, Seed: 7, Workers: 2}
			items := []JudgeItem{c.item, {ID: "short", Instruction: "Q2", Reference: "R2", Answer: "bad"}}
			items[0].ID = "x"
			vs, st, err := j.Rate(context.Background(), items)
			if err != nil {
				t.Fatal(err)
			}
			v := vs[0]
			if v.Failure != c.failure || v.Truncated != c.truncated {
				t.Fatalf("verdict %+v, want failure %q, truncated %v", v, c.failure, c.truncated)
			}
			if c.name == "template too long" {
				if st.Failures[FailTooLong] != 2 || st.Truncated != 0 || st.Compact != 0 {
					t.Fatalf("stats %+v, want every item too long", st)
				}
				return
			}
			wantTrunc, wantFail := 0, 0
			if c.truncated {
				wantTrunc = 1
			}
			if c.failure != "" {
				wantFail = 1
			}
			wantCompact := 0
			if c.compact {
				wantCompact = 2 - wantFail
			}
			if st.Truncated != wantTrunc || st.Failures[FailTooLong] != wantFail || st.Rated != 2-wantFail || st.Compact != wantCompact {
				t.Fatalf("stats %+v, want %d truncated, %d too long, %d compact", st, wantTrunc, wantFail, wantCompact)
			}
			if vs[1].Truncated || vs[1].Failure != "" || vs[1].Rating != 2 {
				t.Fatalf("the short item %+v", vs[1])
			}
			if c.failure != "" {
				return
			}
			var p string
			for _, ref := range []string{"REF-A", "REF-B", "REF-C"} {
				if strings.Contains(c.item.Reference, ref) {
					p = w.prompts[ref]
				}
			}
			if n, err := w.CountTokens(llm.Request{MaxTokens: c.maxTokens, Messages: []llm.Message{{Content: p}}}); err != nil || n == 0 {
				t.Fatalf("the prompt sent does not fit (%d tokens, %v):\n%s", n, err, p)
			}
			if got := strings.Contains(p, TruncationMarker); got != c.truncated {
				t.Errorf("marker present %v, want %v", got, c.truncated)
			}
			if got := strings.HasPrefix(p, "Judge the answer against"); got != c.compact {
				t.Errorf("compact prompt %v, want %v:\n%s", got, c.compact, p)
			}
			if !strings.Contains(p, "[[rating]]") {
				t.Errorf("the prompt lost its rating format:\n%s", p)
			}
			for _, f := range c.clipped {
				i := strings.Index(p, f)
				if i < 0 {
					t.Fatalf("prompt lacks %q:\n%s", f, p)
				}
				rest := p[i:]
				if end := strings.Index(rest, "\n"); end >= 0 {
					rest = rest[:end]
				}
				if !strings.HasSuffix(rest, TruncationMarker) {
					t.Errorf("field %q… does not end in the marker: %q", f, rest)
				}
			}
			for _, f := range c.whole {
				if !strings.Contains(p, f+"\n") && !strings.HasSuffix(p, f) {
					t.Errorf("field %q not sent whole:\n%s", f, p)
				}
			}
		})
	}
}

// fakeJudgeOnly exposes only the Backend methods of a windowJudge: a
// backend that cannot tell its window nor count tokens.
type fakeJudgeOnly struct{ w *windowJudge }

func (f *fakeJudgeOnly) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	return f.w.Generate(ctx, req)
}
func (f *fakeJudgeOnly) Embed(ctx context.Context, r llm.EmbedRequest) (llm.EmbedResponse, error) {
	return f.w.Embed(ctx, r)
}
func (f *fakeJudgeOnly) Models() []string { return f.w.Models() }

// Longest first: the two long fields are cut to the same length while the
// short ones stay whole, and the cap is the largest that fits.
func TestFitItemLongestFirst(t *testing.T) {
	w := &windowJudge{window: 500}
	fit := llm.WindowOf(w, 0, 0)
	it := JudgeItem{Instruction: "short question", Reference: prose(8, 3000), Answer: prose(9, 5000)}
	build := func(it JudgeItem) llm.Request {
		return llm.Request{MaxTokens: 100, Messages: []llm.Message{{Content: RenderJudgePrompt("", it, false)}}}
	}
	got, truncated, ok := fitItem(fit, it, build)
	if !ok || !truncated || !fit.Fits(build(got)) {
		t.Fatalf("fitItem: ok %v truncated %v", ok, truncated)
	}
	if got.Instruction != it.Instruction {
		t.Errorf("the short field was cut: %q", got.Instruction)
	}
	r, a := len([]rune(got.Reference)), len([]rune(got.Answer))
	if r < 100 || a-r > 20 || r-a > 20 {
		t.Errorf("reference %d and answer %d runes: want both long fields cut to about the same length", r, a)
	}
	// One character more would not fit.
	lim := max(r, a) - len([]rune(TruncationMarker))
	if bigger, _ := clipItem(it, lim+6); fit.Fits(build(bigger)) {
		t.Errorf("a longer cap (%d) fits too: the cap is not the largest", lim+6)
	}
}

func TestClipField(t *testing.T) {
	cases := []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"one two three four five", 9, "one two" + TruncationMarker, true},
		{"abcdefghijklmnop", 5, "abcde" + TruncationMarker, true},
		{"héllo wörld ünïcode", 9, "héllo wör" + TruncationMarker, true},
		{"日本語のテキストです", 4, "日本語の" + TruncationMarker, true},
		{"anything", 0, TruncationMarker, true},
		{"", 0, "", false},
	}
	for _, c := range cases {
		got, cut := clipField(c.in, c.limit)
		if got != c.want || cut != c.cut {
			t.Errorf("clipField(%q, %d) = %q, %v; want %q, %v", c.in, c.limit, got, cut, c.want, c.cut)
		}
	}
}
