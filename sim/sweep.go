package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ggmi-dev/ggmi/internal/crash"
	"github.com/ggmi-dev/ggmi/progress"
)

// Var names a swept variable.
type Var string

// The three variables Fig. 4 sweeps.
const (
	VarK Var = "K"
	VarJ Var = "J"
	VarL Var = "L"
)

// ParseSweep parses K, J, L or all.
func ParseSweep(s string) ([]Var, error) {
	switch s {
	case "K", "k":
		return []Var{VarK}, nil
	case "J", "j":
		return []Var{VarJ}, nil
	case "L", "l":
		return []Var{VarL}, nil
	case "all":
		return []Var{VarK, VarJ, VarL}, nil
	}
	return nil, fmt.Errorf("unknown sweep %q (want K, J, L or all)", s)
}

// Options describes a run: a base world, the sweeps over it and the seed.
type Options struct {
	Config   Config // base world; the swept variable overrides K, J or L
	Sweeps   []Var  // variables to sweep, in order
	From, To int    // inclusive range of each swept variable
	Rounds   int    // outer rounds per value
	Seed     uint64
	Workers  int // 0: every core
	Progress progress.Reporter
}

// Validate checks the options as a whole, with sentences fit for a user.
func (o *Options) Validate() error {
	if o.Rounds < 1 {
		return fmt.Errorf("rounds must be at least 1 (got %d)", o.Rounds)
	}
	if o.To < o.From {
		return fmt.Errorf("the sweep range %d..%d is empty", o.From, o.To)
	}
	if o.Workers < 0 {
		return fmt.Errorf("workers must be at least 1 (got %d)", o.Workers)
	}
	n := float64(o.Rounds)
	if len(o.Sweeps) > 0 {
		n *= float64(len(o.Sweeps)) * (float64(o.To) - float64(o.From) + 1)
	}
	if n > maxTasks {
		return fmt.Errorf("the run has %.3g rounds in all, more than %.3g; lower --rounds or narrow --from/--to", n, float64(maxTasks))
	}
	if len(o.Sweeps) == 0 {
		return o.Config.Validate()
	}
	for _, v := range o.Sweeps {
		for _, val := range []int{o.From, o.To} {
			c := o.Config.with(v, val)
			if err := c.Validate(); err != nil {
				return fmt.Errorf("sweep %s = %d: %w", v, val, err)
			}
		}
	}
	return nil
}

func (c Config) with(v Var, val int) Config {
	switch v {
	case VarK:
		c.K = val
	case VarJ:
		c.J = val
	case VarL:
		c.L = val
	}
	return c
}

// maxTasks bounds the rounds of one run.
const maxTasks = 1 << 40

// Result is the outcome of [Run].
type Result struct {
	Options Options
	Rounds  []Round // in order: sweep, value, round
	Seconds float64
	Workers int
}

type task struct {
	sweep Var
	si    int
	value int
	round int
	index int
}

// roundStream derives the random stream of one round from its coordinates,
// so that a round's result depends only on (seed, sweep, value, round) and
// never on scheduling.
func roundStream(si, value, round int) uint64 {
	z := uint64(si)<<48 ^ uint64(value)<<24 ^ uint64(round)
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// RunRound draws the world of one round and measures it. It is the unit of
// work of [Run], exposed for single-world use.
func RunRound(cfg Config, seed uint64, si, value, round int) (*World, Round, error) {
	return RunRoundContext(context.Background(), cfg, seed, si, value, round)
}

// RunRoundContext is [RunRound] that stops early, returning ctx's error,
// once ctx is done.
func RunRoundContext(ctx context.Context, cfg Config, seed uint64, si, value, round int) (*World, Round, error) {
	rng := rand.New(rand.NewPCG(seed, roundStream(si, value, round)))
	w, err := newWorld(ctx, cfg, rng)
	if err != nil {
		return nil, Round{}, err
	}
	r, err := measure(ctx, w, rng)
	if err != nil {
		return nil, Round{}, err
	}
	r.Value, r.Index = value, round
	return w, r, nil
}

// Tasks is the number of rounds opt runs.
func (o *Options) Tasks() int {
	if len(o.Sweeps) == 0 {
		return o.Rounds
	}
	return len(o.Sweeps) * (o.To - o.From + 1) * o.Rounds
}

// taskAt is the i-th round of the run, in order: sweep, value, round.
func (o *Options) taskAt(i int) task {
	if len(o.Sweeps) == 0 {
		return task{si: -1, round: i, index: i}
	}
	per := (o.To - o.From + 1) * o.Rounds
	si := i / per
	rest := i % per
	return task{sweep: o.Sweeps[si], si: si, value: o.From + rest/o.Rounds, round: rest % o.Rounds, index: i}
}

// Run executes the sweeps: for every swept variable and value, Rounds
// independent worlds, in parallel on Workers goroutines. Results are
// identical for a seed whatever the number of workers. With no sweep it runs
// Rounds worlds of the base configuration.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rep := progress.OrNop(opt.Progress)
	ntasks := opt.Tasks()
	start := time.Now()
	// The rounds are kept: the summaries' bootstrap intervals need every one
	// ([Options.MemoryEstimate] counts them).
	rounds := make([]Round, ntasks)
	rep.Start("simulate", ntasks)
	defer rep.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := crash.Capture(recover()); p != nil {
					errOnce.Do(func() { firstErr = p; cancel() })
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= ntasks || ctx.Err() != nil {
					return
				}
				t := opt.taskAt(i)
				cfg := opt.Config
				si := t.si
				if si >= 0 {
					cfg = cfg.with(t.sweep, t.value)
					// Key the stream by the variable, not its position, so that
					// --sweep J alone reproduces the J part of --sweep all.
					si = map[Var]int{VarK: 0, VarJ: 1, VarL: 2}[t.sweep]
				} else {
					si = 3
				}
				_, r, err := RunRoundContext(ctx, cfg, opt.Seed, si, t.value, t.round)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					errOnce.Do(func() {
						firstErr = fmt.Errorf("sweep %s = %d, round %d: %w", t.sweep, t.value, t.round, err)
						cancel()
					})
					return
				}
				r.Sweep = string(t.sweep)
				rounds[t.index] = r
				rep.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Result{Options: opt, Rounds: rounds, Seconds: time.Since(start).Seconds(), Workers: workers}, nil
}
