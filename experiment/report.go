package experiment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ggmi-dev/ggmi/measure"
	"github.com/ggmi-dev/ggmi/report"
	"github.com/ggmi-dev/ggmi/sim"
	"github.com/ggmi-dev/ggmi/train"
)

// Results is results.json: the report's data and the judge's Table 1.
type Results struct {
	Report  report.Report      `json:"report"`
	Ratings *train.RatingTable `json:"ratings,omitempty"`
}

// expectedSign is the sign the reverse-bottleneck theory predicts for the
// rank correlation between a metric of S_gen and the downstream gain, or
// 0 where it makes no claim. App. G.3.1 reads HSIC and MI with the train
// set as inversely related to the information gain ΔI, which Thm 4.10
// says improves generalization; App. G.3.2 reads a lower H(S_gen)
// (semantic entropy) as better; ΔH = H(S_anchor) − H(S_gen) then enters
// with the opposite sign of H(S_gen).
func expectedSign(name string, settings map[string]any) int {
	switch name {
	case "hsic", "hsic-rff", "ksg":
		if p, _ := settings["pairing"].(string); p == "provenance" {
			return 0
		}
		return -1
	case "se", "entropy", "se-llm":
		return -1
	case "delta-h":
		return +1
	}
	return 0
}

// stageReport joins every configuration's metrics, students and judge
// ratings into report.html, report.md and results.json: per
// configuration the measured gain, and per metric the Spearman rank
// correlation between metric and gain across configurations.
func (r *Runner) stageReport(ctx context.Context, _ *Configuration, _ string) error {
	rep := report.Report{
		Title: r.cfg.Name,
		Gain: report.GainInfo{Label: "loss gain (nats)",
			Doc: "held-out loss of the untrained base model minus that of the student trained on the configuration's S_gen (first synthetic mix); positive: the synthetic data helped"},
	}
	m := r.Manifest()
	rep.Manifest = report.Manifest{Name: m.Name, Version: m.Version, Created: m.Created, Config: m.Config,
		Seeds: map[string]uint64{"experiment": m.Seed}}
	for _, in := range m.Inputs {
		rep.Manifest.Inputs = append(rep.Manifest.Inputs, report.InputFile{Role: in.Role, Path: in.Path, SHA256: in.SHA256, Bytes: in.Bytes})
	}
	stageSec := map[string]float64{}
	for _, s := range m.Stages {
		stageSec[s.Stage] += s.Seconds
	}
	for _, st := range Stages {
		if sec, ok := stageSec[st]; ok {
			rep.Manifest.Stages = append(rep.Manifest.Stages, report.StageTiming{Name: st, Seconds: sec})
		}
	}

	anchorStudent := r.anchorStudent()
	expected := map[string]int{}
	notes := map[string]map[string]int{} // metric → note → configurations
	var allVerdicts []train.Verdict
	var columns []string
	for _, c := range r.confs {
		dir := r.ConfigDir(c.ID)
		rc := report.Configuration{ID: c.ID, Params: map[string]string{}}
		for k, v := range c.Params {
			rc.Params[k] = fmt.Sprint(v)
		}
		var mr measure.Report
		if err := readJSON(filepath.Join(dir, metricsFile), &mr); err == nil {
			for _, res := range mr.Metrics {
				rc.Metrics = append(rc.Metrics, report.MetricFromResult(res))
				expected[res.Name] = expectedSign(res.Name, res.Settings)
				if note, _ := res.Settings["note"].(string); note != "" {
					if notes[res.Name] == nil {
						notes[res.Name] = map[string]int{}
					}
					notes[res.Name][note]++
				}
			}
		}
		var sf StudentsFile
		if err := readJSON(filepath.Join(dir, studentsFile), &sf); err == nil {
			for _, mx := range sf.Mixes {
				if mx.Synthetic == 0 {
					continue
				}
				rc.Downstream.TestLoss = interval(mx.TestLoss)
				rc.Downstream.GeneralizationGap = interval(mx.Gap)
				if mx.Summary != nil {
					rc.Downstream.Perplexity = interval(mx.Summary.TestPPL)
				}
				if anchorStudent != nil {
					rc.Downstream.AnchorGap = interval(pairedDiff(*anchorStudent, mx))
				}
				if sf.BaseTestLoss > 0 && !math.IsNaN(mx.TestLoss.Mean) {
					b := sf.BaseTestLoss
					rc.Gain = &report.Estimate{Value: b - mx.TestLoss.Mean, CI95: [2]float64{b - mx.TestLoss.Hi, b - mx.TestLoss.Lo}, N: mx.TestLoss.N}
				}
				break
			}
		}
		var jf JudgeFile
		if err := readJSON(filepath.Join(dir, judgeFile), &jf); err == nil && len(jf.Verdicts) > 0 {
			var ratings []float64
			for i := range jf.Verdicts {
				v := &jf.Verdicts[i]
				if v.Failure == "" {
					ratings = append(ratings, v.Rating)
				}
				v.Config = c.ID + "/" + v.Config
				allVerdicts = append(allVerdicts, *v)
				if !slices.Contains(columns, v.Config) {
					columns = append(columns, v.Config)
				}
			}
			rc.Downstream.JudgeRating = interval(train.MeanCI(ratings))
		}
		rep.Configurations = append(rep.Configurations, rc)
	}
	var samples []report.AttributeSample
	for _, c := range r.confs {
		samples = append(samples, attributeSamples(c.ID, r.ConfigDir(c.ID))...)
	}
	rep.Attributes = report.GroupByAttribute(rep.Configurations, samples)
	var names []string
	for n := range expected {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		info := report.MetricInfo{Name: n, Expected: expected[n]}
		var ns []string
		for note, k := range notes[n] {
			ns = append(ns, fmt.Sprintf("in %d of %d configurations, %s", k, len(r.confs), note))
		}
		sort.Strings(ns)
		info.Note = strings.Join(ns, "; ")
		rep.Metrics = append(rep.Metrics, info)
	}
	preds, err := report.Predict(rep, names, 1000, r.cfg.Seed)
	if err != nil {
		return err
	}
	rep.Predictors = preds

	var res Results
	if base := r.baselineVerdicts(); len(base) > 0 || len(allVerdicts) > 0 {
		cols := []string{colBase}
		cols = append(cols, columns...)
		cols = append(cols, colAnchors, colReal)
		t := train.BuildRatingTable(append(base, allVerdicts...), cols)
		res.Ratings = &t
	}
	if gd := r.cfg.GMMLab; gd != "" {
		sec, err := gmmSection(r.cfg.Resolve(gd))
		if err != nil {
			return err
		}
		rep.GMM = sec
	}
	rep.Summary = summaryText(rep, res.Ratings)
	res.Report = rep

	var html bytes.Buffer
	if err := report.WriteHTML(&html, rep); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.dir, "report.html"), html.Bytes()); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.dir, "report.md"), []byte(markdown(rep, res.Ratings))); err != nil {
		return err
	}
	return writeJSON(filepath.Join(r.dir, "results.json"), res)
}

// readBaseline reads file from the baseline directory that the pointer
// baseline/<pointer> names (current.json: the students; judge.json: their
// judging) into v.
func (r *Runner) readBaseline(pointer, file string, v any) error {
	var ptr struct{ Dir string }
	if err := readJSON(filepath.Join(r.dir, "baseline", pointer), &ptr); err != nil {
		return err
	}
	return readJSON(filepath.Join(ptr.Dir, file), v)
}

// anchorStudent returns the baseline's students on S_anchor, if trained.
func (r *Runner) anchorStudent() *MixResult {
	var sf StudentsFile
	if r.readBaseline("current.json", studentsFile, &sf) != nil {
		return nil
	}
	for i := range sf.Mixes {
		if sf.Mixes[i].Source == sourceAnchors {
			return &sf.Mixes[i]
		}
	}
	return nil
}

// seedLosses maps each seed of a mix's students to its held-out loss.
func seedLosses(m MixResult) map[uint64]float64 {
	out := map[uint64]float64{}
	if m.Summary != nil {
		for _, run := range m.Summary.Runs {
			out[run.Seed] = run.Test.Mean
		}
	}
	for _, ex := range m.External {
		if ex.Eval.EvalLoss != nil {
			out[ex.Seed] = *ex.Eval.EvalLoss
		}
	}
	return out
}

// pairedDiff is loss(a) − loss(b) over the seeds both students share,
// with the t-interval of the per-seed differences (the students of one
// seed share that seed's randomness).
func pairedDiff(a, b MixResult) train.Interval {
	la, lb := seedLosses(a), seedLosses(b)
	seeds := make([]uint64, 0, len(la))
	for s := range la {
		if _, ok := lb[s]; ok {
			seeds = append(seeds, s)
		}
	}
	slices.Sort(seeds)
	d := make([]float64, len(seeds))
	for i, s := range seeds {
		d[i] = la[s] - lb[s]
	}
	return train.MeanCI(d)
}

// baselineVerdicts returns the judge's verdicts on the base model and the
// real-only students, if rated.
func (r *Runner) baselineVerdicts() []train.Verdict {
	var jf JudgeFile
	if r.readBaseline("judge.json", judgeFile, &jf) != nil {
		return nil
	}
	return jf.Verdicts
}

func gmmSection(dir string) (*report.GMMSection, error) {
	f, err := os.Open(filepath.Join(dir, "summary.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // the lab has not run: the report goes without it
	}
	if err != nil {
		return nil, fmt.Errorf("gmm_lab: %w", err)
	}
	defer f.Close()
	s, err := sim.ReadSummaryJSON(f)
	if err != nil {
		return nil, fmt.Errorf("gmm_lab: %w", err)
	}
	return report.GMMSectionOf(s, dir)
}

// interval converts a mean with its t-interval.
func interval(iv train.Interval) *report.Estimate {
	if iv.N == 0 {
		return nil
	}
	return &report.Estimate{Value: iv.Mean, CI95: [2]float64{iv.Lo, iv.Hi}, N: iv.N}
}

// summaryText is the report's opening paragraph.
func summaryText(rep report.Report, t *train.RatingTable) string {
	var agree, opposite, unclear int
	for _, p := range rep.Predictors {
		switch p.Verdict {
		case "agrees":
			agree++
		case "opposite":
			opposite++
		default:
			unclear++
		}
	}
	s := fmt.Sprintf("%d configuration(s). Of %d metrics, %d rank the configurations by the measured gain with the sign the theory expects, %d with the opposite sign, and %d are inconclusive or make no claim.",
		len(rep.Configurations), len(rep.Predictors), agree, opposite, unclear)
	if len(rep.Configurations) < 5 {
		s += " With fewer than five configurations the rank correlations are too coarse to conclude much."
	}
	if t != nil && len(t.Softmax) > 0 {
		s += " The judge's softmax-normalised ratings (the paper's Table 1 form) are in report.md and results.json."
	}
	return s
}

// markdown renders the report's tables as Markdown.
func markdown(rep report.Report, t *train.RatingTable) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n## Configurations\n\n| configuration | gain | test loss | gap | vs S_anchor | judge |\n|---|---|---|---|---|---|\n", rep.Title, rep.Summary)
	for _, c := range rep.Configurations {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.ID, est(c.Gain), est(c.Downstream.TestLoss), est(c.Downstream.GeneralizationGap), est(c.Downstream.AnchorGap), est(c.Downstream.JudgeRating))
	}
	b.WriteString("\n## Predictors (Spearman ρ with the gain, bootstrap 95% interval)\n\n| metric | ρ | 95% interval | n | expected | verdict |\n|---|---|---|---|---|---|\n")
	for _, p := range rep.Predictors {
		fmt.Fprintf(&b, "| %s | %.3f | [%.3f, %.3f] | %d | %+d | %s |\n", p.Metric, p.Rho.Value, p.Rho.CI95[0], p.Rho.CI95[1], p.Rho.N, p.Expected, p.Verdict)
	}
	for _, m := range rep.Metrics {
		if m.Note != "" {
			fmt.Fprintf(&b, "\nNote on %s: %s.\n", m.Name, m.Note)
		}
	}
	if len(rep.Attributes) > 0 {
		b.WriteString("\n## By attribute of the prompts\n\nsweep: the configurations whose swept attribute has the value (means over them, Student-t 95% interval); sampled: the records drawn with the value inside each configuration (kept by ε with a Wilson 95% interval; metrics on those records alone).\n\n")
		_ = report.AttributesMarkdown(&b, rep.Attributes)
	}
	if t != nil && len(t.Configs) > 0 {
		b.WriteString("\n## Judge ratings (Table 1 form: softmax over columns of the mean rating)\n\n| row |")
		for _, c := range t.Configs {
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(t.Configs)) + "\n")
		for g, name := range t.Groups {
			fmt.Fprintf(&b, "| %s (mean) |", name)
			for c := range t.Configs {
				fmt.Fprintf(&b, " %.2f |", t.Mean[g][c].Mean)
			}
			fmt.Fprintf(&b, "\n| %s (softmax) |", name)
			for c := range t.Configs {
				fmt.Fprintf(&b, " %.4f |", t.Softmax[g][c])
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func est(e *report.Estimate) string {
	if e == nil || math.IsNaN(e.Value) {
		return "–"
	}
	if math.IsNaN(e.CI95[0]) {
		return fmt.Sprintf("%.4f", e.Value)
	}
	return fmt.Sprintf("%.4f [%.4f, %.4f]", e.Value, e.CI95[0], e.CI95[1])
}
