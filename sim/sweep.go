package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
	rng := rand.New(rand.NewPCG(seed, roundStream(si, value, round)))
	w, err := NewWorld(cfg, rng)
	if err != nil {
		return nil, Round{}, err
	}
	r := measure(w, rng)
	r.Value, r.Index = value, round
	return w, r, nil
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
	var tasks []task
	if len(opt.Sweeps) == 0 {
		for r := range opt.Rounds {
			tasks = append(tasks, task{si: -1, value: 0, round: r, index: len(tasks)})
		}
	}
	for si, v := range opt.Sweeps {
		for val := opt.From; val <= opt.To; val++ {
			for r := range opt.Rounds {
				tasks = append(tasks, task{sweep: v, si: si, value: val, round: r, index: len(tasks)})
			}
		}
	}
	start := time.Now()
	rounds := make([]Round, len(tasks))
	rep.Start("simulate", len(tasks))
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
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) || ctx.Err() != nil {
					return
				}
				t := tasks[i]
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
				_, r, err := RunRound(cfg, opt.Seed, si, t.value, t.round)
				if err != nil {
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
