package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ggmi-dev/ggmi/measure"
)

// Report is everything an experiment report shows, independent of how it
// was produced: what ran (Manifest), the configurations compared, their
// metrics and downstream results, how well each metric predicts the
// measured gain, and optionally the GMM lab. It is JSON-serialisable;
// undefined numbers (NaN) are written as null and read back as NaN.
type Report struct {
	Title          string          `json:"title"`
	Summary        string          `json:"summary,omitempty"` // a paragraph of plain text
	Manifest       Manifest        `json:"manifest"`
	Metrics        []MetricInfo    `json:"metrics,omitempty"` // names, meanings and display order; built-in ones need none
	Gain           GainInfo        `json:"gain"`
	Configurations []Configuration `json:"configurations"`
	Predictors     []Predictor     `json:"predictors,omitempty"`
	GMM            *GMMSection     `json:"gmm,omitempty"`
	// Attributes group the metrics and the gain by the values of the
	// prompts' attributes (see GroupByAttribute).
	Attributes []AttributeGroup `json:"attributes,omitempty"`
}

// Manifest says what ran: the inputs with their hashes, the seeds, the
// configuration text and how long each stage took.
type Manifest struct {
	Name    string            `json:"name"`
	Version string            `json:"ggmi_version"`
	Created time.Time         `json:"created"`
	Inputs  []InputFile       `json:"inputs,omitempty"`
	Seeds   map[string]uint64 `json:"seeds,omitempty"`
	Config  string            `json:"config,omitempty"` // the experiment file as given
	Stages  []StageTiming     `json:"stages,omitempty"`
}

// InputFile is one input of a run.
type InputFile struct {
	Role   string `json:"role,omitempty"` // e.g. anchors, model, prompt template
	Path   string `json:"path"`
	SHA256 string `json:"sha256"` // hex
	Bytes  int64  `json:"bytes,omitempty"`
}

// StageTiming is the wall time of one stage of a run.
type StageTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// MetricInfo describes a metric: its display label, its meaning, and the
// sign the theory expects of its rank correlation with the gain (+1, −1,
// or 0 for no claim).
type MetricInfo struct {
	Name     string `json:"name"`
	Label    string `json:"label,omitempty"`
	Doc      string `json:"doc,omitempty"`
	Expected int    `json:"expected,omitempty"`
	// Note is a caveat about this run's values, shown under the metric's
	// row of the predictors table (e.g. an estimator that degenerated).
	Note string `json:"note,omitempty"`
}

// GainInfo names the measured gain a configuration's predictors are
// compared with, e.g. "judge rating minus the base model's".
type GainInfo struct {
	Label string `json:"label"`
	Doc   string `json:"doc,omitempty"`
}

// Configuration is one arm of an experiment: its parameters, the metrics
// of its synthetic data, the downstream results of a student trained on
// it, and the measured gain.
type Configuration struct {
	ID         string            `json:"id"`
	Label      string            `json:"label,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	Metrics    []Metric          `json:"metrics,omitempty"`
	Downstream Downstream        `json:"downstream"`
	Gain       *Estimate         `json:"gain,omitempty"` // nil when not measured
}

// Name returns the label, or the ID when there is none.
func (c Configuration) Name() string {
	if c.Label != "" {
		return c.Label
	}
	return c.ID
}

// Metric is one estimator's value on a configuration's data.
type Metric struct {
	Name     string            `json:"name"` // estimator name, as in the measure registry
	Estimate Estimate          `json:"estimate"`
	Settings map[string]string `json:"settings,omitempty"`
}

// MetricFromResult converts a measure.Result, formatting its settings as
// text.
func MetricFromResult(r measure.Result) Metric {
	m := Metric{Name: r.Name, Estimate: Estimate{Value: r.Value, CI95: r.CI95, N: r.N}}
	if len(r.Settings) > 0 {
		m.Settings = make(map[string]string, len(r.Settings))
		for k, v := range r.Settings {
			m.Settings[k] = fmt.Sprint(v)
		}
	}
	return m
}

// Downstream holds the results of a student trained on a configuration's
// data, each nil when not measured.
type Downstream struct {
	TestLoss          *Estimate `json:"test_loss,omitempty"`
	Perplexity        *Estimate `json:"perplexity,omitempty"`
	GeneralizationGap *Estimate `json:"generalization_gap,omitempty"` // test loss − train loss
	// AnchorGap is the test loss of the student trained on S_anchor alone
	// minus this one's: the text analogue of the KL Gap (gt-model
	// direction); positive when S_gen taught more than the anchors.
	AnchorGap   *Estimate `json:"anchor_gap,omitempty"`
	JudgeRating *Estimate `json:"judge_rating,omitempty"` // mean judge rating
}

// Predictor is how well one metric predicts the measured gain across
// configurations: Spearman's ρ with its bootstrap 95% interval (Rho.N is
// the number of configurations) and the verdict against the expected sign.
type Predictor struct {
	Metric   string   `json:"metric"`
	Rho      Estimate `json:"rho"`
	Expected int      `json:"expected,omitempty"`
	Verdict  string   `json:"verdict"` // agrees, opposite, inconclusive, no claim, or undefined
	Reps     int      `json:"bootstrap_reps,omitempty"`
	Seed     uint64   `json:"bootstrap_seed,omitempty"`
}

// Estimate is a value with its 95% interval and sample size (the value,
// interval and N of a [measure.Result]). NaN means not computed; JSON
// carries it as null.
type Estimate struct {
	Value float64
	CI95  measure.Interval
	N     int
}

// Est returns an Estimate of a value with its interval.
func Est(v, lo, hi float64) *Estimate {
	return &Estimate{Value: v, CI95: [2]float64{lo, hi}}
}

type jsonEstimate struct {
	Value *float64    `json:"value"`
	CI95  [2]*float64 `json:"ci95"`
	N     int         `json:"n,omitempty"`
}

func jsonFinite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func jsonOrNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes {"value", "ci95", "n"} with undefined numbers as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonEstimate{jsonFinite(e.Value), [2]*float64{jsonFinite(e.CI95[0]), jsonFinite(e.CI95[1])}, e.N})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (e *Estimate) UnmarshalJSON(b []byte) error {
	var j jsonEstimate
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("report: estimate: %w", err)
	}
	*e = Estimate{Value: jsonOrNaN(j.Value), CI95: [2]float64{jsonOrNaN(j.CI95[0]), jsonOrNaN(j.CI95[1])}, N: j.N}
	return nil
}

// builtinMetrics describes the estimators ggmi ships and the names papers
// use for them. They state no expected sign: a report that tests a claim
// says so in Report.Metrics.
var builtinMetrics = map[string]MetricInfo{
	"hsic":                    {Label: "HSIC", Doc: "Hilbert–Schmidt independence criterion between paired synthetic and anchor embeddings (Gaussian kernels, median bandwidth)"},
	"hsic-unbiased":           {Label: "HSIC (unbiased)", Doc: "unbiased HSIC estimator (Song et al. 2012)"},
	"hsic-normalized":         {Label: "HSIC (normalised)", Doc: "HSIC(X,Y)/√(HSIC(X,X)·HSIC(Y,Y))"},
	"ksg":                     {Label: "KSG MI", Doc: "Kraskov–Stögbauer–Grassberger k-NN mutual information (nats)"},
	"ksg-mi":                  {Label: "KSG MI", Doc: "Kraskov–Stögbauer–Grassberger k-NN mutual information (nats)"},
	"se":                      {Label: "semantic entropy", Doc: "entropy of the meaning clusters of the synthetic data (nats)"},
	"semantic-entropy-cosine": {Label: "semantic entropy", Doc: "entropy of cosine-similarity meaning clusters (nats)"},
	"delta_h":                 {Label: "ΔH", Doc: "entropy difference H(S_anchor) − H(S_gen) (Thm 4.10)"},
	"knn-entropy":             {Label: "k-NN entropy", Doc: "Kozachenko–Leonenko entropy of the embeddings (nats)"},
	"knn-kl":                  {Label: "k-NN KL", Doc: "k-NN estimate of KL(synthetic ‖ anchors)"},
	"mmd":                     {Label: "MMD²", Doc: "maximum mean discrepancy between synthetic and anchor embeddings"},
	"c2st":                    {Label: "C2ST accuracy", Doc: "classifier two-sample test accuracy (0.5: indistinguishable)"},
	"vendi":                   {Label: "Vendi score", Doc: "effective number of distinct items (exp of the eigenvalue entropy of the similarity matrix)"},
	"ngram":                   {Label: "n-gram diversity", Doc: "unique over total n-grams, averaged over n = 1..4"},
	"ngram-diversity":         {Label: "n-gram diversity", Doc: "unique over total n-grams, averaged over n = 1..4"},
	"self-repetition":         {Label: "self-repetition", Doc: "share of items repeating an n-gram of another item"},
	"self-bleu":               {Label: "self-BLEU", Doc: "mean BLEU of each item against the others (lower: more diverse)"},
	"compression-ratio":       {Label: "compression ratio", Doc: "gzip size over raw size of the concatenated texts"},
	"homogenization":          {Label: "homogenisation", Doc: "mean pairwise similarity of the texts"},
	"kmeans-entropy":          {Label: "k-means entropy", Doc: "entropy of k-means cluster sizes of the embeddings"},
	"cluster-agent":           {Label: "Cluster-agent diversity", Doc: "LLM cluster-agent diversity score"},
}

// metricInfo returns what the report knows about a metric: the report's own
// description first, then the built-in one, then the bare name.
func (r *Report) metricInfo(name string) MetricInfo {
	for _, m := range r.Metrics {
		if m.Name == name {
			b := builtinMetrics[name]
			if m.Label == "" {
				m.Label = b.Label
			}
			if m.Doc == "" {
				m.Doc = b.Doc
			}
			if m.Label == "" {
				m.Label = name
			}
			return m
		}
	}
	m := builtinMetrics[name]
	m.Name = name
	if m.Label == "" {
		m.Label = name
	}
	return m
}

// metricNames lists the metrics of the report in display order: those of
// Report.Metrics first, then the others in order of first appearance.
func (r *Report) metricNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, m := range r.Metrics {
		add(m.Name)
	}
	for _, c := range r.Configurations {
		for _, m := range c.Metrics {
			add(m.Name)
		}
	}
	return out
}

// metric returns a configuration's metric by name.
func (c Configuration) metric(name string) (Estimate, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m.Estimate, true
		}
	}
	return Estimate{}, false
}

// Predict computes, for each named metric (every metric of the report when
// names is empty), Spearman's ρ between the metric and the gain over the
// configurations that have both, with a percentile bootstrap 95% interval
// (reps resamples of configurations, seeded with seed; see SpearmanCI),
// and the verdict against the metric's expected sign. A metric that is
// constant across configurations or present on fewer than three gets ρ
// NaN and the verdict "undefined".
func Predict(r Report, names []string, reps int, seed uint64) ([]Predictor, error) {
	if len(names) == 0 {
		names = r.metricNames()
	}
	if reps <= 0 {
		reps = 2000
	}
	out := make([]Predictor, 0, len(names))
	for _, name := range names {
		var xs, ys []float64
		for _, c := range r.Configurations {
			m, ok := c.metric(name)
			if !ok || c.Gain == nil || !finiteNum(m.Value) || !finiteNum(c.Gain.Value) {
				continue
			}
			xs = append(xs, m.Value)
			ys = append(ys, c.Gain.Value)
		}
		p := Predictor{Metric: name, Expected: r.metricInfo(name).Expected, Reps: reps, Seed: seed}
		if len(xs) < 3 {
			p.Rho = Estimate{Value: math.NaN(), CI95: [2]float64{math.NaN(), math.NaN()}, N: len(xs)}
			p.Verdict = "undefined"
			out = append(out, p)
			continue
		}
		est, err := SpearmanCI(xs, ys, reps, seed)
		switch {
		case errors.Is(err, ErrConstant):
			p.Rho = est
			p.Verdict = "undefined"
			out = append(out, p)
			continue
		case err != nil:
			return nil, fmt.Errorf("report: predictor %s: %w", name, err)
		}
		p.Rho = est
		p.Verdict = predictorVerdict(est, p.Expected)
		out = append(out, p)
	}
	return out, nil
}

func predictorVerdict(e Estimate, expected int) string {
	lo, hi := e.CI95[0], e.CI95[1]
	switch {
	case math.IsNaN(e.Value):
		return "undefined"
	case expected == 0:
		return "no claim"
	case math.IsNaN(lo):
		return "inconclusive"
	case expected > 0 && lo > 0, expected < 0 && hi < 0:
		return "agrees"
	case expected > 0 && hi < 0, expected < 0 && lo > 0:
		return "opposite"
	}
	return "inconclusive"
}

func finiteNum(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// htmlSortedKeys returns the keys of m in order.
func htmlSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
