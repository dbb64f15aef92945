package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Files ggmi writes for an external trainer, inside ExternalOptions.Dir.
const (
	TrainAlpacaFile = "train.alpaca.jsonl"
	EvalAlpacaFile  = "eval.alpaca.jsonl"
	TrainChatFile   = "train.chat.jsonl"
	EvalChatFile    = "eval.chat.jsonl"
	// OutDir is the trainer's output directory; the trainer writes
	// EvalResultFile into it.
	OutDir         = "out"
	EvalResultFile = "eval.json"
	// LogFile receives the trainer's standard output and error.
	LogFile = "train.log"
)

// ExternalOptions configure RunExternal.
type ExternalOptions struct {
	// Command is the trainer's command line, e.g.
	// "python train.py --train {train} --eval {eval} --out {out}". It is
	// split into words like a shell does (single and double quotes,
	// backslash escapes; no variables, globs or pipes: run "sh -c '…'" for
	// those) and every placeholder is replaced inside each word:
	//
	//	{train}         the training file in Format
	//	{eval}          the evaluation file in Format
	//	{train_alpaca}  {eval_alpaca}  the Alpaca files
	//	{train_chat}    {eval_chat}    the chat files
	//	{out}           the output directory (created empty)
	//	{dir}           the working directory holding all of the above
	//	{seed}          Seed in decimal
	Command string
	// Format is the format {train} and {eval} point at: "alpaca" (the
	// default) or "chat".
	Format string
	// Dir is the working directory; a new temporary directory when empty
	// (kept: its path is in the result). The command runs in it.
	Dir string
	// Timeout stops the trainer (and its process group where the system
	// has one) after this long; 0 means no limit besides ctx.
	Timeout time.Duration
	// Seed is passed as {seed} and GGMI_SEED.
	Seed uint64
	// Env adds variables ("KEY=value") to the trainer's environment, which
	// otherwise is ggmi's.
	Env []string
}

// Prediction is the response an external student generated for one
// evaluation record.
type Prediction struct {
	ID       string `json:"id"`
	Response string `json:"response"`
}

// EvalFile is the schema of out/eval.json, written by the external trainer
// after training. Every member is optional, but the file must report at
// least an eval loss or one prediction. Losses are mean cross-entropies in
// nats per predicted token, ideally on the same tokens as ggmi's built-in
// students (the responses only).
type EvalFile struct {
	// TrainLoss is R̂_train: the trained model's loss on the training file.
	TrainLoss *float64 `json:"train_loss,omitempty"`
	// EvalLoss is R_test: its loss on the evaluation file.
	EvalLoss *float64 `json:"eval_loss,omitempty"`
	// EvalPerplexity is exp(EvalLoss); filled in by ggmi when absent.
	EvalPerplexity *float64 `json:"eval_perplexity,omitempty"`
	// TrainTokens and EvalTokens count the predicted tokens.
	TrainTokens int `json:"train_tokens,omitempty"`
	EvalTokens  int `json:"eval_tokens,omitempty"`
	// Predictions are generated responses to evaluation records, matched
	// by ID (the "id" of each line of the evaluation file), for the judge.
	Predictions []Prediction `json:"predictions,omitempty"`
}

// ExternalResult is the outcome of RunExternal.
type ExternalResult struct {
	// Dir is the working directory, Log the trainer's log file.
	Dir, Log string
	// Eval is the validated eval.json.
	Eval EvalFile
	// Gap is |EvalLoss − TrainLoss| when both are reported, NaN otherwise.
	Gap      float64
	Duration time.Duration
}

// ErrTrainerFailed is wrapped by the error of a trainer that exits with a
// failure, times out or writes an invalid eval.json.
var ErrTrainerFailed = errors.New("external trainer failed")

// alpacaLine is one line of the Alpaca files.
type alpacaLine struct {
	ID          string `json:"id"`
	Instruction string `json:"instruction"`
	Input       string `json:"input"`
	Output      string `json:"output"`
}

// chatLine is one line of the chat files.
type chatLine struct {
	ID       string            `json:"id"`
	Messages []dataset.Message `json:"messages"`
}

// WriteTrainerFiles writes records in both trainer formats: Alpaca
// ({"id", "instruction", "input", "output"} per line) at alpacaPath and
// chat ({"id", "messages": [user, assistant]} per line, the user turn
// being the instruction followed by a blank line and the context) at
// chatPath. Records without an ID get dataset.ContentID; records without
// a response are an error.
func WriteTrainerFiles(alpacaPath, chatPath string, recs []dataset.Record) error {
	var a, c bytes.Buffer
	ea, ec := json.NewEncoder(&a), json.NewEncoder(&c)
	ea.SetEscapeHTML(false)
	ec.SetEscapeHTML(false)
	for i, r := range recs {
		instruction, context, response := fields(r)
		if strings.TrimSpace(response) == "" {
			return fmt.Errorf("record %d (%q): %w", i, r.ID, ErrNoResponse)
		}
		id := r.ID
		if id == "" {
			id = dataset.ContentID(r)
		}
		if err := ea.Encode(alpacaLine{ID: id, Instruction: instruction, Input: context, Output: response}); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if err := ec.Encode(chatLine{ID: id, Messages: chatMessages(r)}); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	if err := os.WriteFile(alpacaPath, a.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write trainer file: %w", err)
	}
	if err := os.WriteFile(chatPath, c.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write trainer file: %w", err)
	}
	return nil
}

// RunExternal runs a user's trainer on the train and eval records: it
// writes the files of both formats into the working directory, runs the
// command with the placeholders filled in (see ExternalOptions.Command),
// its standard output and error going to train.log, and reads back
// out/eval.json (see EvalFile). A non-zero exit, a timeout or a missing or
// invalid eval.json gives an error wrapping ErrTrainerFailed that quotes
// the end of the log.
func RunExternal(ctx context.Context, opt ExternalOptions, train, eval []dataset.Record) (*ExternalResult, error) {
	if strings.TrimSpace(opt.Command) == "" {
		return nil, errors.New("external trainer: empty command")
	}
	if len(train) == 0 {
		return nil, errors.New("external trainer: no training records")
	}
	format := opt.Format
	if format == "" {
		format = "alpaca"
	}
	if format != "alpaca" && format != "chat" {
		return nil, fmt.Errorf("external trainer: unknown format %q (want alpaca or chat)", format)
	}
	dir := opt.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ggmi-trainer-")
		if err != nil {
			return nil, fmt.Errorf("external trainer: %w", err)
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("external trainer: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("external trainer: %w", err)
	}
	p := map[string]string{
		"train_alpaca": filepath.Join(dir, TrainAlpacaFile),
		"eval_alpaca":  filepath.Join(dir, EvalAlpacaFile),
		"train_chat":   filepath.Join(dir, TrainChatFile),
		"eval_chat":    filepath.Join(dir, EvalChatFile),
		"out":          filepath.Join(dir, OutDir),
		"dir":          dir,
		"seed":         strconv.FormatUint(opt.Seed, 10),
	}
	p["train"], p["eval"] = p["train_"+format], p["eval_"+format]
	if err := WriteTrainerFiles(p["train_alpaca"], p["train_chat"], train); err != nil {
		return nil, fmt.Errorf("external trainer: training records: %w", err)
	}
	if err := WriteTrainerFiles(p["eval_alpaca"], p["eval_chat"], eval); err != nil {
		return nil, fmt.Errorf("external trainer: eval records: %w", err)
	}
	if err := os.RemoveAll(p["out"]); err != nil {
		return nil, fmt.Errorf("external trainer: clear output directory: %w", err)
	}
	if err := os.MkdirAll(p["out"], 0o755); err != nil {
		return nil, fmt.Errorf("external trainer: %w", err)
	}
	args, err := expandCommand(opt.Command, p)
	if err != nil {
		return nil, fmt.Errorf("external trainer: %w", err)
	}
	logPath := filepath.Join(dir, LogFile)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("external trainer: %w", err)
	}
	defer logf.Close()
	runCtx := ctx
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(append(os.Environ(), "GGMI_SEED="+p["seed"]), opt.Env...)
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	res := &ExternalResult{Dir: dir, Log: logPath, Gap: math.NaN()}
	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	if runErr != nil {
		why := runErr.Error()
		if runCtx.Err() != nil && ctx.Err() == nil {
			why = fmt.Sprintf("timed out after %v", opt.Timeout)
		} else if ctx.Err() != nil {
			return res, fmt.Errorf("external trainer %s: %w", args[0], ctx.Err())
		}
		return res, fmt.Errorf("external trainer %s: %s: %w%s", args[0], why, ErrTrainerFailed, logTail(logPath))
	}
	ef, err := ReadEvalFile(filepath.Join(p["out"], EvalResultFile), eval)
	if err != nil {
		return res, fmt.Errorf("external trainer %s: %w: %w%s", args[0], err, ErrTrainerFailed, logTail(logPath))
	}
	res.Eval = ef
	if ef.TrainLoss != nil && ef.EvalLoss != nil {
		res.Gap = Gap(*ef.EvalLoss, *ef.TrainLoss)
	}
	return res, nil
}

// ReadEvalFile reads and validates an eval.json (see EvalFile) against the
// evaluation records: losses must be finite and non-negative, at least an
// eval loss or a prediction must be present, and every prediction must
// name a distinct evaluation record (records without an ID are named by
// dataset.ContentID). A missing EvalPerplexity is set to exp(EvalLoss).
func ReadEvalFile(path string, eval []dataset.Record) (EvalFile, error) {
	var ef EvalFile
	b, err := os.ReadFile(path)
	if err != nil {
		return ef, fmt.Errorf("read %s: %w", EvalResultFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&ef); err != nil {
		return ef, fmt.Errorf("parse %s: %w", EvalResultFile, err)
	}
	for _, l := range []struct {
		name string
		v    *float64
	}{{"train_loss", ef.TrainLoss}, {"eval_loss", ef.EvalLoss}, {"eval_perplexity", ef.EvalPerplexity}} {
		if l.v != nil && (math.IsNaN(*l.v) || math.IsInf(*l.v, 0) || *l.v < 0) {
			return ef, fmt.Errorf("%s: %s %g is not a finite non-negative number", EvalResultFile, l.name, *l.v)
		}
	}
	if ef.EvalLoss == nil && len(ef.Predictions) == 0 {
		return ef, fmt.Errorf("%s reports neither eval_loss nor predictions", EvalResultFile)
	}
	if ef.EvalLoss != nil && ef.EvalPerplexity == nil {
		ppl := math.Exp(*ef.EvalLoss)
		ef.EvalPerplexity = &ppl
	}
	ids := make(map[string]bool, len(eval))
	for _, r := range eval {
		id := r.ID
		if id == "" {
			id = dataset.ContentID(r)
		}
		ids[id] = true
	}
	seen := make(map[string]bool, len(ef.Predictions))
	for i, pr := range ef.Predictions {
		if !ids[pr.ID] {
			return ef, fmt.Errorf("%s: prediction %d names unknown record %q", EvalResultFile, i, pr.ID)
		}
		if seen[pr.ID] {
			return ef, fmt.Errorf("%s: prediction %d repeats record %q", EvalResultFile, i, pr.ID)
		}
		seen[pr.ID] = true
	}
	return ef, nil
}

// logTail returns the last lines of the log, for error messages.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 2048
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(0, st.Size()-tail)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	return fmt.Sprintf(" (end of %s:\n%s)", path, strings.TrimRight(string(b), "\n"))
}

// expandCommand splits a command template into words and replaces the
// placeholders in each word.
func expandCommand(tmpl string, p map[string]string) ([]string, error) {
	words, err := splitWords(tmpl)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	for _, w := range words {
		for rest := w; ; {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				break
			}
			if name := rest[i+1 : i+j]; isPlaceholderName(name) {
				if _, ok := p[name]; !ok {
					return nil, fmt.Errorf("unknown placeholder {%s} in command (known: {train} {eval} {train_alpaca} {eval_alpaca} {train_chat} {eval_chat} {out} {dir} {seed})", name)
				}
			}
			rest = rest[i+1:]
		}
	}
	pairs := make([]string, 0, 2*len(p))
	for k, v := range p {
		pairs = append(pairs, "{"+k+"}", v)
	}
	r := strings.NewReplacer(pairs...)
	for i, w := range words {
		words[i] = r.Replace(w)
	}
	return words, nil
}

// isPlaceholderName reports whether s looks like a placeholder name
// (lower-case letters and underscores), so that JSON or shell braces in a
// command are left alone.
func isPlaceholderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// splitWords splits s into words as a POSIX shell does for quoting:
// whitespace separates words, single quotes keep everything literally,
// double quotes keep everything but backslash escapes of ", \, $ and `,
// and a backslash outside quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote in command")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote in command")
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash in command")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
