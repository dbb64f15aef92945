package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}

// RoundsHeader is the header of the per-round CSV: coordinates, sizes and
// EM diagnostics, then every column of [Columns], then the Monte-Carlo
// standard errors of the estimates that have one (suffix _se).
func RoundsHeader(cfg Config) []string {
	h := []string{"sweep", "value", "round", "K", "J", "L", "anchor_n", "synthetic_n", "em_iter_anchor", "em_iter_gen", "em_converged"}
	for _, c := range Columns(cfg) {
		h = append(h, c.Name)
	}
	for _, n := range seNames {
		h = append(h, n+"_se")
	}
	return h
}

var seNames = []string{"gap_mc_model-gt", "gap_mc_gt-model", "kl_anchor_g", "kl_gen_g", "kl_g_anchor", "kl_g_gen", "tv_g_m", "tv_m_gen", "h_anchor", "h_gen", "delta_h", "lemma31_slack"}

func (r *Round) ses() []float64 {
	return []float64{r.GapModelGT.SE, r.GapGTModel.SE, r.KLAnchorG.SE, r.KLGenG.SE, r.KLGAnchor.SE, r.KLGGen.SE, r.TVGM.SE, r.TVMGen.SE, r.HAnchor.SE, r.HGen.SE, r.DeltaH.SE, r.Lemma.SlackSE}
}

// WriteRoundsCSV writes one row per outer round.
func WriteRoundsCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	cfg := res.Options.Config
	cols := Columns(cfg)
	if err := cw.Write(RoundsHeader(cfg)); err != nil {
		return err
	}
	for i := range res.Rounds {
		r := &res.Rounds[i]
		row := []string{r.Sweep, strconv.Itoa(r.Value), strconv.Itoa(r.Index),
			strconv.Itoa(r.K), strconv.Itoa(r.J), strconv.Itoa(r.L),
			strconv.Itoa(r.AnchorN), strconv.Itoa(r.SyntheticN),
			strconv.Itoa(r.EMIterAnchor), strconv.Itoa(r.EMIterGen), strconv.FormatBool(r.EMConverged)}
		for _, c := range cols {
			row = append(row, fmtFloat(c.Get(r)))
		}
		for _, v := range r.ses() {
			row = append(row, fmtFloat(v))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSummaryCSV writes the summary in long form: one row per swept
// variable, value and column, with mean, std, the 95% interval of the mean,
// the number of rounds and the number of rounds where it was undefined.
func WriteSummaryCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"sweep", "value", "column", "mean", "std", "ci95_lo", "ci95_hi", "n", "missing"}); err != nil {
		return err
	}
	cols := Columns(s.Config)
	for _, key := range s.Order {
		for _, p := range s.Sweeps[key] {
			for _, c := range cols {
				st := p.Terms[c.Name]
				if err := cw.Write([]string{key, strconv.Itoa(p.Value), c.Name,
					fmtFloat(st.Mean), fmtFloat(st.Std), fmtFloat(st.CI95[0]), fmtFloat(st.CI95[1]),
					strconv.Itoa(st.N), strconv.Itoa(st.Missing)}); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonFloat marshals NaN and ±Inf as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', 10, 64)), nil
}

type jsonStat struct {
	Mean    jsonFloat    `json:"mean"`
	Std     jsonFloat    `json:"std"`
	CI95    [2]jsonFloat `json:"ci95"`
	N       int          `json:"n"`
	Missing int          `json:"missing,omitempty"`
}

func toJSONStat(s Stat) jsonStat {
	return jsonStat{jsonFloat(s.Mean), jsonFloat(s.Std), [2]jsonFloat{jsonFloat(s.CI95[0]), jsonFloat(s.CI95[1])}, s.N, s.Missing}
}

type jsonPoint struct {
	Value int `json:"value"`
	jsonStat
	Terms map[string]jsonStat `json:"terms,omitempty"`
}

type jsonTrend struct {
	Sweep    string       `json:"sweep"`
	Column   string       `json:"column"`
	Slope    jsonFloat    `json:"slope"`
	SlopeCI  [2]jsonFloat `json:"slope_ci95"`
	Spearman jsonFloat    `json:"spearman"`
	N        int          `json:"n"`
	Paper    int          `json:"paper_sign"`
	Verdict  string       `json:"verdict"`
}

type jsonSummary struct {
	Sweeps    map[string][]jsonPoint `json:"sweeps"`
	Estimator Estimator              `json:"estimator"`
	Direction Direction              `json:"direction"`
	Seconds   float64                `json:"seconds"`
	Primary   string                 `json:"primary"`
	Rounds    int                    `json:"rounds"`
	Seed      uint64                 `json:"seed"`
	Workers   int                    `json:"workers"`
	Columns   map[string]string      `json:"columns,omitempty"`
	Trends    []jsonTrend            `json:"trends"`
	Config    Config                 `json:"config"`
}

// WriteSummaryJSON writes the summary as JSON: per swept variable a list of
// {value, mean, std, ci95, n} for the primary KL Gap, with every column
// under "terms" when terms is true; then the trends and the configuration.
// Undefined numbers are written as null.
func WriteSummaryJSON(w io.Writer, s *Summary, terms bool) error {
	out := jsonSummary{
		Sweeps: map[string][]jsonPoint{}, Estimator: s.Estimator, Direction: s.Direction,
		Seconds: math.Round(s.Seconds*1000) / 1000, Primary: s.Primary, Rounds: s.Rounds,
		Seed: s.Seed, Workers: s.Workers, Config: s.Config,
	}
	if terms {
		out.Columns = s.Columns
	}
	for key, pts := range s.Sweeps {
		for _, p := range pts {
			jp := jsonPoint{Value: p.Value, jsonStat: toJSONStat(p.Stat)}
			if terms {
				jp.Terms = map[string]jsonStat{}
				for k, v := range p.Terms {
					jp.Terms[k] = toJSONStat(v)
				}
			}
			out.Sweeps[key] = append(out.Sweeps[key], jp)
		}
	}
	for _, t := range s.Trends {
		out.Trends = append(out.Trends, jsonTrend{t.Sweep, t.Column, jsonFloat(t.Slope),
			[2]jsonFloat{jsonFloat(t.SlopeCI[0]), jsonFloat(t.SlopeCI[1])}, jsonFloat(t.Spearman), t.N, t.Paper, t.Verdict})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	return nil
}

// UnmarshalJSON reads null as NaN.
func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*f = jsonFloat(v)
	return err
}

// ReadSummaryJSON reads back what WriteSummaryJSON wrote, as far as later
// reports need it: the estimator, rounds, seed, column labels, trends and
// configuration (the per-point statistics are not restored).
func ReadSummaryJSON(r io.Reader) (*Summary, error) {
	var in jsonSummary
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	s := &Summary{Estimator: in.Estimator, Direction: in.Direction, Seconds: in.Seconds, Primary: in.Primary,
		Rounds: in.Rounds, Seed: in.Seed, Workers: in.Workers, Columns: in.Columns, Config: in.Config}
	for _, t := range in.Trends {
		s.Trends = append(s.Trends, Trend{Sweep: t.Sweep, Column: t.Column, Slope: float64(t.Slope),
			SlopeCI: [2]float64{float64(t.SlopeCI[0]), float64(t.SlopeCI[1])}, Spearman: float64(t.Spearman),
			SpearmanCI: [2]float64{math.NaN(), math.NaN()}, N: t.N, Paper: t.Paper, Verdict: t.Verdict})
	}
	return s, nil
}
