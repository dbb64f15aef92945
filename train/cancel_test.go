package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// cancelBound is how soon a cancelled loop must return: 1 s, plus slack
// for a loaded CI machine (the latency is logged; on an idle machine it is
// a few milliseconds).
const cancelBound = time.Second + 4*time.Second

// runCancelled starts f, cancels its context after delay and returns f's
// how long f took to return after the cancellation, and its error.
func runCancelled(t *testing.T, delay time.Duration, f func(ctx context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("returned before the cancellation (%v): the work is too short to test", err)
	case <-time.After(delay):
	}
	cancel()
	at := time.Now()
	select {
	case err := <-done:
		return time.Since(at), err
	case <-time.After(30 * time.Second):
		t.Fatal("did not return within 30 s of the cancellation")
	}
	return 0, nil
}

// A training run cancelled mid-way stops within the bound with the
// context's error and leaves no checkpoint (complete or absent).
func TestTrainStopsOnCancel(t *testing.T) {
	base := stories260K(t)
	out := filepath.Join(t.TempDir(), "student.gguf")
	opt := Options{Base: base, Steps: 1_000_000, BatchSize: 4, LR: 1e-3, Warmup: 2, Seed: 1, Out: out, Workers: 2}
	train, test := storyRecords(16, 0), storyRecords(4, 3)
	took, err := runCancelled(t, 500*time.Millisecond, func(ctx context.Context) error {
		_, err := Train(ctx, opt, train, test)
		return err
	})
	t.Logf("training returned %v after the cancellation", took)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want the context's", err)
	}
	if took > cancelBound {
		t.Errorf("training took %v to stop", took)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a checkpoint was written by a cancelled run (%v)", err)
	}
}

// A judge run over many items with the built-in engine as the judge stops
// within the bound once cancelled, with the context's error.
func TestJudgeStopsOnCancel(t *testing.T) {
	b, err := llm.NewBuiltin(stories260K(t), llm.BuiltinOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	items := make([]JudgeItem, 5000)
	for i := range items {
		items[i] = JudgeItem{ID: fmt.Sprint(i), Config: "c", Instruction: "Tell a story about a cat.", Reference: "Once upon a time there was a cat.", Answer: "Once there was a dog."}
	}
	j := &Judge{Backend: b, Workers: 2, MaxTokens: 64}
	took, err := runCancelled(t, 500*time.Millisecond, func(ctx context.Context) error {
		_, _, err := j.Rate(ctx, items)
		return err
	})
	t.Logf("judge returned %v after the cancellation", took)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want the context's", err)
	}
	if took > cancelBound {
		t.Errorf("the judge took %v to stop", took)
	}
}
