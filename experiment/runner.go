package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/progress"
)

// Stage names, in the order they run.
const (
	StageData     = "data"
	StageGenerate = "generate"
	StageCurate   = "curate"
	StageMeasure  = "measure"
	StageTrain    = "train"
	StageJudge    = "judge"
	StageReport   = "report"
)

// Stages lists every stage in order.
var Stages = []string{StageData, StageGenerate, StageCurate, StageMeasure, StageTrain, StageJudge, StageReport}

// perConfig reports whether a stage runs once per configuration.
func perConfig(stage string) bool {
	switch stage {
	case StageGenerate, StageCurate, StageMeasure, StageTrain, StageJudge:
		return true
	}
	return false
}

// Options control a Runner.
type Options struct {
	// Stage runs only this stage, or these stages joined by commas, in
	// the pipeline's order ("" runs them all). The stages they need must
	// have completed.
	Stage string
	// Shard selects this machine's configurations.
	Shard Shard
	// Force reruns stages even when their fingerprint is unchanged.
	Force bool
	// Version is the ggmi version written to the manifest.
	Version string
	// Progress receives progress of the long stages.
	Progress progress.Reporter
	// Log receives one line per stage started, skipped or finished.
	Log io.Writer
}

// Runner executes an experiment into its run directory.
type Runner struct {
	cfg   *Config
	raw   []byte
	opt   Options
	dir   string
	confs []Configuration

	mu       sync.Mutex
	manifest Manifest
	fps      map[string]string // "stage/config" → fingerprint of the completed stage
	stage    map[string]stageFunc
}

// NewRunner prepares a run of cfg; raw is the experiment file's text, kept
// in the manifest.
func NewRunner(cfg *Config, raw []byte, opt Options) (*Runner, error) {
	for _, st := range strings.Split(opt.Stage, ",") {
		if opt.Stage != "" && !slices.Contains(Stages, st) {
			return nil, fmt.Errorf("unknown stage %q (want one of %s, or several joined by commas)", st, strings.Join(Stages, ", "))
		}
	}
	confs, err := cfg.Configurations()
	if err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	opt.Progress = progress.OrNop(opt.Progress)
	r := &Runner{cfg: cfg, raw: raw, opt: opt, dir: cfg.RunDir(), confs: confs, fps: map[string]string{}}
	r.stage = r.funcs()
	return r, nil
}

// Dir is the run directory.
func (r *Runner) Dir() string { return r.dir }

// Configurations are the sweep's points.
func (r *Runner) Configurations() []Configuration { return r.confs }

// ConfigDir is the directory of one configuration.
func (r *Runner) ConfigDir(id string) string { return filepath.Join(r.dir, "configs", id) }

// Run executes the stages. A failure in one configuration's stage stops
// that configuration's later stages and is reported at the end; the other
// configurations go on.
func (r *Runner) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	if err := r.loadManifest(); err != nil {
		return err
	}
	stages := Stages
	if r.opt.Stage != "" {
		// The named stages, in the pipeline's order.
		want := strings.Split(r.opt.Stage, ",")
		stages = slices.DeleteFunc(slices.Clone(Stages), func(st string) bool { return !slices.Contains(want, st) })
	}
	var failed []error
	broken := map[string]bool{}
	started := time.Now()
	for _, st := range stages {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st == StageReport && r.opt.Shard.Active() {
			fmt.Fprintln(r.opt.Log, "report: skipped on a shard; run `ggmi run --merge` on the joined run directory")
			continue
		}
		if !perConfig(st) {
			if err := r.runStage(ctx, st, nil); err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				return fmt.Errorf("stage %s: %w", st, err)
			}
			continue
		}
		for i := range r.confs {
			c := &r.confs[i]
			if !r.opt.Shard.Owns(i) || broken[c.ID] {
				continue
			}
			if err := r.runStage(ctx, st, c); err != nil {
				if errors.Is(err, context.Canceled) || ctx.Err() != nil {
					return err
				}
				broken[c.ID] = true
				failed = append(failed, fmt.Errorf("configuration %s, stage %s: %w", c.ID, st, err))
				fmt.Fprintf(r.opt.Log, "%s %s: FAILED: %v\n", st, c.ID, err)
			}
		}
	}
	if r.opt.Shard.Active() {
		reasons := map[string]string{}
		for _, e := range failed {
			msg := e.Error()
			id, _, _ := strings.Cut(strings.TrimPrefix(msg, "configuration "), ",")
			reasons[id] = msg
		}
		if err := r.writeShardMarker(stages, started, reasons); err != nil {
			failed = append(failed, fmt.Errorf("shard completion marker: %w", err))
		}
	}
	return errors.Join(failed...)
}

// runStage runs one stage unless its fingerprint shows it complete.
func (r *Runner) runStage(ctx context.Context, st string, c *Configuration) error {
	dir, id := r.dir, ""
	if c != nil {
		dir, id = r.ConfigDir(c.ID), c.ID
	}
	fp, err := r.stageFingerprint(st, c)
	if err != nil {
		return err
	}
	label := st
	if id != "" {
		label += " " + id
	}
	if !r.opt.Force && done(dir, st, fp) {
		fmt.Fprintf(r.opt.Log, "%s: done already\n", label)
		r.setFP(st, id, fp)
		return r.record(StageRecord{Stage: st, Config: id, Fingerprint: fp, Finished: time.Now().UTC(), Skipped: true})
	}
	fmt.Fprintf(r.opt.Log, "%s: running\n", label)
	start := time.Now()
	if err := r.exec(ctx, st, c, dir); err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	m := stageMarker{Fingerprint: fp, Finished: time.Now().UTC(), Seconds: sec}
	if err := writeJSON(markerPath(dir, st), m); err != nil {
		return err
	}
	r.setFP(st, id, fp)
	fmt.Fprintf(r.opt.Log, "%s: finished in %.1f s\n", label, sec)
	return r.record(StageRecord{Stage: st, Config: id, Fingerprint: fp, Seconds: sec, Finished: m.Finished})
}

func (r *Runner) setFP(st, id, fp string) {
	r.mu.Lock()
	r.fps[st+"/"+id] = fp
	r.mu.Unlock()
}

// upstream returns the fingerprint of a completed stage (read from its
// marker when this process did not run it).
func (r *Runner) upstream(st string, c *Configuration) (string, error) {
	id, dir := "", r.dir
	if c != nil && perConfig(st) {
		id, dir = c.ID, r.ConfigDir(c.ID)
	}
	r.mu.Lock()
	fp, ok := r.fps[st+"/"+id]
	r.mu.Unlock()
	if ok {
		return fp, nil
	}
	var m stageMarker
	if err := readJSON(markerPath(dir, st), &m); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			where := ""
			if id != "" {
				where = " for configuration " + id
			}
			return "", fmt.Errorf("stage %s has not completed%s; run it first", st, where)
		}
		return "", err
	}
	return m.Fingerprint, nil
}

// stageFingerprint hashes what a stage's output depends on: its part of
// the configuration and the fingerprints of the stages it reads.
func (r *Runner) stageFingerprint(st string, c *Configuration) (string, error) {
	var cc *Config
	if c != nil {
		cc = c.Config
	}
	up := func(names ...string) ([]string, error) {
		var out []string
		for _, n := range names {
			fp, err := r.upstream(n, c)
			if err != nil {
				return nil, err
			}
			out = append(out, fp)
		}
		return out, nil
	}
	switch st {
	case StageData:
		var inputs []Input
		for _, in := range r.dataInputs() {
			h, n, err := hashFile(in.Path)
			if err != nil {
				if strings.Contains(in.Path, "://") {
					continue // hub data: pinned by its URI and revision
				}
				return "", fmt.Errorf("%s %s: %w", in.Role, in.Path, err)
			}
			in.SHA256, in.Bytes = h, n
			inputs = append(inputs, in)
		}
		return fingerprint(st, r.cfg.Seed, r.cfg.Anchors, r.cfg.Test, r.cfg.Split, inputs), nil
	case StageGenerate:
		u, err := up(StageData)
		if err != nil {
			return "", err
		}
		var files []string // the attribute files' contents enter by hash
		for _, name := range cc.Generation.attributeNames() {
			if f := cc.Generation.Attributes[name].File; f != "" {
				h, _, err := hashFile(cc.Resolve(f))
				if err != nil {
					return "", fmt.Errorf("generation.attributes.%s: %w", name, err)
				}
				files = append(files, name+"="+h)
			}
		}
		if len(files) == 0 {
			return fingerprint(st, u, cc.Seed, cc.Generation, c.Generator), nil
		}
		return fingerprint(st, u, cc.Seed, cc.Generation, c.Generator, files), nil
	case StageCurate:
		u, err := up(StageGenerate)
		if err != nil {
			return "", err
		}
		// The keyword file's contents, not just its path: editing the
		// list reruns curation and what reads it.
		if f := cc.Curation.KeywordsFile; f != "" && !cc.Curation.Disabled {
			kw, err := curate.ReadKeywords(r.cfg.Resolve(f))
			if err != nil {
				return "", err
			}
			return fingerprint(st, u, cc.Curation, kw), nil
		}
		return fingerprint(st, u, cc.Curation), nil
	case StageMeasure:
		u, err := up(StageData, StageCurate)
		if err != nil {
			return "", err
		}
		// v2: the divergences compare S_gen with the test split; v3: the
		// offline semantic entropy is per prompt.
		return fingerprint(st, u, cc.Seed, cc.Measure, "measure-v3"), nil
	case StageTrain:
		u, err := up(StageData, StageCurate)
		if err != nil {
			return "", err
		}
		// v2: the shared baseline adds the student on S_anchor.
		return fingerprint(st, u, cc.Students, "train-v2"), nil
	case StageJudge:
		u, err := up(StageTrain)
		if err != nil {
			return "", err
		}
		return fingerprint(st, u, judgeFingerprint(cc.Judge)), nil
	case StageReport:
		var parts []any
		for _, c := range r.confs {
			for _, s := range []string{StageMeasure, StageTrain, StageJudge} {
				var m stageMarker
				_ = readJSON(markerPath(r.ConfigDir(c.ID), s), &m)
				parts = append(parts, m.Fingerprint)
			}
		}
		return fingerprint(st, r.opt.Version, parts), nil
	}
	return "", fmt.Errorf("unknown stage %q", st)
}

// dataInputs lists the real data files the data stage reads.
func (r *Runner) dataInputs() []Input {
	in := []Input{{Role: "anchors", Path: r.cfg.Resolve(r.cfg.Anchors.Path)}}
	if r.cfg.Test != nil {
		in = append(in, Input{Role: "test", Path: r.cfg.Resolve(r.cfg.Test.Path)})
	}
	return in
}

// loadManifest reads the run's manifest or starts one.
func (r *Runner) loadManifest() error {
	path := r.manifestPath()
	var m Manifest
	if err := readJSON(path, &m); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	now := time.Now().UTC()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Name, m.Version, m.Updated, m.Seed = r.cfg.Name, r.opt.Version, now, r.cfg.Seed
	m.Config = string(r.raw)
	if len(r.raw) == 0 {
		b, _ := yaml.Marshal(r.cfg)
		m.Config = string(b)
	}
	m.ConfigSHA256 = fingerprint(m.Config)
	m.Configurations = r.confs
	m.Shard = r.opt.Shard.String()
	m.Inputs = nil
	for _, in := range r.dataInputs() {
		if h, n, err := hashFile(in.Path); err == nil {
			in.SHA256, in.Bytes = h, n
		}
		m.Inputs = append(m.Inputs, in)
	}
	r.manifest = m
	return writeJSON(path, m)
}

func (r *Runner) manifestPath() string {
	if s := r.opt.Shard.String(); s != "" {
		return filepath.Join(r.dir, "manifest."+s+".json")
	}
	return filepath.Join(r.dir, "manifest.json")
}

// record adds a stage record to the manifest and rewrites it.
func (r *Runner) record(s StageRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := &r.manifest
	m.Stages = slices.DeleteFunc(m.Stages, func(x StageRecord) bool { return x.Stage == s.Stage && x.Config == s.Config })
	if s.Skipped {
		// Keep the timing of the run that did the work, when known.
		var old stageMarker
		dir := r.dir
		if s.Config != "" {
			dir = r.ConfigDir(s.Config)
		}
		if readJSON(markerPath(dir, s.Stage), &old) == nil {
			s.Seconds, s.Finished = old.Seconds, old.Finished
		}
	}
	m.Stages = append(m.Stages, s)
	m.Updated = time.Now().UTC()
	return writeJSON(r.manifestPath(), m)
}

// Manifest returns a copy of the manifest as written so far.
func (r *Runner) Manifest() Manifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manifest
}
