package textlab

import (
	"fmt"
	"math"
	"path/filepath"
)

// Prompt modes of the generator M.
const (
	// PromptTag trains M on each text after its source's tag and samples
	// n/(K+J+L) texts after each tag: M's components are sampled with equal
	// weights, as the GMM samples its M. The default.
	PromptTag = "tag"
	// PromptNone trains M on the bare texts and samples every text from BOS,
	// so the share of each source in S_gen is whatever M learned.
	PromptNone = "none"
)

// Options configure a text-lab run. [Default] and [Quick] give complete
// settings; zero values are not filled in.
type Options struct {
	// SharedDir is the shared folder holding data/ and models/stories260K/.
	// It is not read for what Tasks, Unrelated and Base already provide.
	SharedDir string `json:"shared_dir"`
	// Tasks and Unrelated, when not nil, replace the catalogues read from
	// SharedDir ([TaskSources], [UnrelatedSources]).
	Tasks     []Source `json:"-"`
	Unrelated []Source `json:"-"`

	// K, J and L are the base world; each sweep overrides one of them.
	K int `json:"K"`
	J int `json:"J"`
	L int `json:"L"`
	// SweepK, SweepJ and SweepL are the values of each swept variable, in
	// order; an empty list skips that sweep.
	SweepK []int `json:"sweep_K"`
	SweepJ []int `json:"sweep_J"`
	SweepL []int `json:"sweep_L"`

	// AnchorsPerSource is N_k, the anchor texts from each of the first K
	// task sources.
	AnchorsPerSource int `json:"anchors_per_source"`
	// GeneratorPerSource is the number of texts of each of M's K+J+L
	// sources that M is fine-tuned on (the anchors are the first of them).
	GeneratorPerSource int `json:"generator_per_source"`
	// HeldOutPerSource is the number of held-out texts of each of G's K+J
	// task sources in the ground-truth loss.
	HeldOutPerSource int `json:"held_out_per_source"`
	// Synthetic is n, the texts sampled from M.
	Synthetic int `json:"synthetic"`

	// StudentSteps, Batch and SeqLen fix the students' token budget
	// StudentSteps × Batch × SeqLen (packed), equal for both students.
	StudentSteps int `json:"student_steps"`
	Batch        int `json:"batch"`
	SeqLen       int `json:"seq_len"`
	// GeneratorStepsPerSource × (K+J+L) is the number of steps of M's
	// fine-tuning, so that every source gets the same training whatever
	// the number of sources.
	GeneratorStepsPerSource int `json:"generator_steps_per_source"`
	// LR and MinLR are the peak and final learning rates of the cosine
	// schedule, Warmup its warm-up steps (students and M alike).
	LR     float64 `json:"lr"`
	MinLR  float64 `json:"min_lr"`
	Warmup int     `json:"warmup"`
	// Temperature samples S_gen from M.
	Temperature float64 `json:"temperature"`
	// Prompt is PromptTag or PromptNone.
	Prompt string `json:"prompt"`
	// Shuffle draws, per seed, a permutation of the task and of the
	// unrelated sources (the same for every sweep value of that seed), so
	// that the sweeps average over which sources play which part; without
	// it every seed uses the catalogue order.
	Shuffle bool `json:"shuffle"`

	// Seeds worlds per sweep value, with seeds Seed, Seed+1, ….
	Seeds int    `json:"seeds"`
	Seed  uint64 `json:"seed"`
	// SplitSeed splits the sources without a test file 8:2.
	SplitSeed uint64 `json:"split_seed"`
	// Workers run worlds in parallel (0: every core); results do not
	// depend on it.
	Workers int `json:"workers"`
}

// Default is the configuration of the full sweep: K, J and L each over
// four values around the base world K = J = L = 1, six seeds per value
// (60 distinct worlds). It costs about 460 CPU-seconds, under four minutes
// on two idle cores.
func Default() Options {
	return Options{
		K: 1, J: 1, L: 1,
		SweepK: []int{1, 2, 3, 4}, SweepJ: []int{0, 1, 2, 3}, SweepL: []int{0, 1, 2, 3},
		AnchorsPerSource: 32, GeneratorPerSource: 96, HeldOutPerSource: 16, Synthetic: 128,
		StudentSteps: 60, Batch: 8, SeqLen: 64, GeneratorStepsPerSource: 40,
		LR: 2e-3, MinLR: 2e-4, Warmup: 4, Temperature: 1, Prompt: PromptTag, Shuffle: true,
		Seeds: 6, Seed: 1, SplitSeed: 1,
	}
}

// Quick is a small configuration for tests: two values per sweep, one
// seed, a few steps (a few seconds).
func Quick() Options {
	o := Default()
	o.SweepK, o.SweepJ, o.SweepL = []int{1, 2}, []int{0, 1}, []int{0, 1}
	o.AnchorsPerSource, o.GeneratorPerSource, o.HeldOutPerSource, o.Synthetic = 4, 8, 4, 12
	o.StudentSteps, o.Batch, o.SeqLen, o.GeneratorStepsPerSource = 6, 4, 32, 4
	o.Warmup = 1
	o.Seeds = 1
	return o
}

// TokenBudget is the number of token positions each student trains on.
func (o *Options) TokenBudget() int { return o.StudentSteps * o.Batch * o.SeqLen }

// dataDir and modelPaths locate the shared files.
func (o *Options) dataDir() string { return filepath.Join(o.SharedDir, "data") }

func (o *Options) modelPaths() (bin, tok string) {
	d := filepath.Join(o.SharedDir, "models", "stories260K")
	return filepath.Join(d, "stories260K.bin"), filepath.Join(d, "tok512.bin")
}

// Validate checks the options with sentences fit for a user. It does not
// check the sources' sizes (see [Assemble]).
func (o *Options) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"anchors per source", o.AnchorsPerSource}, {"generator texts per source", o.GeneratorPerSource},
		{"held-out texts per source", o.HeldOutPerSource}, {"synthetic texts", o.Synthetic},
		{"student steps", o.StudentSteps}, {"batch", o.Batch}, {"generator steps per source", o.GeneratorStepsPerSource},
		{"seeds", o.Seeds},
	}
	for _, p := range pos {
		if p.v < 1 {
			return fmt.Errorf("%s must be at least 1 (got %d)", p.name, p.v)
		}
	}
	if o.SeqLen < 2 {
		return fmt.Errorf("sequence length must be at least 2 (got %d)", o.SeqLen)
	}
	if o.GeneratorPerSource < o.AnchorsPerSource {
		return fmt.Errorf("generator texts per source (%d) must be at least the anchors per source (%d): the anchors are among M's data", o.GeneratorPerSource, o.AnchorsPerSource)
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) || o.MinLR < 0 || o.MinLR > o.LR || o.Warmup < 0 {
		return fmt.Errorf("learning rates must satisfy 0 ≤ min-lr ≤ lr, lr > 0, warm-up ≥ 0 (got lr %g, min-lr %g, warm-up %d)", o.LR, o.MinLR, o.Warmup)
	}
	if !(o.Temperature >= 0) || math.IsInf(o.Temperature, 0) {
		return fmt.Errorf("temperature must be a number ≥ 0 (got %g)", o.Temperature)
	}
	if o.Prompt != PromptTag && o.Prompt != PromptNone {
		return fmt.Errorf("unknown prompt mode %q (want %s or %s)", o.Prompt, PromptTag, PromptNone)
	}
	if o.Workers < 0 {
		return fmt.Errorf("workers must be at least 0 (got %d)", o.Workers)
	}
	if len(o.SweepK)+len(o.SweepJ)+len(o.SweepL) == 0 {
		return fmt.Errorf("no sweep: give values of K, J or L")
	}
	// The points, not the worlds: the worlds differ only in their seed,
	// and there may be too many of them to list (see the command's memory
	// estimate).
	for _, w := range o.points() {
		if w.K < 1 {
			//lint:ignore ST1005 K is the parameter's name, written as in the paper
			return fmt.Errorf("K must be at least 1 (got %d)", w.K)
		}
		if w.J < 0 || w.L < 0 {
			//lint:ignore ST1005 J and L are the parameters' names, written as in the paper
			return fmt.Errorf("J and L must be at least 0 (got J %d, L %d)", w.J, w.L)
		}
	}
	return nil
}

// worldKey identifies one world.
type worldKey struct {
	K, J, L int
	Seed    uint64
}

// sweepPoint is one (variable, value) of the sweeps.
type sweepPoint struct {
	Sweep string
	Value int
	K     int
	J     int
	L     int
}

// points lists the sweep points in run order: K, J, L.
func (o *Options) points() []sweepPoint {
	var out []sweepPoint
	for _, v := range o.SweepK {
		out = append(out, sweepPoint{"K", v, v, o.J, o.L})
	}
	for _, v := range o.SweepJ {
		out = append(out, sweepPoint{"J", v, o.K, v, o.L})
	}
	for _, v := range o.SweepL {
		out = append(out, sweepPoint{"L", v, o.K, o.J, v})
	}
	return out
}

// worldKeys lists the distinct worlds of the sweeps, in first-use order.
func (o *Options) worldKeys() []worldKey {
	seen := map[worldKey]bool{}
	var out []worldKey
	for _, p := range o.points() {
		for s := 0; s < o.Seeds; s++ {
			k := worldKey{p.K, p.J, p.L, o.Seed + uint64(s)}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}
