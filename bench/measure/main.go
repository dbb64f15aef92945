// Command measure-bench times the measurement suite on large inputs and
// exports inputs for the numpy reference (hsic_vendi.py):
//
//	go run ./bench/measure suite [-n 100000] [-runs 3]   LSA + HSIC (RFF) + Vendi + n-gram metrics + compression
//	go run ./bench/measure hsic [-n 5000] [-runs 3]      exact biased HSIC, Gaussian kernels
//	go run ./bench/measure export -dir DIR [-n 5000]     write X, Y and σ² for numpy; time Go on them
//
// Inputs come from the GSM8K training split beside the repository
// (../shared/data/gsm8k/train.jsonl, or -gsm8k PATH): questions repeated with
// a seeded perturbation (word drops, swaps and numbers changed) up to n
// records. Times are medians over -runs runs and are printed as JSON.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/measure"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: measure-bench suite|hsic|export [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 0, "records (suite: 100000; hsic, export: 5000)")
	runs := fs.Int("runs", 3, "runs; the median time is reported")
	gsm := fs.String("gsm8k", filepath.Join("..", "shared", "data", "gsm8k", "train.jsonl"), "GSM8K train split")
	dir := fs.String("dir", "", "export directory")
	seed := fs.Uint64("seed", 1, "seed")
	prof := fs.String("cpuprofile", "", "write a CPU profile to this file")
	metrics := fs.String("metrics", "hsic-rff,vendi,ngram,self-rep,compression", "suite: metrics to run (e.g. add entropy,ksg,knn-kl for the k-NN estimators and their half-sampling intervals)")
	_ = fs.Parse(os.Args[2:])
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "measure-bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "measure-bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch os.Args[1] {
	case "suite":
		err = benchSuite(*gsm, or(*n, 100000), *runs, *seed, *metrics)
	case "hsic":
		err = benchHSIC(*gsm, or(*n, 5000), *runs, *seed)
	case "export":
		err = export(*gsm, *dir, or(*n, 5000), *runs, *seed)
	default:
		err = fmt.Errorf("unknown benchmark %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "measure-bench:", err)
		os.Exit(1)
	}
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Perturbed returns n texts: the GSM8K questions (or answers) cycled, each
// copy after the first perturbed with a seeded generator of its own: every
// number replaced by another with probability 1/2, 10% of the words
// dropped and two neighbouring words swapped.
func Perturbed(base []string, n int, seed uint64) []string {
	out := make([]string, n)
	for i := range n {
		s := base[i%len(base)]
		if i < len(base) {
			out[i] = s
			continue
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		w := strings.Fields(s)
		kept := w[:0:0]
		for _, x := range w {
			if rng.IntN(10) == 0 && len(w) > 3 {
				continue
			}
			if _, err := strconv.Atoi(strings.Trim(x, ".,?$")); err == nil && rng.IntN(2) == 0 {
				x = strconv.Itoa(1 + rng.IntN(200))
			}
			kept = append(kept, x)
		}
		if len(kept) > 2 {
			j := rng.IntN(len(kept) - 1)
			kept[j], kept[j+1] = kept[j+1], kept[j]
		}
		out[i] = strings.Join(kept, " ")
	}
	return out
}

func loadGSM8K(path string) (questions, answers []string, err error) {
	recs, _, err := dataset.ReadFile(path, dataset.ReadOptions{Schema: "gsm8k"})
	if err != nil {
		return nil, nil, fmt.Errorf("read GSM8K (pass -gsm8k PATH): %w", err)
	}
	for _, r := range recs {
		questions = append(questions, r.Instruction)
		answers = append(answers, r.Output)
	}
	return questions, answers, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func emit(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// benchSuite runs measure.Run with the built-in LSA embedder on n records
// (S_gen) and n/10 train records, metrics hsic-rff, vendi, ngram, self-rep
// and compression by default (-metrics), each with its bootstrap CI
// (B = 200, m = 2,000).
func benchSuite(gsm string, n, runs int, seed uint64, metrics string) error {
	q, _, err := loadGSM8K(gsm)
	if err != nil {
		return err
	}
	texts := Perturbed(q, n, seed)
	train := Perturbed(q, n/10, seed+1)
	recs := make([]dataset.Record, n)
	for i, s := range texts {
		recs[i] = dataset.Record{ID: strconv.Itoa(i), Instruction: s}
	}
	tr := make([]dataset.Record, len(train))
	for i, s := range train {
		tr[i] = dataset.Record{ID: "t" + strconv.Itoa(i), Instruction: s}
	}
	var times []time.Duration
	var last measure.Report
	var stages *stageTimer
	names, err := measure.SelectMetrics(metrics, false)
	if err != nil {
		return err
	}
	for range runs {
		t0 := time.Now()
		stages = &stageTimer{names: names, t: map[string]float64{}}
		rep, err := measure.Run(context.Background(), measure.Suite{Data: recs, Train: tr, Embedder: embed.LSA{Seed: seed},
			Metrics: metrics, Pairing: measure.PairSubsample, Seed: seed, Progress: stages})
		if err != nil {
			return err
		}
		if len(rep.Errors) > 0 {
			return fmt.Errorf("metrics failed: %v", rep.Errors)
		}
		times = append(times, time.Since(t0))
		last = rep
	}
	vals := map[string]any{}
	for _, r := range last.Metrics {
		vals[r.Name] = map[string]any{"value": r.Value, "ci95": r.CI95, "n": r.N}
	}
	return emit(map[string]any{"benchmark": "suite", "records": n, "train": len(tr), "gomaxprocs": runtime.GOMAXPROCS(0),
		"runs": runs, "median_seconds": median(times).Seconds(), "seconds": secs(times), "metrics": vals,
		"last_run_stage_seconds": stages.t})
}

// stageTimer records the seconds of the embedding stage and of each metric
// (the suite reports one unit per metric, in order).
type stageTimer struct {
	names []string
	t     map[string]float64
	stage string
	last  time.Time
	i     int
}

func (s *stageTimer) Start(stage string, _ int) { s.stage, s.last = stage, time.Now() }

func (s *stageTimer) Add(int) {
	if s.stage == "measure" && s.i < len(s.names) {
		s.t[s.names[s.i]] = time.Since(s.last).Seconds()
		s.i++
		s.last = time.Now()
	}
}

func (s *stageTimer) Done() {
	if s.stage == "embed" {
		s.t["embed"] = time.Since(s.last).Seconds()
	}
}

func secs(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = x.Seconds()
	}
	return out
}

// pairedInputs embeds n GSM8K questions and their answers with LSA (one
// call each, 100 dimensions): paired rows X, Y.
func pairedInputs(gsm string, n int, seed uint64) (x, y [][]float64, err error) {
	q, a, err := loadGSM8K(gsm)
	if err != nil {
		return nil, nil, err
	}
	qt, at := Perturbed(q, n, seed), Perturbed(a, n, seed)
	ex, err := embed.LSA{Seed: seed}.Embed(context.Background(), qt)
	if err != nil {
		return nil, nil, err
	}
	ey, err := embed.LSA{Seed: seed + 1}.Embed(context.Background(), at)
	if err != nil {
		return nil, nil, err
	}
	return embed.Float64s(ex), embed.Float64s(ey), nil
}

// goHSIC is the exact biased HSIC with given σ² (the kernels, the centring
// and the trace: what numpy computes).
func goHSIC(x, y [][]float64, s2x, s2y float64) (float64, error) {
	r, err := measure.HSIC(x, y, measure.HSICOptions{KernelX: measure.Kernel{Sigma2: s2x}, KernelY: measure.Kernel{Sigma2: s2y}})
	return r.Value, err
}

func benchHSIC(gsm string, n, runs int, seed uint64) error {
	x, y, err := pairedInputs(gsm, n, seed)
	if err != nil {
		return err
	}
	var times []time.Duration
	var v float64
	for range runs {
		t0 := time.Now()
		r, err := measure.HSIC(x, y, measure.HSICOptions{Seed: seed}) // median heuristic included
		if err != nil {
			return err
		}
		times = append(times, time.Since(t0))
		v = r.Value
	}
	return emit(map[string]any{"benchmark": "hsic-exact", "n": n, "dim": len(x[0]), "gomaxprocs": runtime.GOMAXPROCS(0),
		"runs": runs, "median_seconds": median(times).Seconds(), "seconds": secs(times), "hsic": v})
}

func writeMatrix(path string, x [][]float64) error {
	buf := make([]byte, 0, 8*len(x)*len(x[0]))
	for _, r := range x {
		for _, v := range r {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

// export writes x.f64, y.f64 (row-major little-endian float64) and
// meta.json (n, d, σ²), then times Go's HSIC and Vendi on them and writes
// go.json with the medians and values.
func export(gsm, dir string, n, runs int, seed uint64) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	x, y, err := pairedInputs(gsm, n, seed)
	if err != nil {
		return err
	}
	s2x, s2y := measure.MedianSigma2(x, seed), measure.MedianSigma2(y, seed+1)
	if err := writeMatrix(filepath.Join(dir, "x.f64"), x); err != nil {
		return err
	}
	if err := writeMatrix(filepath.Join(dir, "y.f64"), y); err != nil {
		return err
	}
	meta, _ := json.Marshal(map[string]any{"n": n, "dx": len(x[0]), "dy": len(y[0]), "sigma2_x": s2x, "sigma2_y": s2y})
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
		return err
	}
	var th, tv []time.Duration
	var h, v float64
	for range runs {
		t0 := time.Now()
		if h, err = goHSIC(x, y, s2x, s2y); err != nil {
			return err
		}
		th = append(th, time.Since(t0))
	}
	// Vendi in its own loop: a millisecond-scale timing is not to be
	// shared with the collection of HSIC's 5,000×5,000 Gram matrices,
	// which Go's collector does in the background (numpy frees its arrays
	// as their last reference goes).
	runtime.GC()
	for range runs {
		t0 := time.Now()
		r, err := measure.Vendi(x)
		if err != nil {
			return err
		}
		tv = append(tv, time.Since(t0))
		v = r.Value
	}
	out := map[string]any{"n": n, "gomaxprocs": runtime.GOMAXPROCS(0), "runs": runs,
		"hsic": h, "hsic_median_seconds": median(th).Seconds(), "hsic_seconds": secs(th),
		"vendi": v, "vendi_median_seconds": median(tv).Seconds(), "vendi_seconds": secs(tv)}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "go.json"), b, 0o644); err != nil {
		return err
	}
	return emit(out)
}
