package experiment

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/train"
)

// StudentsFile is students/students.json of a configuration (and of the
// shared baseline): the students trained on each mix, over seeds.
type StudentsFile struct {
	// BaseTestLoss is the held-out loss of the untrained base model.
	BaseTestLoss float64 `json:"base_test_loss"`
	// Mixes holds one entry per real:synthetic mix.
	Mixes []MixResult `json:"mixes"`
	// Skipped says why no student was trained.
	Skipped string `json:"skipped,omitempty"`
}

// MixResult is the students of one mix.
type MixResult struct {
	Mix string `json:"mix"`
	// Source is the real data of the mix: "train" (the train split, the
	// default when empty) or "anchors" (S_anchor alone: the student the
	// paper's KL Gap compares with the one trained on S_gen).
	Source    string  `json:"source,omitempty"`
	Real      float64 `json:"real"`
	Synthetic float64 `json:"synthetic"`
	// Summary aggregates the built-in students over seeds.
	Summary *train.Summary `json:"summary,omitempty"`
	// External holds the external trainer's runs, one per seed.
	External []ExternalRun `json:"external,omitempty"`
	// TestLoss and Gap are over seeds, whichever trainer ran.
	TestLoss train.Interval `json:"test_loss"`
	Gap      train.Interval `json:"gap"`
	// Checkpoints are the built-in students' files, one per seed.
	Checkpoints []string `json:"checkpoints,omitempty"`
}

// ExternalRun is one run of the user's trainer.
type ExternalRun struct {
	Seed uint64         `json:"seed"`
	Dir  string         `json:"dir"`
	Eval train.EvalFile `json:"eval"`
	Gap  float64        `json:"gap"`
}

const studentsFile = "students/students.json"

// studentSetup is what every student of a run shares.
type studentSetup struct {
	spec    *StudentSpec
	base    *llama.Model // nil with an external trainer
	tmpl    train.PromptTemplate
	real    []dataset.Record
	anchors []dataset.Record
	test    []dataset.Record
	seeds   []uint64
}

var baseModels sync.Map // path → *llama.Model, loaded once per process

func loadBase(path string) (*llama.Model, error) {
	if m, ok := baseModels.Load(path); ok {
		return m.(*llama.Model), nil
	}
	// hf:// bases are downloaded into the hub cache first (once: later
	// runs find them there).
	m, err := llm.LoadModel(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("students.base: %w", err)
	}
	baseModels.Store(path, m)
	return m, nil
}

func (r *Runner) studentSetup(spec *StudentSpec, seed uint64) (*studentSetup, error) {
	s := &studentSetup{spec: spec, seeds: spec.Seeds}
	if len(s.seeds) == 0 {
		s.seeds = []uint64{seed}
	}
	var err error
	if s.real, err = r.loadSplit(trainFile); err != nil {
		return nil, err
	}
	if s.test, err = r.loadSplit(testFile); err != nil {
		return nil, err
	}
	if s.anchors, err = r.loadSplit(anchorsFile); err != nil {
		return nil, err
	}
	name := spec.Template
	if spec.External == "" {
		path := r.cfg.Resolve(strings.TrimPrefix(spec.Base, "builtin:"))
		if s.base, err = loadBase(path); err != nil {
			return nil, err
		}
		if name == "" && s.base.Config.SeqLen <= 512 {
			name = "compact" // the Alpaca preamble alone would fill a small window
		}
	}
	if name == "" {
		name = "alpaca"
	}
	if s.tmpl, err = train.TemplateByName(name); err != nil {
		return nil, fmt.Errorf("students.template: %w", err)
	}
	return s, nil
}

// options are the built-in trainer's options for one mix.
func (s *studentSetup) options(out string, r *Runner) train.Options {
	sp := s.spec
	o := train.Options{Base: s.base, Template: s.tmpl, Steps: sp.Steps, Epochs: sp.Epochs, BatchSize: sp.Batch,
		SeqLen: sp.SeqLen, LR: sp.LR, Out: out, Progress: r.opt.Progress}
	if sh := sp.Scratch; sh != nil {
		o.Scratch = &train.Shape{Dim: sh.Dim, Layers: sh.Layers, Heads: sh.Heads, Hidden: sh.Hidden}
	}
	return o
}

// Sources of a mix's real data (MixResult.Source).
const (
	sourceTrain   = "train"
	sourceAnchors = "anchors"
)

// trainMix trains the students of one mix over the seeds, into dir; the
// real part comes from source (the train split or S_anchor).
func (r *Runner) trainMix(ctx context.Context, s *studentSetup, mix, source string, syn []dataset.Record, dir string) (MixResult, error) {
	re, sy, err := ParseMix(mix)
	if err != nil {
		return MixResult{}, err
	}
	res := MixResult{Mix: mix, Real: re, Synthetic: sy}
	real, sub := s.real, "mix-"+strings.ReplaceAll(mix, ":", "-")
	if source == sourceAnchors {
		res.Source, real, sub = sourceAnchors, s.anchors, "anchors"
	}
	mo := &train.MixOptions{Real: re, Synthetic: sy, Budget: s.spec.Tokens}
	if s.base != nil {
		mo.Count = s.tmpl.TokenCounter(s.base.Tokenizer)
	}
	if sy == 0 {
		syn = nil
	}
	mixDir := filepath.Join(dir, "students", sub)
	if err := os.MkdirAll(mixDir, 0o755); err != nil {
		return res, err
	}
	if s.spec.External != "" {
		var losses, gaps []float64
		for _, seed := range s.seeds {
			m := *mo
			m.Seed = seed
			recs, _, err := train.Mix(real, syn, m)
			if err != nil {
				return res, fmt.Errorf("mix %s: %w", mix, err)
			}
			var timeout time.Duration
			if s.spec.Timeout != "" {
				if timeout, err = time.ParseDuration(s.spec.Timeout); err != nil {
					return res, fmt.Errorf("students.timeout: %w", err)
				}
			}
			wd := filepath.Join(mixDir, fmt.Sprintf("seed-%d", seed))
			if err := os.RemoveAll(wd); err != nil {
				return res, err
			}
			ex, err := train.RunExternal(ctx, train.ExternalOptions{Command: s.spec.External, Dir: wd, Seed: seed, Timeout: timeout}, recs, s.test)
			if err != nil {
				return res, fmt.Errorf("mix %s seed %d: %w", mix, seed, err)
			}
			res.External = append(res.External, ExternalRun{Seed: seed, Dir: ex.Dir, Eval: ex.Eval, Gap: ex.Gap})
			loss := math.NaN()
			if ex.Eval.EvalLoss != nil {
				loss = *ex.Eval.EvalLoss
			}
			losses, gaps = append(losses, loss), append(gaps, ex.Gap)
		}
		res.TestLoss, res.Gap = train.MeanCI(losses), train.MeanCI(gaps)
		return res, nil
	}
	cfg := train.Configuration{Name: mix, Real: real, Synthetic: syn, Mix: mo}
	ckpt := "student.gguf"
	if s.base != nil && s.spec.Scratch == nil && !s.base.CanWriteGGUF() {
		ckpt = "student" // a Hugging Face folder (gpt2, qwen2, scaled RoPE)
	}
	sum, err := train.RunSeeds(ctx, s.options(filepath.Join(mixDir, ckpt), r), cfg, s.test, s.seeds)
	if err != nil {
		return res, fmt.Errorf("mix %s: %w", mix, err)
	}
	res.Summary, res.TestLoss, res.Gap = sum, sum.TestLoss, sum.Gap
	for _, run := range sum.Runs {
		res.Checkpoints = append(res.Checkpoints, run.Checkpoint)
	}
	return res, nil
}

// stageTrain trains the configuration's students on every mix that
// contains synthetic data; the real-only mixes are the shared baseline,
// trained once per run.
func (r *Runner) stageTrain(ctx context.Context, c *Configuration, dir string) error {
	spec := c.Config.Students
	if spec == nil {
		return writeJSON(filepath.Join(dir, studentsFile), StudentsFile{Skipped: "the experiment has no students section"})
	}
	s, err := r.studentSetup(spec, c.Config.Seed)
	if err != nil {
		return err
	}
	syn, _, err := dataset.ReadFile(filepath.Join(dir, synthetic), dataset.ReadOptions{Schema: "record"})
	if err != nil {
		//lint:ignore ST1005 S_gen is the papers' name of the synthetic data
		return fmt.Errorf("S_gen: %w", err)
	}
	var out StudentsFile
	for _, mix := range mixesOf(spec) {
		if _, sy, _ := ParseMix(mix); sy == 0 {
			continue
		}
		res, err := r.trainMix(ctx, s, mix, sourceTrain, syn, dir)
		if err != nil {
			return err
		}
		out.Mixes = append(out.Mixes, res)
		if res.Summary != nil && len(res.Summary.Runs) > 0 {
			out.BaseTestLoss = res.Summary.Runs[0].Before.Mean
		}
	}
	base, err := r.baseline(ctx, s)
	if err != nil {
		return err
	}
	if out.BaseTestLoss == 0 {
		out.BaseTestLoss = base.BaseTestLoss
	}
	return writeJSON(filepath.Join(dir, studentsFile), out)
}

// mixesOf returns the student mixes ("0:1" when none are given).
func mixesOf(spec *StudentSpec) []string {
	if len(spec.Mixes) == 0 {
		return []string{"0:1"}
	}
	return spec.Mixes
}

var baselineMu sync.Mutex

// baseline trains the real-only students (every mix without synthetic
// data, and one on S_anchor alone) and evaluates the untrained base
// model, once per run and students section: the result is kept under
// baseline/ by fingerprint.
func (r *Runner) baseline(ctx context.Context, s *studentSetup) (StudentsFile, error) {
	baselineMu.Lock()
	defer baselineMu.Unlock()
	dfp, err := r.upstream(StageData, nil)
	if err != nil {
		return StudentsFile{}, err
	}
	// v2: the baseline includes the student on S_anchor.
	dir := filepath.Join(r.dir, "baseline", fingerprint("baseline-v2", dfp, s.spec, s.seeds))
	path := filepath.Join(dir, studentsFile)
	var out StudentsFile
	if readJSON(path, &out) == nil {
		return out, writeJSON(filepath.Join(r.dir, "baseline", "current.json"), map[string]string{"dir": dir})
	}
	for _, mix := range mixesOf(s.spec) {
		if _, sy, _ := ParseMix(mix); sy != 0 {
			continue
		}
		res, err := r.trainMix(ctx, s, mix, sourceTrain, nil, dir)
		if err != nil {
			return out, fmt.Errorf("baseline: %w", err)
		}
		out.Mixes = append(out.Mixes, res)
	}
	// The student on S_anchor alone, which each configuration's S_gen
	// student is compared with (the text analogue of the KL Gap).
	res, err := r.trainMix(ctx, s, "1:0", sourceAnchors, nil, dir)
	if err != nil {
		return out, fmt.Errorf("baseline: S_anchor student: %w", err)
	}
	out.Mixes = append(out.Mixes, res)
	if s.base != nil {
		l, err := train.Evaluate(ctx, s.base, s.test, train.EvalOptions{Template: s.tmpl})
		if err != nil {
			return out, fmt.Errorf("baseline: evaluate the base model: %w", err)
		}
		out.BaseTestLoss = l.Mean
	}
	if err := writeJSON(path, out); err != nil {
		return out, err
	}
	return out, writeJSON(filepath.Join(r.dir, "baseline", "current.json"), map[string]string{"dir": dir})
}
