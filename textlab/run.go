package textlab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ggmi-dev/ggmi/gmm"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/progress"
	"github.com/ggmi-dev/ggmi/sim"
)

// SignConvention states what the text KL Gap measures and its sign.
const SignConvention = "gap = held-out loss(student on S_anchor) − held-out loss(student on S_gen), in nats per token; " +
	"it estimates KL(G‖π_anchor) − KL(G‖π_gen), the GMM lab's KL Gap in its gt-model direction, with the same sign: " +
	"positive means the synthetic data helps more than the anchors"

// Stat summarises the per-seed values of one quantity at one sweep point
// (converted from [sim.Stat]: mean, sample standard deviation, 95%
// Student-t interval of the mean).
type Stat struct {
	Mean    Float    `json:"mean"`
	Std     Float    `json:"std"`
	CI95    [2]Float `json:"ci95"`
	N       int      `json:"n"`
	Missing int      `json:"missing,omitempty"`
}

func statOf(values []float64) Stat {
	s := sim.Summarize(values)
	return Stat{Mean: Float(s.Mean), Std: Float(s.Std), CI95: [2]Float{Float(s.CI95[0]), Float(s.CI95[1])}, N: s.N, Missing: s.Missing}
}

// Trend is the dependence of a gap on one swept variable over every world
// (converted from [sim.Trend]: least-squares slope with a 95% bootstrap
// interval, seeds resampled within each value; Spearman's ρ with a
// Fisher-z interval; the verdict of the slope's interval against the sign
// of the paper's Fig. 4: holds, reversed or inconclusive).
type Trend struct {
	Sweep      string   `json:"sweep"`
	Column     string   `json:"column"` // gap, gap_K or gap_J
	Slope      Float    `json:"slope"`
	SlopeCI    [2]Float `json:"slope_ci95"`
	Spearman   Float    `json:"spearman"`
	SpearmanCI [2]Float `json:"spearman_ci95"`
	N          int      `json:"n"`
	Paper      int      `json:"paper"`
	Verdict    string   `json:"verdict"`
}

// Point is one sweep value: its worlds (one per seed) and summaries.
type Point struct {
	Sweep      string  `json:"sweep"`
	Value      int     `json:"value"`
	K          int     `json:"K"`
	J          int     `json:"J"`
	L          int     `json:"L"`
	Gap        Stat    `json:"gap"`
	GapK       Stat    `json:"gap_K"`
	GapJ       Stat    `json:"gap_J"`
	LossAnchor Stat    `json:"loss_anchor"`
	LossGen    Stat    `json:"loss_gen"`
	LossBase   Stat    `json:"loss_base"`
	Worlds     []World `json:"worlds"`
}

// Result is the outcome of [Run]; it marshals to JSON (undefined numbers
// are null).
type Result struct {
	Options     Options      `json:"options"`
	Convention  string       `json:"convention"`
	Tasks       []SourceInfo `json:"tasks"`
	Unrelated   []SourceInfo `json:"unrelated"`
	TokenBudget int          `json:"token_budget"`
	Points      []Point      `json:"points"`
	Trends      []Trend      `json:"trends"`
	Worlds      int          `json:"worlds"` // distinct worlds run
	Seconds     float64      `json:"seconds"`
	Workers     int          `json:"workers"`
}

// gapColumns are the quantities whose trends are fitted.
var gapColumns = []struct {
	name string
	get  func(*World) Float
}{
	{"gap", func(w *World) Float { return w.Gap }},
	{"gap_K", func(w *World) Float { return w.GapK }},
	{"gap_J", func(w *World) Float { return w.GapJ }},
}

// parallel runs f(0..n−1) on workers goroutines, stopping at the first
// error or when ctx ends, and reports each finished unit to rep.
func parallel(ctx context.Context, n, workers int, rep progress.Reporter, f func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				rep.Add(1)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// Run loads the sources and the base model, runs every world of the sweeps
// (anchor students first, one per K and seed, then M, S_gen and the
// student on S_gen per world, in parallel) and summarises them. Results
// depend only on the options, never on Workers.
func Run(ctx context.Context, opt Options, rep progress.Reporter) (*Result, error) {
	start := time.Now()
	rep = progress.OrNop(rep)
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bin, tokPath := opt.modelPaths()
	base, err := llama.LoadLlama2c(bin, tokPath)
	if err != nil {
		return nil, fmt.Errorf("textlab: base model: %w", err)
	}
	if opt.SeqLen > base.Config.SeqLen {
		return nil, fmt.Errorf("sequence length %d exceeds the model's context of %d", opt.SeqLen, base.Config.SeqLen)
	}
	tasks := opt.Tasks
	if tasks == nil {
		if tasks, err = TaskSources(opt.dataDir(), opt.SplitSeed); err != nil {
			return nil, fmt.Errorf("textlab: %w", err)
		}
	}
	unrelated := opt.Unrelated
	if unrelated == nil {
		rep.Start("textlab: unrelated sources", 1)
		unrelated, err = UnrelatedSources(base, opt.GeneratorPerSource, opt.SeqLen, opt.Seed)
		rep.Add(1)
		rep.Done()
		if err != nil {
			return nil, fmt.Errorf("textlab: %w", err)
		}
	}

	// Every plan first, so that a world the sources cannot fill fails
	// before any training.
	keys := opt.worldKeys()
	plans := make([]*Plan, len(keys))
	type anchorKey struct {
		K    int
		Seed uint64
	}
	anchorIndex := map[anchorKey]int{}
	var anchorPlans []*Plan
	for i, k := range keys {
		if plans[i], err = Assemble(tasks, unrelated, k.K, k.J, k.L, k.Seed, &opt); err != nil {
			return nil, fmt.Errorf("textlab: world K %d J %d L %d seed %d: %w", k.K, k.J, k.L, k.Seed, err)
		}
		ak := anchorKey{k.K, k.Seed}
		if _, ok := anchorIndex[ak]; !ok {
			anchorIndex[ak] = len(anchorPlans)
			anchorPlans = append(anchorPlans, plans[i])
		}
	}

	students := make([]*llama.Model, len(anchorPlans))
	rep.Start("textlab: anchor students", len(anchorPlans))
	err = parallel(ctx, len(anchorPlans), workers, rep, func(i int) error {
		m, err := TrainAnchorStudent(ctx, base, anchorPlans[i], &opt)
		students[i] = m
		return err
	})
	rep.Done()
	if err != nil {
		return nil, fmt.Errorf("textlab: %w", err)
	}
	// Largest worlds first (M trains for longer on more sources), so that
	// the workers finish together; results are stored by index.
	exec := make([]int, len(keys))
	for i := range exec {
		exec[i] = i
	}
	sort.SliceStable(exec, func(a, b int) bool {
		ka, kb := keys[exec[a]], keys[exec[b]]
		return ka.K+ka.J+ka.L > kb.K+kb.J+kb.L
	})
	worlds := make([]World, len(keys))
	rep.Start("textlab: worlds", len(keys))
	err = parallel(ctx, len(keys), workers, rep, func(j int) error {
		i := exec[j]
		st := students[anchorIndex[anchorKey{keys[i].K, keys[i].Seed}]]
		w, err := RunWorld(ctx, base, st, plans[i], &opt)
		worlds[i] = w
		return err
	})
	rep.Done()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("textlab: %w", err)
	}
	byKey := map[worldKey]*World{}
	for i, k := range keys {
		byKey[k] = &worlds[i]
	}

	res := &Result{
		Options: opt, Convention: SignConvention, Tasks: infos(tasks), Unrelated: infos(unrelated),
		TokenBudget: opt.TokenBudget(), Worlds: len(keys), Workers: workers,
	}
	for _, sp := range opt.points() {
		p := Point{Sweep: sp.Sweep, Value: sp.Value, K: sp.K, J: sp.J, L: sp.L}
		for s := 0; s < opt.Seeds; s++ {
			p.Worlds = append(p.Worlds, *byKey[worldKey{sp.K, sp.J, sp.L, opt.Seed + uint64(s)}])
		}
		summarise(&p)
		res.Points = append(res.Points, p)
	}
	res.Trends = trends(res.Points)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// summarise fills a point's statistics from its worlds.
func summarise(p *Point) {
	col := func(get func(*World) Float) Stat {
		v := make([]float64, len(p.Worlds))
		for i := range p.Worlds {
			v[i] = float64(get(&p.Worlds[i]))
		}
		return statOf(v)
	}
	p.Gap = col(func(w *World) Float { return w.Gap })
	p.GapK = col(func(w *World) Float { return w.GapK })
	p.GapJ = col(func(w *World) Float { return w.GapJ })
	p.LossAnchor = col(func(w *World) Float { return w.LossAnchor })
	p.LossGen = col(func(w *World) Float { return w.LossGen })
	p.LossBase = col(func(w *World) Float { return w.LossBase })
}

// trends fits every gap column against each swept variable with
// [sim.Trends]: the worlds become rounds whose gt-model Monte-Carlo gap is
// the text gap (every other quantity undefined), so the slope, its
// bootstrap interval, Spearman's ρ and the verdict are exactly the GMM
// lab's.
func trends(points []Point) []Trend {
	var vars []sim.Var
	seen := map[string]bool{}
	for _, p := range points {
		if !seen[p.Sweep] {
			seen[p.Sweep] = true
			vars = append(vars, sim.Var(p.Sweep))
		}
	}
	want := sim.GapColumn(sim.MC, sim.GTModel)
	nan := gmm.Estimate{Value: math.NaN()}
	var out []Trend
	for _, v := range vars {
		for _, c := range gapColumns {
			res := &sim.Result{Options: sim.Options{
				Config: sim.Config{Estimators: []sim.Estimator{sim.MC}, Direction: sim.GTModel},
				Sweeps: []sim.Var{v},
			}}
			for _, p := range points {
				if p.Sweep != string(v) {
					continue
				}
				for i := range p.Worlds {
					res.Rounds = append(res.Rounds, sim.Round{
						Sweep: p.Sweep, Value: p.Value, Index: i, K: p.K, J: p.J, L: p.L,
						GapGTModel: gmm.Estimate{Value: float64(c.get(&p.Worlds[i]))},
						GapModelGT: nan, KLAnchorG: nan, KLGenG: nan, KLGAnchor: nan, KLGGen: nan,
						TVGM: nan, TVMGen: nan, HAnchor: nan, HGen: nan, DeltaH: nan,
						HistModelGT: math.NaN(), HistGTModel: math.NaN(),
						HistSharedModelGT: math.NaN(), HistSharedGTModel: math.NaN(),
					})
				}
			}
			for _, t := range sim.Trends(res) {
				if t.Column != want {
					continue
				}
				out = append(out, Trend{
					Sweep: t.Sweep, Column: c.name, Slope: Float(t.Slope),
					SlopeCI:  [2]Float{Float(t.SlopeCI[0]), Float(t.SlopeCI[1])},
					Spearman: Float(t.Spearman), SpearmanCI: [2]Float{Float(t.SpearmanCI[0]), Float(t.SpearmanCI[1])},
					N: t.N, Paper: t.Paper, Verdict: t.Verdict,
				})
			}
		}
	}
	return out
}
