package llama

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBatcherGreedyReference runs every case of the reference
// expected_greedy.json at once through a Batcher (fewer slots than cases,
// so sequences join and leave between steps) and checks each output
// against the reference C program's byte for byte.
func TestBatcherGreedyReference(t *testing.T) {
	m := loadBin(t)
	cases := loadGreedyCases(t)
	for _, slots := range []int{1, 3, len(cases)} {
		t.Run(fmt.Sprintf("slots=%d", slots), func(t *testing.T) {
			b := m.NewBatcher(slots)
			defer b.Close()
			got := make([]string, len(cases))
			errs := make([]error, len(cases))
			var wg sync.WaitGroup
			for i, c := range cases {
				wg.Add(1)
				go func() {
					defer wg.Done()
					steps := c.Steps
					if steps <= 0 || steps > m.Config.SeqLen {
						steps = m.Config.SeqLen
					}
					toks := m.sp().Encode(c.Prompt, true, false)
					g, err := b.Generate(context.Background(), Request{Prompt: toks, Options: GenerateOptions{MaxTokens: steps - len(toks) + 1}})
					if err != nil {
						errs[i] = err
						return
					}
					all := append(slices.Clone(toks), g.Tokens...)
					var sb strings.Builder
					for k := 1; k < len(all); k++ {
						if p := m.sp().Piece(all[k-1], all[k]); PrintablePiece(p) {
							sb.WriteString(p)
						}
					}
					got[i] = sb.String() + "\n"
				}()
			}
			wg.Wait()
			for i, c := range cases {
				if errs[i] != nil {
					t.Fatalf("case %d: %v", i, errs[i])
				}
				if got[i] != c.Output {
					t.Errorf("case %d (%q, %d steps):\n got %q\nwant %q", i, c.Prompt, c.Steps, got[i], c.Output)
				}
			}
		})
	}
}

// batchCases are requests of every kind: greedy and seeded sampling, stop
// sequences, EOS, a JSON-schema constraint, prompts longer than one
// prefill chunk.
func batchCases(t *testing.T, m *Model) []Request {
	t.Helper()
	enc := func(s string) []int { return m.Tokenizer.Encode(s, true, false) }
	long := enc(strings.Repeat("Lily and Tom went to the park. ", 12))
	reqs := []Request{
		{Prompt: enc("Once upon a time"), Options: GenerateOptions{MaxTokens: 40}},
		{Prompt: enc("The cat sat"), Options: GenerateOptions{MaxTokens: 70, IgnoreEOS: true, SampleOptions: SampleOptions{Temperature: 1, Seed: 3}}},
		{Prompt: enc("Tom had a red ball"), Options: GenerateOptions{MaxTokens: 90, SampleOptions: SampleOptions{Temperature: 0.8, TopP: 0.9, Seed: 11}}},
		{Prompt: long, Options: GenerateOptions{MaxTokens: 30, SampleOptions: SampleOptions{Temperature: 1.2, TopK: 20, Seed: 5}}},
		{Prompt: enc("Lily went"), Options: GenerateOptions{MaxTokens: 120, Stop: []string{"."}}},
		{Prompt: enc("One day"), Options: GenerateOptions{IgnoreEOS: true, SampleOptions: SampleOptions{Temperature: 1, Seed: 99}}},
		{Prompt: []int{m.Tokenizer.BOSID()}, Options: GenerateOptions{MaxTokens: 25}},
	}
	js, err := CompileJSONSchema([]byte(`{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":99}},"required":["name","age"]}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := VocabFor(m.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{1, 2} {
		c, err := NewConstraint(js, v)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, Request{Prompt: enc("A person:"), Options: GenerateOptions{MaxTokens: 60, SampleOptions: SampleOptions{Temperature: 1, Seed: seed}}, Constraint: c})
	}
	return reqs
}

// resetConstraints gives every request a fresh constraint state.
func resetConstraints(reqs []Request) {
	for _, r := range reqs {
		if r.Constraint != nil {
			r.Constraint.Reset()
		}
	}
}

// TestBatcherEqualsDecode checks that every request gives the same
// tokens, text and finish reason in a batch (any number of slots, all
// requests at once) as alone through Model.Decode: greedy and seeded
// sampling, stops, constraints; for the llama family (batched pass) and
// GPT-2 (row by row).
func TestBatcherEqualsDecode(t *testing.T) {
	bin := loadBin(t)
	gcfg, err := FamilyConfig(Config{Dim: 32, HiddenDim: 64, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: bin.Config.VocabSize, SeqLen: 256}, ArchGPT2)
	if err != nil {
		t.Fatal(err)
	}
	gpt2, err := NewRandomModel(gcfg, bin.Tokenizer, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, mc := range []struct {
		name string
		m    *Model
	}{{"stories260K", bin}, {"gpt2 random", gpt2}} {
		m := mc.m
		reqs := batchCases(t, m)
		want := make([]*Generation, len(reqs))
		for i, r := range reqs {
			g, err := m.Decode(context.Background(), nil, r)
			if err != nil {
				t.Fatalf("%s: request %d alone: %v", mc.name, i, err)
			}
			want[i] = g
		}
		for _, slots := range []int{1, 4, len(reqs)} {
			t.Run(fmt.Sprintf("%s/slots=%d", mc.name, slots), func(t *testing.T) {
				resetConstraints(reqs)
				b := m.NewBatcher(slots)
				defer b.Close()
				got := make([]*Generation, len(reqs))
				errs := make([]error, len(reqs))
				var wg sync.WaitGroup
				for i, r := range reqs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						got[i], errs[i] = b.Generate(context.Background(), r)
					}()
				}
				wg.Wait()
				if b.Close(); slots > 1 && b.peak < 2 {
					t.Errorf("at most %d sequence per step with %d slots", b.peak, slots)
				}
				for i := range reqs {
					if errs[i] != nil {
						t.Fatalf("request %d: %v", i, errs[i])
					}
					g, w := got[i], want[i]
					if !slices.Equal(g.Tokens, w.Tokens) || g.Text != w.Text || g.FinishReason != w.FinishReason {
						t.Errorf("request %d: batch gave %d tokens %q (%s), alone %d tokens %q (%s)",
							i, len(g.Tokens), g.Text, g.FinishReason, len(w.Tokens), w.Text, w.FinishReason)
					}
				}
			})
		}
		resetConstraints(reqs)
	}
}

// TestDecodeCancel cancels the context from the per-token callback: the
// loop stops before the next step, alone and in a batch, and a batch's
// other sequence is not disturbed.
func TestDecodeCancel(t *testing.T) {
	m := loadBin(t)
	prompt := m.Tokenizer.Encode("Once upon a time", true, false)
	opt := GenerateOptions{IgnoreEOS: true, MaxTokens: 200}
	run := func(gen func(context.Context, Request) (*Generation, error)) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		g, err := gen(ctx, Request{Prompt: prompt, Options: opt, OnToken: func(ev *TokenEvent) error {
			if n++; n == 5 {
				cancel()
			}
			if ev.Count != n {
				t.Errorf("event %d has Count %d", n, ev.Count)
			}
			return nil
		}})
		if !errors.Is(err, context.Canceled) || g != nil {
			t.Fatalf("got %v, %v; want context.Canceled", g, err)
		}
		if n != 5 {
			t.Errorf("%d tokens generated, want 5 (cancelled at the 5th)", n)
		}
		// An error from the callback ends generation with that error.
		stop := errors.New("enough")
		if _, err := gen(context.Background(), Request{Prompt: prompt, Options: opt, OnToken: func(*TokenEvent) error { return stop }}); !errors.Is(err, stop) {
			t.Errorf("callback error: got %v", err)
		}
	}
	t.Run("decode", func(t *testing.T) {
		run(func(ctx context.Context, r Request) (*Generation, error) { return m.Decode(ctx, nil, r) })
	})
	t.Run("batcher", func(t *testing.T) {
		b := m.NewBatcher(2)
		defer b.Close()
		want, err := m.Decode(context.Background(), nil, Request{Prompt: prompt, Options: opt})
		if err != nil {
			t.Fatal(err)
		}
		other := make(chan *Generation, 1)
		started := make(chan struct{})
		go func() {
			once := sync.Once{}
			g, err := b.Generate(context.Background(), Request{Prompt: prompt, Options: opt, OnToken: func(*TokenEvent) error {
				once.Do(func() { close(started) })
				return nil
			}})
			if err != nil {
				t.Error(err)
			}
			other <- g
		}()
		<-started
		run(b.Generate)
		if g := <-other; g != nil && !slices.Equal(g.Tokens, want.Tokens) {
			t.Error("cancelling one sequence changed the other's tokens")
		}
		// A request waiting for a slot gives up when its context ends.
		block := make(chan struct{})
		for range 2 {
			go b.Generate(context.Background(), Request{Prompt: prompt, Options: GenerateOptions{MaxTokens: 3}, OnToken: func(*TokenEvent) error { <-block; return nil }})
		}
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := b.Generate(ctx, Request{Prompt: prompt, Options: GenerateOptions{MaxTokens: 3}}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiting request: %v, want deadline exceeded", err)
		}
		close(block)
	})
}

// TestBatcherClose checks that Close lets running sequences finish and
// refuses later requests.
func TestBatcherClose(t *testing.T) {
	m := loadBin(t)
	prompt := m.Tokenizer.Encode("Once upon a time", true, false)
	b := m.NewBatcher(2)
	res := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		once := sync.Once{}
		g, err := b.Generate(context.Background(), Request{Prompt: prompt, Options: GenerateOptions{MaxTokens: 50, IgnoreEOS: true},
			OnToken: func(*TokenEvent) error { once.Do(func() { close(started) }); return nil }})
		if err == nil && len(g.Tokens) != 50 {
			err = fmt.Errorf("%d tokens, want 50", len(g.Tokens))
		}
		res <- err
	}()
	<-started
	if _, err := b.Generate(context.Background(), Request{}); err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("an empty prompt: %v", err)
	}
	b.Close()
	if err := <-res; err != nil {
		t.Errorf("running request: %v", err)
	}
	if _, err := b.Generate(context.Background(), Request{Prompt: prompt}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}
