package llm

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
)

// loadModel is the shared stories260K model (the test skips without ../shared).
func loadModel(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

func newBuiltin(t testing.TB, workers int) *Builtin {
	t.Helper()
	b, err := NewBuiltin(loadModel(t), BuiltinOptions{Name: "stories", Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func seed(s uint64) *uint64 { return &s }

// TestGenerateMatchesEngine checks that the scheduler's own loop produces
// exactly what llama.Model.Generate produces for the same options.
func TestGenerateMatchesEngine(t *testing.T) {
	m := loadModel(t)
	b := newBuiltin(t, 2)
	cases := []struct {
		name   string
		prompt string
		temp   float64
		topP   float64
		max    int
		stop   []string
		seed   uint64
	}{
		{"greedy", "Once upon a time", 0, 0, 60, nil, 1},
		{"sampled", "Lily went to the park", 0.9, 0.9, 80, nil, 7},
		{"hot", "The cat", 1.5, 0, 50, nil, 3},
		{"stop", "Once upon a time", 0, 0, 100, []string{"Lily"}, 1},
		{"until-eos", "Tom had a ball.", 0.8, 0, 0, nil, 11},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := m.Generate(c.prompt, llama.GenerateOptions{
				SampleOptions: llama.SampleOptions{Temperature: float32(c.temp), TopP: float32(c.topP), Seed: c.seed},
				MaxTokens:     c.max, Stop: c.stop,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.Generate(context.Background(), Request{Prompt: c.prompt, Temperature: c.temp, TopP: c.topP,
				MaxTokens: c.max, Stop: c.stop, Seed: seed(c.seed)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Text != want.Text {
				t.Fatalf("text %q, engine %q", got.Choices[0].Text, want.Text)
			}
			wantFinish := FinishStop
			if want.FinishReason == llama.FinishLength {
				wantFinish = FinishLength
			}
			if got.Choices[0].FinishReason != wantFinish {
				t.Errorf("finish %q, engine %q", got.Choices[0].FinishReason, want.FinishReason)
			}
			if got.Usage.PromptTokens != len(want.Prompt) || got.Usage.CompletionTokens != len(want.Tokens) {
				t.Errorf("usage %+v, engine %d prompt and %d generated tokens", got.Usage, len(want.Prompt), len(want.Tokens))
			}
		})
	}
}

// TestStreamingDeltas checks that the deltas of every choice add up to its
// final text, that the last one carries the finish reason, and that stop
// strings never leak into the stream.
func TestStreamingDeltas(t *testing.T) {
	b := newBuiltin(t, 2)
	cases := []struct {
		name   string
		req    Request
		finish string // expected finish reason of choice 0, if any
	}{
		{"plain", Request{Prompt: "Once upon a time", MaxTokens: 40, Seed: seed(1)}, FinishLength},
		{"stop", Request{Prompt: "Once upon a time", MaxTokens: 100, Stop: []string{"girl named Lily", "park."}, Seed: seed(1)}, FinishStop},
		{"n3-sampled", Request{Prompt: "The dog", MaxTokens: 30, N: 3, Temperature: 1, Seed: seed(5), LogProbs: true}, ""},
		{"chat", Request{Messages: []Message{{RoleUser, "Tell me a story."}}, MaxTokens: 60, Temperature: 0.7, Seed: seed(2)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := max(c.req.N, 1)
			texts := make([]strings.Builder, n)
			lps := make([]int, n)
			finish := make([]string, n)
			req := c.req
			req.OnDelta = func(d Delta) error {
				if finish[d.Index] != "" {
					t.Errorf("choice %d: delta after its finish", d.Index)
				}
				texts[d.Index].WriteString(d.Text)
				lps[d.Index] += len(d.LogProbs)
				finish[d.Index] = d.FinishReason
				return nil
			}
			streamed, err := b.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := b.Generate(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			if c.finish != "" && plain.Choices[0].FinishReason != c.finish {
				t.Fatalf("finish %q, want %q (text %q)", plain.Choices[0].FinishReason, c.finish, plain.Choices[0].Text)
			}
			for i, ch := range streamed.Choices {
				if texts[i].String() != ch.Text || finish[i] != ch.FinishReason {
					t.Errorf("choice %d: deltas %q (%s), final %q (%s)", i, texts[i].String(), finish[i], ch.Text, ch.FinishReason)
				}
				if ch.Text != plain.Choices[i].Text {
					t.Errorf("choice %d: streamed %q, not streamed %q", i, ch.Text, plain.Choices[i].Text)
				}
				if lps[i] != len(ch.LogProbs) {
					t.Errorf("choice %d: %d streamed log-probs, %d final", i, lps[i], len(ch.LogProbs))
				}
				for _, s := range req.Stop {
					if strings.Contains(texts[i].String(), s) {
						t.Errorf("choice %d: stop %q streamed", i, s)
					}
				}
			}
		})
	}
}

// TestSeedIndependentOfConcurrency runs the same seeded requests one by one
// on one worker and all at once on two workers.
func TestSeedIndependentOfConcurrency(t *testing.T) {
	seq := newBuiltin(t, 1)
	par := newBuiltin(t, 2)
	prompts := []string{"Once upon a time", "The little bird", "Tim and Sue", "A big red ball", "The sun was hot", "Mom said"}
	reqs := make([]Request, len(prompts))
	for i, p := range prompts {
		reqs[i] = Request{Prompt: p, N: 2, Temperature: 0.8, TopP: 0.95, MaxTokens: 40, Seed: seed(uint64(100 + i))}
	}
	want := make([]Response, len(reqs))
	for i, r := range reqs {
		var err error
		if want[i], err = seq.Generate(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]Response, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = par.Generate(context.Background(), r) }()
	}
	wg.Wait()
	for i := range reqs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for j := range want[i].Choices {
			if got[i].Choices[j].Text != want[i].Choices[j].Text {
				t.Errorf("request %d choice %d: concurrent %q, sequential %q", i, j, got[i].Choices[j].Text, want[i].Choices[j].Text)
			}
		}
		if want[i].Choices[0].Text == want[i].Choices[1].Text {
			t.Errorf("request %d: both sampled choices are %q", i, want[i].Choices[0].Text)
		}
	}
}

// TestLogProbsMatchEngine compares streamed log-probabilities with
// llama.Model.LogProbTokens on the generated tokens.
func TestLogProbsMatchEngine(t *testing.T) {
	m := loadModel(t)
	b := newBuiltin(t, 1)
	res, err := b.Generate(context.Background(), Request{Prompt: "Once upon a time", MaxTokens: 20, Temperature: 1, Seed: seed(9), TopLogProbs: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Choices[0]
	g, err := m.Generate("Once upon a time", llama.GenerateOptions{SampleOptions: llama.SampleOptions{Temperature: 1, Seed: 9}, MaxTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := m.LogProbTokens(g.Prompt, g.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.LogProbs) != len(ref.PerToken) {
		t.Fatalf("%d log-probs, want %d", len(c.LogProbs), len(ref.PerToken))
	}
	var text strings.Builder
	for i, lp := range c.LogProbs {
		if math.Abs(lp.LogProb-ref.PerToken[i]) > 1e-4 || lp.LogProb > 0 {
			t.Errorf("token %d: log-prob %g, engine %g", i, lp.LogProb, ref.PerToken[i])
		}
		if len(lp.Top) != 3 || lp.Top[0].LogProb < lp.Top[1].LogProb || lp.Top[1].LogProb < lp.Top[2].LogProb || lp.Top[0].LogProb < lp.LogProb {
			t.Errorf("token %d: top %+v for log-prob %g", i, lp.Top, lp.LogProb)
		}
		text.WriteString(lp.Token)
	}
	if text.String() != c.Text {
		t.Errorf("tokens spell %q, text %q", text.String(), c.Text)
	}
}

func TestRequestErrors(t *testing.T) {
	b := newBuiltin(t, 1)
	long := strings.Repeat("Once upon a time there was a cat. ", 80)
	cases := []struct {
		name  string
		req   Request
		kind  error
		param string
	}{
		{"unknown model", Request{Model: "gpt-9", Prompt: "x"}, ErrUnknownModel, "model"},
		{"negative n", Request{Prompt: "x", N: -1}, ErrInvalidRequest, "n"},
		{"huge n", Request{Prompt: "x", N: MaxN + 1}, ErrInvalidRequest, "n"},
		{"temperature", Request{Prompt: "x", Temperature: 2.5}, ErrInvalidRequest, "temperature"},
		{"nan temperature", Request{Prompt: "x", Temperature: math.NaN()}, ErrInvalidRequest, "temperature"},
		{"top_p", Request{Prompt: "x", TopP: 1.5}, ErrInvalidRequest, "top_p"},
		{"max_tokens", Request{Prompt: "x", MaxTokens: -3}, ErrInvalidRequest, "max_tokens"},
		{"top_logprobs", Request{Prompt: "x", TopLogProbs: 50}, ErrInvalidRequest, "top_logprobs"},
		{"bad role", Request{Messages: []Message{{"robot", "hi"}}}, ErrInvalidRequest, "messages[0].role"},
		{"long prompt", Request{Prompt: long}, ErrContextLength, "prompt"},
		{"prompt + max_tokens", Request{Messages: []Message{{RoleUser, "hi"}}, MaxTokens: 600}, ErrContextLength, "messages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Generate(context.Background(), c.req)
			var re *RequestError
			if !errors.Is(err, c.kind) || !errors.As(err, &re) || re.Param != c.param {
				t.Fatalf("error %v, want %v on %q", err, c.kind, c.param)
			}
		})
	}
}

func TestCancellation(t *testing.T) {
	b := newBuiltin(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	start := time.Now()
	_, err := b.Generate(ctx, Request{Prompt: "Once", IgnoreEOS: true, OnDelta: func(Delta) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n > 6 {
		t.Errorf("%d deltas after cancelling at the 5th", n)
	}
	// A queued request whose context ends never runs.
	block := make(chan struct{})
	go b.Generate(context.Background(), Request{Prompt: "Once", MaxTokens: 3, OnDelta: func(Delta) error { <-block; return nil }})
	time.Sleep(20 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, err := b.Generate(ctx2, Request{Prompt: "Once", MaxTokens: 3}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued request: error %v, want deadline exceeded", err)
	}
	close(block)
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancellation took %v", time.Since(start))
	}
}

func TestEmbed(t *testing.T) {
	m := loadModel(t)
	b := newBuiltin(t, 2)
	in := []string{"Once upon a time", "The cat sat.", ""}
	res, err := b.Embed(context.Background(), EmbedRequest{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range in {
		want, err := m.Embed(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Vectors[i]) != m.Config.Dim {
			t.Fatalf("text %d: dimension %d, want %d", i, len(res.Vectors[i]), m.Config.Dim)
		}
		for j := range want {
			if res.Vectors[i][j] != want[j] {
				t.Fatalf("text %d: vector differs from the engine's at %d", i, j)
			}
		}
	}
	if res.Usage.PromptTokens < 3 {
		t.Errorf("usage %+v", res.Usage)
	}
	if _, err := b.Embed(context.Background(), EmbedRequest{Model: "nope", Input: in}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := b.Embed(context.Background(), EmbedRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("no input: %v", err)
	}
}

func TestClosed(t *testing.T) {
	b, err := NewBuiltin(loadModel(t), BuiltinOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Generate(context.Background(), Request{Prompt: "x", MaxTokens: 2}); !errors.Is(err, ErrClosed) {
		t.Errorf("error %v, want ErrClosed", err)
	}
	if _, err := NewBuiltin(&llama.Model{}, BuiltinOptions{}); err == nil {
		t.Error("a model without tokenizer was accepted")
	}
}

func TestChatTemplate(t *testing.T) {
	msgs := []Message{{RoleSystem, "Be brief."}, {RoleUser, "Hi"}, {RoleAssistant, "Hello."}, {"developer", "Rule."}, {RoleUser, "Story?"}}
	cases := []struct {
		tmpl ChatTemplate
		want string
	}{
		{DefaultChatTemplate(), "System: Be brief.\nUser: Hi\nAssistant: Hello.\nSystem: Rule.\nUser: Story?\nAssistant:"},
		{RawChatTemplate(), "Be brief.\nHi\nHello.\nRule.\nStory?"},
	}
	for _, c := range cases {
		got, err := c.tmpl.Render(msgs)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.tmpl.Name, got, err, c.want)
		}
		if byName, err := ChatTemplateByName(c.tmpl.Name); err != nil || byName.Name != c.tmpl.Name {
			t.Errorf("ChatTemplateByName(%q) = %v, %v", c.tmpl.Name, byName.Name, err)
		}
	}
	if _, err := ChatTemplateByName("chatml"); err == nil {
		t.Error("unknown template accepted")
	}
	if _, err := DefaultChatTemplate().Render(nil); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("no messages: %v", err)
	}
}

func TestHoldBack(t *testing.T) {
	cases := []struct {
		s     string
		stops []string
		want  int
	}{
		{"hello", nil, 0},
		{"hello\nU", []string{"\nUser:"}, 2},
		{"hello\nUse", []string{"\nUser:"}, 4},
		{"hello\nX", []string{"\nUser:"}, 0},
		{"abab", []string{"abc", "bx"}, 2},
		{"", []string{"abc"}, 0},
	}
	for _, c := range cases {
		if got := holdBack(c.s, c.stops); got != c.want {
			t.Errorf("holdBack(%q, %q) = %d, want %d", c.s, c.stops, got, c.want)
		}
	}
	for _, c := range []struct {
		s         string
		end, want int
	}{{"abc", 3, 3}, {"ab\xe2\x82", 4, 2}, {"ab\xe2\x82\xac", 5, 5}, {"\xf0\x9f", 2, 0}, {"", 0, 0}} {
		if got := utf8Boundary(c.s, c.end); got != c.want {
			t.Errorf("utf8Boundary(%q, %d) = %d, want %d", c.s, c.end, got, c.want)
		}
	}
}

// TestSlowStreamDoesNotHoldBatch blocks one streaming client after its
// first delta: another request still runs to its end meanwhile, and the
// blocked stream, once released, delivers exactly the text it would have.
func TestSlowStreamDoesNotHoldBatch(t *testing.T) {
	b := newBuiltin(t, 2)
	req := Request{Prompt: "Once upon a time", MaxTokens: 60, IgnoreEOS: true, Seed: seed(1)}
	want, err := b.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	first := make(chan struct{})
	var streamed strings.Builder
	done := make(chan error, 1)
	go func() {
		r := req
		n := 0
		r.OnDelta = func(d Delta) error {
			if n++; n == 1 {
				close(first)
				<-release
			}
			streamed.WriteString(d.Text)
			return nil
		}
		_, err := b.Generate(context.Background(), r)
		done <- err
	}()
	<-first
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := b.Generate(ctx, Request{Prompt: "The cat", MaxTokens: 40, IgnoreEOS: true}); err != nil {
		t.Fatalf("a request beside a blocked stream: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if streamed.String() != want.Choices[0].Text {
		t.Errorf("streamed %q, want %q", streamed.String(), want.Choices[0].Text)
	}
}
