package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/ggmi-dev/ggmi/internal/stats"
)

// Stat summarises the per-round values of one quantity at one sweep point:
// mean, sample standard deviation (ddof 1) and the 95% Student-t confidence
// interval of the mean. NaN values (a quantity undefined in a round) are
// left out and counted in Missing.
type Stat struct {
	Mean    float64    `json:"mean"`
	Std     float64    `json:"std"`
	CI95    [2]float64 `json:"ci95"`
	N       int        `json:"n"`
	Missing int        `json:"missing,omitempty"`
}

// Summarize computes a [Stat] of values.
func Summarize(values []float64) Stat {
	var v []float64
	missing := 0
	for _, x := range values {
		if math.IsNaN(x) {
			missing++
			continue
		}
		v = append(v, x)
	}
	s := Stat{N: len(v), Missing: missing, Mean: math.NaN(), Std: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}}
	if len(v) == 0 {
		return s
	}
	s.Mean = stat.Mean(v, nil)
	if len(v) < 2 {
		return s
	}
	s.Std = stat.StdDev(v, nil)
	h := stats.THalfWidth95(s.Std, len(v))
	s.CI95 = [2]float64{s.Mean - h, s.Mean + h}
	return s
}

// Column is one per-round quantity, by name.
type Column struct {
	Name string
	Doc  string
	Get  func(*Round) float64
}

// GapColumn names the KL Gap column of an estimator and direction.
func GapColumn(e Estimator, d Direction) string {
	return fmt.Sprintf("gap_%s_%s", e, d)
}

// Columns lists the quantities of a round under cfg: the KL Gaps of every
// requested estimator in both directions, then the theory's terms.
func Columns(cfg Config) []Column {
	var cols []Column
	for _, e := range cfg.Estimators {
		for _, d := range []Direction{ModelGT, GTModel} {
			e, d := e, d
			cols = append(cols, Column{
				Name: GapColumn(e, d),
				Doc:  fmt.Sprintf("KL Gap, %s estimator, %s direction", e, d),
				Get:  func(r *Round) float64 { return r.Gap(e, d) },
			})
		}
	}
	cols = append(cols,
		Column{"kl_anchor_g", "KL(π_anchor‖G), MC", func(r *Round) float64 { return r.KLAnchorG.Value }},
		Column{"kl_gen_g", "KL(π_gen‖G), MC", func(r *Round) float64 { return r.KLGenG.Value }},
		Column{"kl_g_anchor", "KL(G‖π_anchor), MC", func(r *Round) float64 { return r.KLGAnchor.Value }},
		Column{"kl_g_gen", "KL(G‖π_gen), MC", func(r *Round) float64 { return r.KLGGen.Value }},
		Column{"tv_g_m", "TV(G, M): task divergence of Lemma 3.1", func(r *Round) float64 { return r.TVGM.Value }},
		Column{"tv_m_gen", "TV(M, D_gen): generation divergence of Lemma 3.1", func(r *Round) float64 { return r.TVMGen.Value }},
		Column{"h_anchor", "H(S_anchor) in nats", func(r *Round) float64 { return r.HAnchor.Value }},
		Column{"h_gen", "H(S_gen) in nats", func(r *Round) float64 { return r.HGen.Value }},
		Column{"delta_h", "ΔH = H(S_anchor) − H(S_gen) (Thm 4.10)", func(r *Round) float64 { return r.DeltaH.Value }},
		Column{"lemma31_err", "Lemma 3.1 left side Err(π_gen) = abs(R_D − R̂_S_gen), loss −log π_gen clipped to [0, C]", func(r *Round) float64 { return r.Lemma.Err }},
		Column{"lemma31_bound", "Lemma 3.1 right side C·(TV(D, D_M) + TV(D_M, D_gen)) + abs(R_D_gen − R̂_S_gen)", func(r *Round) float64 { return r.Lemma.Bound }},
		Column{"lemma31_slack", "Lemma 3.1 slack: bound − Err (negative only by Monte-Carlo error)", func(r *Round) float64 { return r.Lemma.Slack }},
		Column{"lemma31_ratio", "Lemma 3.1 tightness Err / bound (1 is tight)", func(r *Round) float64 { return r.Lemma.Ratio }},
		Column{"lemma31_violation", "1 when the slack is below −1.96 of its Monte-Carlo SE", func(r *Round) float64 {
			if r.Lemma.Violation {
				return 1
			}
			return 0
		}},
	)
	return cols
}

// Point is the summary of one sweep value.
type Point struct {
	Value int             `json:"value"`
	Stat                  // the primary KL Gap
	Terms map[string]Stat `json:"terms"` // every column
}

// Summary holds, per swept variable, one Point per value.
type Summary struct {
	Primary   string             `json:"primary"` // the primary gap column
	Estimator Estimator          `json:"estimator"`
	Direction Direction          `json:"direction"`
	Sweeps    map[string][]Point `json:"sweeps"`
	Columns   map[string]string  `json:"columns"` // name → meaning
	Trends    []Trend            `json:"trends"`
	Seconds   float64            `json:"seconds"`
	Workers   int                `json:"workers"`
	Rounds    int                `json:"rounds"`
	Seed      uint64             `json:"seed"`
	Config    Config             `json:"config"`
	Order     []string           `json:"order"` // swept variables in run order
}

// Summarise builds the summary of a result.
func (res *Result) Summarise() *Summary {
	cfg := res.Options.Config
	cols := Columns(cfg)
	primary := GapColumn(cfg.Estimators[0], cfg.Direction)
	s := &Summary{
		Primary: primary, Estimator: cfg.Estimators[0], Direction: cfg.Direction,
		Sweeps: map[string][]Point{}, Columns: map[string]string{},
		Seconds: res.Seconds, Workers: res.Workers, Rounds: res.Options.Rounds,
		Seed: res.Options.Seed, Config: cfg,
	}
	for _, c := range cols {
		s.Columns[c.Name] = c.Doc
	}
	groups := map[string]map[int][]*Round{}
	for i := range res.Rounds {
		r := &res.Rounds[i]
		key := r.Sweep
		if key == "" {
			key = "none"
		}
		if groups[key] == nil {
			groups[key] = map[int][]*Round{}
			s.Order = append(s.Order, key)
		}
		groups[key][r.Value] = append(groups[key][r.Value], r)
	}
	for _, key := range s.Order {
		vals := make([]int, 0, len(groups[key]))
		for v := range groups[key] {
			vals = append(vals, v)
		}
		sort.Ints(vals)
		for _, v := range vals {
			rs := groups[key][v]
			p := Point{Value: v, Terms: map[string]Stat{}}
			for _, c := range cols {
				x := make([]float64, len(rs))
				for i, r := range rs {
					x[i] = c.Get(r)
				}
				p.Terms[c.Name] = Summarize(x)
			}
			p.Stat = p.Terms[primary]
			s.Sweeps[key] = append(s.Sweeps[key], p)
		}
	}
	s.Trends = Trends(res)
	return s
}

// Trend is the fitted dependence of one quantity on one swept variable,
// over all rounds: the least-squares slope (equal to the slope through the
// per-value means, since every value has the same number of rounds) with a
// 95% bootstrap interval (rounds resampled within each value, 2,000
// replicates, fixed seed), Spearman's rank correlation with a Fisher-z
// interval (Fieller, Hartley and Pearson's variance 1.06/(n−3)), and
// the verdict of the slope's interval against the direction the paper
// reports (Fig. 4: the KL Gap falls with K and L and rises with J). The
// bootstrap is used because per-round KL values are heavy-tailed.
type Trend struct {
	Sweep      string     `json:"sweep"`
	Column     string     `json:"column"`
	Slope      float64    `json:"slope"`
	SlopeCI    [2]float64 `json:"slope_ci95"` // bootstrap percentile interval
	Spearman   float64    `json:"spearman"`
	SpearmanCI [2]float64 `json:"spearman_ci95"` // Fisher-z interval with Fieller's variance 1.06/(n−3)
	N          int        `json:"n"`
	Paper      int        `json:"paper"`   // the paper's sign: +1, −1, or 0 when it states none
	Verdict    string     `json:"verdict"` // holds, reversed, inconclusive, or no claim
}

// paperSign is the sign of the KL Gap's trend in Fig. 4.
func paperSign(v string) int {
	switch v {
	case "K", "L":
		return -1
	case "J":
		return +1
	}
	return 0
}

// Trends fits every gap column and ΔH and TV(G, M) against each swept
// variable.
func Trends(res *Result) []Trend {
	cfg := res.Options.Config
	var out []Trend
	for _, v := range res.Options.Sweeps {
		for _, c := range Columns(cfg) {
			isGap := len(c.Name) > 4 && c.Name[:4] == "gap_"
			if !isGap && c.Name != "delta_h" && c.Name != "tv_g_m" && c.Name != "h_gen" {
				continue
			}
			var xs, ys []float64
			for i := range res.Rounds {
				r := &res.Rounds[i]
				if r.Sweep != string(v) {
					continue
				}
				if y := c.Get(r); !math.IsNaN(y) {
					xs = append(xs, float64(r.Value))
					ys = append(ys, y)
				}
			}
			t := fitTrend(xs, ys)
			t.Sweep, t.Column = string(v), c.Name
			if isGap {
				t.Paper = paperSign(string(v))
			}
			t.Verdict = verdict(t)
			out = append(out, t)
		}
	}
	return out
}

func fitTrend(xs, ys []float64) Trend {
	nan2 := [2]float64{math.NaN(), math.NaN()}
	t := Trend{N: len(xs), Slope: math.NaN(), SlopeCI: nan2, Spearman: math.NaN(), SpearmanCI: nan2}
	if len(xs) < 3 {
		return t
	}
	slope := func(xs, ys []float64) float64 {
		_, beta := stat.LinearRegression(xs, ys, nil, false)
		return beta
	}
	t.Slope = slope(xs, ys)
	t.Spearman = stat.Correlation(Ranks(xs), Ranks(ys), nil)
	// Group indices by x to resample within each value.
	groups := map[float64][]int{}
	var keys []float64
	for i, x := range xs {
		if _, ok := groups[x]; !ok {
			keys = append(keys, x)
		}
		groups[x] = append(groups[x], i)
	}
	if len(keys) < 2 {
		return t
	}
	sort.Float64s(keys)
	const reps = 2000
	rng := rand.New(rand.NewPCG(0x5eed, uint64(len(xs))))
	bx := make([]float64, len(xs))
	by := make([]float64, len(xs))
	slopes := make([]float64, 0, reps)
	for range reps {
		j := 0
		for _, k := range keys {
			g := groups[k]
			for range g {
				i := g[rng.IntN(len(g))]
				bx[j], by[j] = xs[i], ys[i]
				j++
			}
		}
		slopes = append(slopes, slope(bx, by))
	}
	sort.Float64s(slopes)
	t.SlopeCI = [2]float64{stat.Quantile(0.025, stat.Empirical, slopes, nil), stat.Quantile(0.975, stat.Empirical, slopes, nil)}
	if n := float64(len(xs)); n > 3 && !math.IsNaN(t.Spearman) {
		z := math.Atanh(math.Max(-0.999999, math.Min(0.999999, t.Spearman)))
		h := 1.959963984540054 * math.Sqrt(1.06/(n-3))
		t.SpearmanCI = [2]float64{math.Tanh(z - h), math.Tanh(z + h)}
	}
	return t
}

func verdict(t Trend) string {
	switch {
	case t.Paper == 0:
		return "no claim"
	case math.IsNaN(t.SlopeCI[0]):
		return "inconclusive"
	case t.Paper > 0 && t.SlopeCI[0] > 0, t.Paper < 0 && t.SlopeCI[1] < 0:
		return "holds"
	case t.Paper > 0 && t.SlopeCI[1] < 0, t.Paper < 0 && t.SlopeCI[0] > 0:
		return "reversed"
	}
	return "inconclusive"
}

// Ranks returns the 1-based ranks of v, ties sharing their mean rank (the
// ranks of Spearman's ρ).
func Ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for q := i; q <= j; q++ {
			r[idx[q]] = mean
		}
		i = j + 1
	}
	return r
}
