package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/train"
)

// JudgeFile is judge.json: the judge's verdicts on the answers of a
// configuration's students (or of the baseline: the base model and the
// real-only students).
type JudgeFile struct {
	Verdicts []train.Verdict  `json:"verdicts"`
	Stats    train.JudgeStats `json:"stats"`
	Skipped  string           `json:"skipped,omitempty"`
}

const judgeFile = "judge.json"

// Configuration names of the baseline's columns in the rating table.
const (
	colBase    = "base"
	colReal    = "real"
	colAnchors = "anchors"
)

// judgeVersion changes when the judge rates the same answers differently
// (2: prompts shortened to fit the judge's window), so that verdicts of an
// older ggmi are not reused.
const judgeVersion = 2

// judgeFingerprint identifies the judge's effective settings (nil: no
// judge): truncate unset and true give the same fingerprint.
func judgeFingerprint(spec *JudgeSpec) string {
	if spec == nil {
		return fingerprint(spec)
	}
	s := *spec
	s.Truncate = nil
	return fingerprint(s, judgeVersion, spec.Truncates())
}

// openJudge opens the judge model.
func (r *Runner) openJudge(spec *JudgeSpec) (*train.Judge, func(), error) {
	ms, err := llm.ParseModelSpec(r.cfg.Resolve(spec.Model))
	if err != nil {
		return nil, nil, fmt.Errorf("judge.model: %w", err)
	}
	o, err := llm.Open(ms, llm.OpenOptions{APIKeyEnv: spec.APIKeyEnv})
	if err != nil {
		return nil, nil, fmt.Errorf("judge: %w", err)
	}
	cb, err := llm.Cached(o.Backend, filepath.Join(r.dir, "cache", "judge.db"))
	if err != nil {
		o.Close()
		return nil, nil, err
	}
	j := &train.Judge{Backend: cb, Schema: true, Seed: r.cfg.Seed, Progress: r.opt.Progress, Workers: 2,
		NoTruncate: !spec.Truncates()}
	if o.Model != nil {
		j.ContextTokens = o.Model.Config.SeqLen
		// A small judge: keep the reply within its window.
		j.MaxTokens = min(512, o.Model.Config.SeqLen/3)
		j.MaxExplanation = 120
	}
	return j, func() { cb.Close(); o.Close() }, nil
}

// judgeQuestions returns the test records the students answer.
func (r *Runner) judgeQuestions(spec *JudgeSpec) ([]dataset.Record, error) {
	test, err := r.loadSplit(testFile)
	if err != nil {
		return nil, err
	}
	n := spec.Questions
	if n <= 0 {
		n = 50
	}
	if len(test) > n {
		test = test[:n]
	}
	return test, nil
}

// answersOf has one built-in student (checkpoint) answer the questions.
func (r *Runner) answersOf(ctx context.Context, m *llama.Model, col string, qs []dataset.Record, tmpl train.PromptTemplate, maxTokens int) ([]train.JudgeItem, error) {
	b, err := llm.NewBuiltin(m, llm.BuiltinOptions{Name: col})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if maxTokens <= 0 {
		maxTokens = 128
	}
	maxTokens = min(maxTokens, m.Config.SeqLen/4)
	// A question too long for the student's window is left out (counted as
	// not answered), not an error of the whole stage.
	var fit []dataset.Record
	for _, q := range qs {
		if len(m.Tokenizer.Encode(tmpl.Prompt(q), true, false))+maxTokens <= m.Config.SeqLen {
			fit = append(fit, q)
		}
	}
	return train.Answers(ctx, b, fit, train.AnswerOptions{Config: col, Template: tmpl, MaxTokens: maxTokens, Seed: r.cfg.Seed})
}

// rate has the judge rate items and writes judge.json into dir.
func (r *Runner) rate(ctx context.Context, spec *JudgeSpec, items []train.JudgeItem, dir string) error {
	j, closeJudge, err := r.openJudge(spec)
	if err != nil {
		return err
	}
	defer closeJudge()
	v, st, err := j.Rate(ctx, items)
	if err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, judgeFile), JudgeFile{Verdicts: v, Stats: st})
}

// stageJudge has the configuration's students answer the first questions
// of the test split and the judge rate the answers against the
// references; the base model and the real-only students are rated once
// per run as the baseline. Built-in students answer with their first
// seed's checkpoint; external students with the predictions their trainer
// wrote.
func (r *Runner) stageJudge(ctx context.Context, c *Configuration, dir string) error {
	spec := c.Config.Judge
	if spec == nil || c.Config.Students == nil {
		why := "the experiment has no judge section"
		if spec != nil {
			why = "the experiment has no students to judge"
		}
		return writeJSON(filepath.Join(dir, judgeFile), JudgeFile{Skipped: why})
	}
	var sf StudentsFile
	if err := readJSON(filepath.Join(dir, studentsFile), &sf); err != nil {
		return err
	}
	s, err := r.studentSetup(c.Config.Students, c.Config.Seed)
	if err != nil {
		return err
	}
	qs, err := r.judgeQuestions(spec)
	if err != nil {
		return err
	}
	items, err := r.mixItems(ctx, s, sf, qs, spec)
	if err != nil {
		return err
	}
	if err := r.rate(ctx, spec, items, dir); err != nil {
		return err
	}
	return r.judgeBaseline(ctx, s, spec, qs)
}

// mixItems collects the answers of the students of every mix.
func (r *Runner) mixItems(ctx context.Context, s *studentSetup, sf StudentsFile, qs []dataset.Record, spec *JudgeSpec) ([]train.JudgeItem, error) {
	var items []train.JudgeItem
	for _, mr := range sf.Mixes {
		col := mixColumn(mr)
		switch {
		case len(mr.Checkpoints) > 0:
			m, err := llama.Load(mr.Checkpoints[0])
			if err != nil {
				return nil, fmt.Errorf("student %s: %w", mr.Mix, err)
			}
			it, err := r.answersOf(ctx, m, col, qs, s.tmpl, spec.MaxTokens)
			if err != nil {
				return nil, fmt.Errorf("student %s: %w", mr.Mix, err)
			}
			items = append(items, it...)
		case len(mr.External) > 0:
			items = append(items, train.PredictionItems(qs, mr.External[0].Eval.Predictions, col, "")...)
		}
	}
	return items, nil
}

// mixColumn names a mix in the rating table.
func mixColumn(mr MixResult) string {
	if mr.Source == sourceAnchors {
		return colAnchors
	}
	if mr.Synthetic == 0 {
		return colReal
	}
	return "mix-" + strings.ReplaceAll(mr.Mix, ":", "-")
}

// judgeBaseline rates the base model and the real-only students once.
func (r *Runner) judgeBaseline(ctx context.Context, s *studentSetup, spec *JudgeSpec, qs []dataset.Record) error {
	baselineMu.Lock()
	defer baselineMu.Unlock()
	var cur struct{ Dir string }
	if err := readJSON(filepath.Join(r.dir, "baseline", "current.json"), &cur); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	dir := filepath.Join(cur.Dir, "judge-"+judgeFingerprint(spec))
	pointer := filepath.Join(r.dir, "baseline", "judge.json")
	if _, err := os.Stat(filepath.Join(dir, judgeFile)); err == nil {
		return writeJSON(pointer, map[string]string{"dir": dir})
	}
	var sf StudentsFile
	if err := readJSON(filepath.Join(cur.Dir, studentsFile), &sf); err != nil {
		return err
	}
	items, err := r.mixItems(ctx, s, sf, qs, spec)
	if err != nil {
		return err
	}
	if s.base != nil {
		it, err := r.answersOf(ctx, s.base, colBase, qs, s.tmpl, spec.MaxTokens)
		if err != nil {
			return fmt.Errorf("base model: %w", err)
		}
		items = append(items, it...)
	}
	if err := r.rate(ctx, spec, items, dir); err != nil {
		return err
	}
	return writeJSON(pointer, map[string]string{"dir": dir})
}
