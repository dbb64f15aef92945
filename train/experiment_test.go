package train

import (
	"context"
	"os"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

// TestMixExperiment fine-tunes stories260K on token-matched mixes of the
// self-instruct seed tasks (the real pool, split 8:2 into train and test
// as in App. G.1.1) and the user-oriented instructions (a second pool
// standing in for synthetic data), three seeds each, and logs the test
// loss, training loss and gap with their intervals. It takes about a
// minute and a half on two cores, so it runs only when
// GGMI_TRAIN_EXPERIMENT is set:
//
//	GGMI_TRAIN_EXPERIMENT=1 go test -run MixExperiment -v ./train
func TestMixExperiment(t *testing.T) {
	if os.Getenv("GGMI_TRAIN_EXPERIMENT") == "" {
		t.Skip("set GGMI_TRAIN_EXPERIMENT=1 to run the mix experiment (about 90 s)")
	}
	base := stories260K(t)
	seed, _, err := dataset.ReadFile(sharedData(t, "self-instruct", "seed_tasks.jsonl"), dataset.ReadOptions{Schema: "self-instruct"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := dataset.ReadFile(sharedData(t, "self-instruct", "user_oriented_instructions.jsonl"), dataset.ReadOptions{Schema: "self-instruct"})
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := dataset.Split(seed, dataset.SplitOptions{TestFraction: 0.2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tm := CompactTemplate()
	count := tm.TokenCounter(base.Tokenizer)
	total := 0
	for _, r := range train {
		total += count(r)
	}
	t.Logf("real train %d records %d tokens, test %d, other pool %d", len(train), total, len(test), len(other))
	opt := Options{Base: base, Template: tm, Epochs: 2, BatchSize: 8, SeqLen: 256, LR: 1e-3, Warmup: 5, WeightDecay: 0.1}
	// A fixed budget of 90% of the real training tokens for every ratio.
	for _, ratio := range [][2]float64{{1, 0}, {1, 1}, {0, 1}} {
		cfg := Configuration{Name: "mix", Real: train, Synthetic: other, Mix: &MixOptions{Real: ratio[0], Synthetic: ratio[1], Budget: total * 9 / 10, Count: count}}
		sum, err := RunSeeds(context.Background(), opt, cfg, test, []uint64{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		var secs float64
		for _, r := range sum.Runs {
			secs += r.Seconds
		}
		t.Logf("%v:%v mix %+v steps %d before %.3f test %.3f [%.3f, %.3f] ppl %.2f train %.3f gap %.3f [%.3f, %.3f] %.1fs/seed",
			ratio[0], ratio[1], sum.Mixes[0], sum.Runs[0].Steps, sum.Runs[0].Before.Mean, sum.TestLoss.Mean, sum.TestLoss.Lo, sum.TestLoss.Hi, sum.TestPPL.Mean,
			sum.TrainLoss.Mean, sum.Gap.Mean, sum.Gap.Lo, sum.Gap.Hi, secs/3)
	}
}
