package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/llama"
)

// torchPython is Debian's interpreter with python3-torch (the pyenv
// python3 on PATH has no torch).
const torchPython = "/usr/bin/python3"

// haveTorch skips the test when Debian's python3-torch is not installed.
func haveTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(torchPython, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch unavailable (%s -c 'import torch': %v); scripts/ensure-torch.sh installs Debian's python3-torch", torchPython, err)
	}
}

// exampleTrainer is the path of the example external trainer.
func exampleTrainer(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "examples", "trainers", "train_hf.py"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The example trainer (examples/trainers/train_hf.py) under ggmi's
// external-trainer contract: ggmi runs it on a random-weight GPT-2 folder
// with the real GPT-2 vocabulary, reads back eval.json, and the figures are
// checked against ggmi's own engine: the script's held-out loss before
// training equals ggmi's loss of the base folder on the same records
// (same tokens, same mask, same mean), the held-out loss falls, and the
// fine-tuned folder the script saves loads in ggmi with the held-out loss
// the script reported.
func TestExampleTrainerContract(t *testing.T) {
	haveTorch(t)
	script := exampleTrainer(t)
	base, dir := hfBase(t, llama.ArchGPT2)
	train, eval := storyRecords(8, 0), storyRecords(4, 3)
	eval[1].Input = "It was a sunny day."
	tmpl := CompactTemplate()
	cmd := torchPython + " '" + script + "' --model '" + dir + "' --train {train} --eval {eval} --out {out} --seed {seed}" +
		" --steps 6 --batch 4 --lr 3e-3 --warmup 2 --template compact --device cpu --threads 1 --max-new-tokens 6 --save"
	res, err := RunExternal(context.Background(), ExternalOptions{Command: cmd, Dir: filepath.Join(t.TempDir(), "run"),
		Seed: 7, Timeout: 15 * time.Minute}, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	ef := res.Eval
	if ef.EvalLoss == nil || ef.TrainLoss == nil || ef.EvalPerplexity == nil {
		t.Fatalf("eval.json lacks losses: %+v", ef)
	}
	if !near(*ef.EvalPerplexity, math.Exp(*ef.EvalLoss), 1e-9) || !near(res.Gap, math.Abs(*ef.EvalLoss-*ef.TrainLoss), 1e-12) {
		t.Fatalf("perplexity %g or gap %g inconsistent with losses %g / %g", *ef.EvalPerplexity, res.Gap, *ef.EvalLoss, *ef.TrainLoss)
	}
	if len(ef.Predictions) != len(eval) {
		t.Fatalf("%d predictions for %d eval records", len(ef.Predictions), len(eval))
	}
	var info struct {
		EvalLossBefore float64 `json:"eval_loss_before"`
		Steps          int     `json:"steps"`
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, OutDir, "trainer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := Evaluate(ctx, base, eval, EvalOptions{Template: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out loss %.5f → %.5f (ggmi before %.5f over %d tokens, script %d tokens), train %.5f, %d steps",
		info.EvalLossBefore, *ef.EvalLoss, before.Mean, before.Tokens, ef.EvalTokens, *ef.TrainLoss, info.Steps)
	if ef.EvalTokens != before.Tokens || !near(info.EvalLossBefore, before.Mean, 1e-4) {
		t.Fatalf("script's loss before training %.6f over %d tokens, ggmi's %.6f over %d", info.EvalLossBefore, ef.EvalTokens, before.Mean, before.Tokens)
	}
	if !(*ef.EvalLoss < info.EvalLossBefore-0.5) {
		t.Fatalf("held-out loss did not fall: %.4f → %.4f", info.EvalLossBefore, *ef.EvalLoss)
	}
	student, err := llama.Load(filepath.Join(res.Dir, OutDir, "model"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Evaluate(ctx, student, eval, EvalOptions{Template: tmpl})
	if err != nil {
		t.Fatal(err)
	}
	if !near(after.Mean, *ef.EvalLoss, 1e-4) {
		t.Fatalf("ggmi's loss of the saved student %.6f, script reported %.6f", after.Mean, *ef.EvalLoss)
	}
	log, err := os.ReadFile(res.Log)
	if err != nil || !strings.Contains(string(log), "step 6/6") {
		t.Fatalf("train.log lacks the step lines: %v\n%s", err, log)
	}
}
