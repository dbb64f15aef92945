package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// TestMain lets the test binary stand in for an external trainer when
// GGMI_TRAINER_STANDIN names a behaviour.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GGMI_TRAINER_STANDIN"); mode != "" {
		os.Exit(standIn(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// standIn is a minimal external trainer: it checks the files it is given
// and writes out/eval.json according to mode.
func standIn(mode string, args []string) int {
	fs := flag.NewFlagSet("trainer", flag.ContinueOnError)
	trainPath := fs.String("train", "", "")
	evalPath := fs.String("eval", "", "")
	chatPath := fs.String("train-chat", "", "")
	out := fs.String("out", "", "")
	seed := fs.String("seed", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Printf("stand-in trainer: mode %s, seed %s (env %s), dir %s\n", mode, *seed, os.Getenv("GGMI_SEED"), mustWd())
	switch mode {
	case "fail":
		fmt.Fprintln(os.Stderr, "RuntimeError: CUDA out of memory")
		return 3
	case "sleep":
		time.Sleep(30 * time.Second)
		return 0
	case "none":
		return 0
	}
	var train, eval []map[string]any
	for _, f := range []struct {
		path string
		dst  *[]map[string]any
	}{{*trainPath, &train}, {*evalPath, &eval}} {
		rows, err := readJSONL(f.path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		*f.dst = rows
	}
	if chat, err := readJSONL(*chatPath); err != nil || len(chat) != len(train) {
		fmt.Fprintln(os.Stderr, "chat file:", err)
		return 4
	}
	ef := map[string]any{"train_loss": 1.25, "eval_loss": 2.0, "train_tokens": 100 * len(train)}
	var preds []map[string]string
	for _, r := range eval {
		id, _ := r["id"].(string)
		instr, _ := r["instruction"].(string)
		if msgs, ok := r["messages"].([]any); ok {
			instr = msgs[0].(map[string]any)["content"].(string)
		}
		preds = append(preds, map[string]string{"id": id, "response": "echo: " + instr})
	}
	ef["predictions"] = preds
	switch mode {
	case "unknown-id":
		preds[0]["id"] = "nope"
	case "negative":
		ef["eval_loss"] = -1.0
	case "empty":
		ef = map[string]any{"train_loss": 1.0}
	case "predictions-only":
		delete(ef, "eval_loss")
		delete(ef, "train_loss")
	}
	b, _ := json.Marshal(ef)
	if err := os.WriteFile(filepath.Join(*out, "eval.json"), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	return 0
}

func mustWd() string {
	wd, _ := os.Getwd()
	return wd
}

func readJSONL(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// standInCommand is the command template that runs this test binary as
// the trainer.
func standInCommand(t *testing.T, extra string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("'%s' --train {train} --eval {eval} --train-chat {train_chat} --out {out} --seed {seed}%s", exe, extra)
}

func externalData() (train, eval []dataset.Record) {
	train = storyRecords(5, 0)
	eval = storyRecords(3, 3)
	eval[1].Input = "Some context."
	eval[2].ID = "" // named by its content hash
	return train, eval
}

// The contract end to end: files in both formats, placeholders, seed,
// log, and eval.json read back with its gap and predictions.
func TestExternalTrainer(t *testing.T) {
	train, eval := externalData()
	for _, format := range []string{"alpaca", "chat"} {
		t.Run(format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run dir")
			res, err := RunExternal(context.Background(), ExternalOptions{
				Command: standInCommand(t, ""), Format: format, Dir: dir, Seed: 42, Timeout: time.Minute,
				Env: []string{"GGMI_TRAINER_STANDIN=ok"},
			}, train, eval)
			if err != nil {
				t.Fatal(err)
			}
			ef := res.Eval
			if *ef.TrainLoss != 1.25 || *ef.EvalLoss != 2 || !near(*ef.EvalPerplexity, math.Exp(2), 1e-12) || res.Gap != 0.75 || ef.TrainTokens != 500 {
				t.Fatalf("eval %+v gap %v", ef, res.Gap)
			}
			log, err := os.ReadFile(res.Log)
			if err != nil || !strings.Contains(string(log), "seed 42 (env 42), dir "+res.Dir) {
				t.Fatalf("log %q %v", log, err)
			}
			items := PredictionItems(eval, ef.Predictions, "gpt2", "category")
			if len(items) != 3 || items[2].ID != dataset.ContentID(eval[2]) {
				t.Fatalf("items %+v", items)
			}
			want := "echo: " + eval[1].Instruction
			if format == "chat" {
				want += "\n\nSome context."
			}
			if items[1].Answer != want || items[1].Reference != eval[1].Output || items[1].Group != eval[1].Category {
				t.Fatalf("item %+v, want answer %q", items[1], want)
			}
			rows, err := readJSONL(filepath.Join(res.Dir, TrainAlpacaFile))
			if err != nil || len(rows) != 5 || rows[0]["id"] != train[0].ID || rows[0]["output"] != train[0].Output || rows[0]["input"] != "" {
				t.Fatalf("alpaca file %v %v", rows, err)
			}
			chat, err := readJSONL(filepath.Join(res.Dir, EvalChatFile))
			if err != nil || len(chat) != 3 {
				t.Fatalf("chat file %v %v", chat, err)
			}
			msgs := chat[1]["messages"].([]any)
			if msgs[0].(map[string]any)["role"] != "user" || msgs[1].(map[string]any)["content"] != eval[1].Output {
				t.Fatalf("chat line %v", chat[1])
			}
		})
	}
	// Predictions alone are enough.
	res, err := RunExternal(context.Background(), ExternalOptions{Command: standInCommand(t, ""), Dir: t.TempDir(),
		Env: []string{"GGMI_TRAINER_STANDIN=predictions-only"}}, train, eval)
	if err != nil || res.Eval.EvalLoss != nil || len(res.Eval.Predictions) != 3 || !math.IsNaN(res.Gap) {
		t.Fatalf("predictions only: %+v %v", res, err)
	}
}

// Failures: exit status, timeout, missing or invalid eval.json, bad
// commands; each error says why and quotes the log where there is one.
func TestExternalTrainerFailures(t *testing.T) {
	train, eval := externalData()
	cases := []struct {
		mode    string
		timeout time.Duration
		want    []string
	}{
		{"fail", 0, []string{"exit status 3", "CUDA out of memory"}},
		{"sleep", 3 * time.Second, []string{"timed out after 3s", "mode sleep"}},
		{"none", 0, []string{"read eval.json"}},
		{"unknown-id", 0, []string{`unknown record "nope"`}},
		{"negative", 0, []string{"eval_loss -1 is not a finite non-negative number"}},
		{"empty", 0, []string{"neither eval_loss nor predictions"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			start := time.Now()
			_, err := RunExternal(context.Background(), ExternalOptions{Command: standInCommand(t, ""), Dir: t.TempDir(),
				Timeout: c.timeout, Env: []string{"GGMI_TRAINER_STANDIN=" + c.mode}}, train, eval)
			if !errors.Is(err, ErrTrainerFailed) {
				t.Fatalf("error %v does not wrap ErrTrainerFailed", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
	bad := []struct {
		name string
		opt  ExternalOptions
		want string
	}{
		{"empty command", ExternalOptions{Command: "  "}, "empty command"},
		{"unknown placeholder", ExternalOptions{Command: "train {model}"}, "unknown placeholder {model}"},
		{"unterminated quote", ExternalOptions{Command: "train 'x"}, "unterminated"},
		{"unknown format", ExternalOptions{Command: "train", Format: "sharegpt"}, "unknown format"},
		{"missing program", ExternalOptions{Command: "/nonexistent/ggmi-trainer {train}"}, "no such file"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Dir = t.TempDir()
			_, err := RunExternal(context.Background(), c.opt, train, eval)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := RunExternal(context.Background(), ExternalOptions{Command: "x", Dir: t.TempDir()},
		[]dataset.Record{{ID: "a", Instruction: "no response"}}, eval); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("record without response: %v", err)
	}
}

// A shell script as the trainer, as users write them.
func TestExternalTrainerShellScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "train.sh")
	body := `set -e
test -s "$1" && test -s "$2"
echo "training on $(wc -l < "$1") records"
printf '{"train_loss": 0.5, "eval_loss": 0.75}' > "$3/eval.json"
`
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	train, eval := externalData()
	res, err := RunExternal(context.Background(), ExternalOptions{Command: sh + " " + script + " {train_chat} {eval_alpaca} {out}", Dir: filepath.Join(dir, "run")}, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	if res.Gap != 0.25 {
		t.Fatalf("gap %v", res.Gap)
	}
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "training on 5 records") {
		t.Fatalf("log %q", log)
	}
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"python train.py --train {train}", []string{"python", "train.py", "--train", "{train}"}},
		{`a  'b c'  "d \"e\" \$f"  g\ h`, []string{"a", "b c", `d "e" $f`, "g h"}},
		{`x'y'"z"`, []string{"xyz"}},
		{`'' ""`, []string{"", ""}},
		{"  ", nil},
	}
	for _, c := range cases {
		got, err := splitWords(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `trailing\`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted", bad)
		}
	}
	// JSON braces are not placeholders; replaced values are not rescanned.
	got, err := expandCommand(`run --cfg '{"a": 1}' --out {out}/x`, map[string]string{"out": "/tmp/{seed}"})
	if err != nil || !slices.Equal(got, []string{"run", "--cfg", `{"a": 1}`, "--out", "/tmp/{seed}/x"}) {
		t.Fatalf("%q %v", got, err)
	}
}
