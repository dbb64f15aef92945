package measure

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/internal/vecmath"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"
	"gonum.org/v1/gonum/mat"
)

// Suite describes one measurement run: the synthetic data S_gen, the
// optional anchors S_anchor and training set T, the embedder and the
// metrics. See Run.
//
// All texts are embedded in one call, so batch-fitted embedders put them in
// one space. HSIC and KSG need paired rows: [PairByProvenance] pairs each
// synthetic record with the mean embedding of the anchors its prompt showed
// (dataset.Provenance.DemoIDs), [PairBySubsample] draws equal-size seeded
// subsamples of S_gen and T (the paper's "HSIC with the train set"); the
// mode is in Settings["pairing"]. O(n²) estimators run on seeded subsamples
// (MaxPairs, MaxTextPairs), stated in Settings. The divergences compare
// S_gen with Reference, else the training set, else the anchors. The
// offline semantic entropy is taken per prompt (dataset.Provenance.PromptID)
// when at least two prompts produced two records or more, and over the
// whole set otherwise.
type Suite struct {
	Data    []dataset.Record // S_gen (required)
	Anchors []dataset.Record // S_anchor: provenance pairing, ΔH, and the reference of divergences when Train is empty
	Train   []dataset.Record // T: the paper's "HSIC with the train set" and the reference of divergences when Reference is empty
	// Reference is the sample the divergences (mmd, c2st, knn-kl) compare
	// S_gen with, e.g. the real held-out split (Lemma 3.1's D against
	// D_gen); when empty they use Train, else Anchors. ReferenceName
	// labels it in the settings ("reference" when empty).
	Reference     []dataset.Record
	ReferenceName string
	// Embedder maps texts to vectors (required by embedding metrics). All
	// texts (data, anchors, train) are embedded in one call so that
	// batch-fitted embedders (LSA, SIF) put them in one space.
	Embedder embed.Embedder
	// Metrics selects metrics by name: "all" (or empty) or a comma list of
	// SuiteMetrics names and their aliases; LLM metrics (RegisterLLM) are
	// included in "all" only when LLM is set.
	Metrics string
	// Field is the record field measured: "" or "all" joins instruction,
	// input and output (messages when those are empty); any other name is
	// read with dataset.Record.Field.
	Field string
	// Pairing of HSIC and KSG: PairProvenance, PairSubsample, or "" (auto:
	// provenance when anchors are given and some record has demo IDs, else
	// subsample against Train, else against Anchors).
	Pairing string
	Seed    uint64
	// Bootstrap is the number of resamples of the CIs added to estimators
	// that have none (0 means 200; negative: no interval). Resamples are
	// half-samples without replacement (see Run).
	Bootstrap int
	// BootstrapMaxN bounds the resample size (see BootstrapOptions.MaxN);
	// 0 means 2,000, negative: no bound.
	BootstrapMaxN int
	// MaxPairs bounds the sample of the O(n²) embedding estimators (exact
	// HSIC, KSG, k-NN entropy and KL, MMD, C2ST, cosine SE): a seeded
	// subsample is drawn beyond it. 0 means 2,000.
	MaxPairs int
	// MaxTextPairs bounds the sample of the O(n²) text metrics (self-BLEU,
	// homogenization); 0 means 500.
	MaxTextPairs int
	// Params holds per-metric numeric parameters by canonical name, e.g.
	// {"se": {"threshold": 0.85}, "hsic-rff": {"features": 200}}.
	Params map[string]map[string]float64
	// Workers bound the bootstrap's goroutines (GOMAXPROCS when ≤ 0).
	Workers int
	// LLM and Model serve LLM metrics (RegisterLLM); nil disables them.
	LLM   llm.Backend
	Model string
	// Progress receives a stage per step ("embed", "measure"); nil is quiet.
	Progress progress.Reporter
}

// Report is the outcome of Run.
type Report struct {
	Metrics  []Result          `json:"metrics"`
	Errors   map[string]string `json:"errors,omitempty"` // metric → error, for metrics that failed
	N        int               `json:"n"`                // synthetic records
	Anchors  int               `json:"anchors"`
	Train    int               `json:"train"`
	Ref      int               `json:"reference,omitempty"`
	Embedder string            `json:"embedder,omitempty"`
	Field    string            `json:"field"`
	Seed     uint64            `json:"seed"`
	Seconds  float64           `json:"seconds"`
}

// SuiteMetric describes a metric of the suite.
type SuiteMetric struct {
	Name    string   // canonical name
	Aliases []string // other accepted names
	Needs   string   // "texts", "embeddings", "reference" (T or S_anchor), "anchors", "pairs" or "llm"
	Doc     string
	Params  []Param // the numeric parameters Suite.Params may set, with their defaults
}

// Param is a numeric parameter of a suite metric (Suite.Params[metric][name])
// and the value used when it is not set.
type Param struct {
	Name    string
	Default float64
}

// params reads a metric's parameters: the value in Suite.Params, else the
// default its entry declares. Reading a name the entry does not declare is
// a programming error, reported as an error rather than a silent default.
type params struct {
	metric string
	set    map[string]float64
	spec   []Param
}

func (p params) float(name string) float64 {
	if v, ok := p.set[name]; ok {
		return v
	}
	for _, q := range p.spec {
		if q.Name == name {
			return q.Default
		}
	}
	return math.NaN()
}

func (p params) int(name string) int { return int(p.float(name)) }

// suiteEntry is one row of the suite's table: what the metric is and needs,
// and how it runs on the state of a run.
type suiteEntry struct {
	SuiteMetric
	run func(ctx context.Context, st *state, p params) (Result, error)
}

// suiteTable lists the built-in metrics in the order Run reports them (set
// in init: the entries' run functions read the table for their defaults).
var suiteTable []suiteEntry

func init() {
	suiteTable = []suiteEntry{
		{SuiteMetric{"hsic", []string{"hsic-exact"}, "pairs", "biased HSIC, Gaussian kernels, median heuristic, on pairs (NOTES §3)", nil}, runHSIC},
		{SuiteMetric{"hsic-rff", nil, "pairs", "HSIC by random Fourier features on all pairs",
			[]Param{{"features", 100}, {"median_rows", DefaultMedianRows}}}, runHSICRFF},
		{SuiteMetric{"ksg", []string{"ksg-mi", "mi"}, "pairs", "KSG mutual information (nats) on pairs",
			[]Param{{"k", 3}, {"pca_dim", 10}}}, runKSG},
		{SuiteMetric{"entropy", []string{"knn-entropy", "kl-entropy"}, "embeddings", "Kozachenko–Leonenko k-NN entropy of S_gen (nats)",
			[]Param{{"k", 3}, {"ensemble", 1}}}, runEntropy},
		{SuiteMetric{"delta-h", []string{"dh"}, "anchors", "ΔH = H(S_anchor) − H(S_gen), k-NN entropies (nats; k is entropy's)", nil}, runDeltaH},
		{SuiteMetric{"se", []string{"semantic-entropy-cosine", "semantic-entropy"}, "embeddings", "semantic entropy, offline cosine approximation, per prompt when records name their prompt",
			[]Param{{"threshold", 0.9}, {"grouped", 1}}}, runSE},
		{SuiteMetric{"ngram", []string{"ngram-diversity"}, "texts", "unique/total n-grams, mean over n = 1..4",
			[]Param{{"max_n", 4}}}, runNGram},
		{SuiteMetric{"self-rep", []string{"self-repetition"}, "texts", "self-repetition (4-grams)",
			[]Param{{"n", 4}}}, runSelfRep},
		{SuiteMetric{"compression", []string{"compression-ratio", "gzip"}, "texts", "gzip compression ratio", nil}, runCompression},
		{SuiteMetric{"kmeans-entropy", []string{"kmeans"}, "embeddings", "entropy of K-means cluster sizes (k = 10)",
			[]Param{{"k", 10}}}, runKMeansEntropy},
		{SuiteMetric{"self-bleu", nil, "texts", "mean self-BLEU-4", []Param{{"max_n", 4}}}, runTextPairs},
		{SuiteMetric{"homogenization", []string{"rouge-l"}, "texts", "mean pairwise ROUGE-L F1", nil}, runTextPairs},
		{SuiteMetric{"vendi", nil, "embeddings", "Vendi score, cosine kernel", nil}, runVendi},
		{SuiteMetric{"mmd", []string{"mmd2"}, "reference", "unbiased MMD², Gaussian kernel, S_gen vs reference", nil}, runDivergence},
		{SuiteMetric{"c2st", nil, "reference", "classifier two-sample test accuracy, S_gen vs reference",
			[]Param{{"folds", 5}}}, runDivergence},
		{SuiteMetric{"knn-kl", []string{"kl"}, "reference", "k-NN KL(S_gen ‖ reference) (nats)",
			[]Param{{"k", 3}, {"ensemble", 1}}}, runDivergence},
	}
}

// SuiteMetrics lists the metrics Run knows, built-in ones first, then the
// LLM metrics registered with RegisterLLM.
func SuiteMetrics() []SuiteMetric {
	out := make([]SuiteMetric, 0, len(suiteTable))
	for _, e := range suiteTable {
		out = append(out, e.SuiteMetric)
	}
	llmMu.RLock()
	defer llmMu.RUnlock()
	names := make([]string, 0, len(llmMetrics))
	for n := range llmMetrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, SuiteMetric{Name: n, Needs: "llm", Doc: llmMetrics[n].doc})
	}
	return out
}

// LLMInput is what an LLM metric receives from Run.
type LLMInput struct {
	Texts    []string
	Records  []dataset.Record
	Backend  llm.Backend
	Model    string
	Seed     uint64
	Params   map[string]float64
	Progress progress.Reporter
}

// LLMMetric computes a metric that needs a generative model (LLM
// entailment for semantic entropy, the Cluster-agent).
type LLMMetric func(ctx context.Context, in LLMInput) (Result, error)

type llmEntry struct {
	fn  LLMMetric
	doc string
}

var (
	llmMu      sync.RWMutex
	llmMetrics = map[string]llmEntry{}
)

// RegisterLLM makes an LLM metric selectable by name in Suite.Metrics; it
// runs when Suite.LLM is set. Names must not clash with built-in metrics.
func RegisterLLM(name, doc string, m LLMMetric) error {
	if name == "" || m == nil {
		return errors.New("measure: RegisterLLM needs a name and a metric")
	}
	if _, ok := canonical(name); ok {
		return fmt.Errorf("measure: LLM metric %q clashes with a built-in metric", name)
	}
	llmMu.Lock()
	defer llmMu.Unlock()
	if _, ok := llmMetrics[name]; ok {
		return fmt.Errorf("measure: LLM metric %q already registered", name)
	}
	llmMetrics[name] = llmEntry{m, doc}
	return nil
}

func canonical(name string) (string, bool) {
	for _, m := range suiteTable {
		if m.Name == name || slices.Contains(m.Aliases, name) {
			return m.Name, true
		}
	}
	return "", false
}

// SelectMetrics resolves a metric selection ("all", "" or a comma list) to
// canonical names in suite order, without duplicates. withLLM says whether
// LLM metrics can run.
func SelectMetrics(sel string, withLLM bool) ([]string, error) {
	sel = strings.TrimSpace(sel)
	all := SuiteMetrics()
	if sel == "" || sel == "all" {
		var out []string
		for _, m := range all {
			if m.Needs != "llm" || withLLM {
				out = append(out, m.Name)
			}
		}
		return out, nil
	}
	want := map[string]bool{}
	for _, p := range strings.Split(sel, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		if p == "" {
			continue
		}
		if c, ok := canonical(p); ok {
			want[c] = true
			continue
		}
		llmMu.RLock()
		_, ok := llmMetrics[p]
		llmMu.RUnlock()
		if !ok {
			names := make([]string, len(all))
			for i, m := range all {
				names[i] = m.Name
			}
			return nil, fmt.Errorf("unknown metric %q (known: all, %s)", p, strings.Join(names, ", "))
		}
		if !withLLM {
			return nil, fmt.Errorf("metric %q needs an LLM backend", p)
		}
		want[p] = true
	}
	if len(want) == 0 {
		return nil, errors.New("no metric selected")
	}
	var out []string
	for _, m := range all {
		if want[m.Name] {
			out = append(out, m.Name)
		}
	}
	return out, nil
}

// RecordText returns the text measured for a record: instruction, input and
// output joined by newlines (the non-empty ones), or the messages when all
// three are empty.
func RecordText(r dataset.Record) string {
	var parts []string
	for _, s := range []string{r.Instruction, r.Input, r.Output} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return r.Field("messages")
	}
	return strings.Join(parts, "\n")
}

func textsOf(recs []dataset.Record, field string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		if field == "" || field == "all" {
			out[i] = RecordText(r)
		} else {
			out[i] = r.Field(field)
		}
	}
	return out
}

// state is what the metrics of one run share.
type state struct {
	s                 *Suite
	texts             []string
	x, a, t           [][]float64 // embeddings of data, anchors, train
	ref               [][]float64 // the divergences' reference sample
	refName           string
	pairName          string // what subsample pairs are drawn from
	pairs             *Pairs
	pairErr           error
	th                tokenHashes
	bopt              BootstrapOptions
	ctx               context.Context // the run's: stops resampling loops
	maxPairs, maxText int
}

// params returns the parameters of the metric named name.
func (st *state) params(name string) params {
	m, _ := metricByName(name)
	return params{metric: name, set: st.s.Params[name], spec: m.Params}
}

// Run measures the suite's data with the selected metrics. Every metric
// gets its estimator settings in Result.Settings and a 95% CI: the
// estimator's own where it has one, else a seeded bootstrap (Settings["ci"]
// says which). The suite's bootstrap draws half-samples without
// replacement (BootstrapOptions.Subsample): its statistics count distinct
// n-grams, compress, or sum kernels, and the repeated rows of the
// classical bootstrap bias them (an interval that misses the estimate). A metric that fails is recorded in
// Report.Errors and the others still run; an error is returned only for
// invalid input (no data, unknown metric, embedding failure) or
// cancellation.
func Run(ctx context.Context, s Suite) (Report, error) {
	t0 := time.Now()
	pr := progress.OrNop(s.Progress)
	if len(s.Data) == 0 {
		return Report{}, errors.New("measure: no synthetic records to measure")
	}
	names, err := SelectMetrics(s.Metrics, s.LLM != nil)
	if err != nil {
		return Report{}, fmt.Errorf("measure: %w", err)
	}
	st := &state{s: &s, texts: textsOf(s.Data, s.Field), ctx: ctx}
	st.maxPairs, st.maxText = s.MaxPairs, s.MaxTextPairs
	if st.maxPairs <= 0 {
		st.maxPairs = 2000
	}
	if st.maxText <= 0 {
		st.maxText = 500
	}
	st.bopt = BootstrapOptions{Resamples: s.Bootstrap, Seed: s.Seed ^ 0xc1, Workers: s.Workers, MaxN: s.BootstrapMaxN, Subsample: true, Context: ctx}
	if st.bopt.MaxN == 0 {
		st.bopt.MaxN = 2000
	} else if st.bopt.MaxN < 0 {
		st.bopt.MaxN = 0
	}
	rep := Report{N: len(s.Data), Anchors: len(s.Anchors), Train: len(s.Train), Ref: len(s.Reference), Field: s.Field, Seed: s.Seed, Errors: map[string]string{}}
	if rep.Field == "" {
		rep.Field = "all"
	}
	needEmb := false
	for _, n := range names {
		if m, ok := metricByName(n); ok && m.Needs != "texts" && m.Needs != "llm" {
			needEmb = true
		}
	}
	if needEmb {
		if s.Embedder == nil {
			return Report{}, errors.New("measure: the selected metrics need an embedder")
		}
		rep.Embedder = s.Embedder.ID()
		if err := st.embed(ctx, pr); err != nil {
			return Report{}, err
		}
	}
	pr.Start("measure", len(names))
	defer pr.Done()
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r, err := st.run(ctx, n)
		pr.Add(1)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			rep.Errors[n] = err.Error()
			continue
		}
		r.Name = n
		if r.Settings == nil {
			r.Settings = map[string]any{}
		}
		rep.Metrics = append(rep.Metrics, r)
	}
	if len(rep.Errors) == 0 {
		rep.Errors = nil
	}
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

// promptGroups returns the indices of the records of each prompt (by
// provenance prompt ID, in order of first appearance) that produced at
// least two records; nil without prompt IDs.
func (st *state) promptGroups() [][]int {
	order, members := groupByLabel(len(st.s.Data), func(i int) string { return st.s.Data[i].Provenance.PromptID })
	var out [][]int
	for _, id := range order {
		if id != "" && len(members[id]) >= 2 {
			out = append(out, members[id])
		}
	}
	return out
}

// groupedCosineSE is the offline semantic entropy per prompt (NOTES §4:
// the answers to one question are clustered), averaged over the prompts
// with at least two records, with a Student-t interval over prompts. A
// whole-set entropy would grow with the number of records, whatever
// their meaning.
func (st *state) groupedCosineSE(groups [][]int, thr float64, seed uint64) (Result, error) {
	vals := make([]float64, len(groups))
	n, nc := 0, 0
	for g, idx := range groups {
		x, _ := subsample(pickRows(st.x, idx), st.maxPairs, seed^uint64(g))
		r, err := SemanticEntropyCosine(x, thr, nil)
		if err != nil {
			return Result{}, fmt.Errorf("prompt group %d: %w", g, err)
		}
		k, err := setting[int](r, "n_clusters")
		if err != nil {
			return Result{}, err
		}
		vals[g] = r.Value
		n += len(x)
		nc += k
	}
	return Result{Name: "se", Value: meanOf(vals), CI95: tCI95(vals), N: n, Settings: map[string]any{
		"threshold": thr, "approximation": "cosine similarity ≥ threshold stands in for bidirectional entailment",
		"grouping": "prompt", "groups": len(groups), "mean_group_size": float64(n) / float64(len(groups)),
		"mean_clusters": float64(nc) / float64(len(groups)), "ci": "Student t over prompts", "weighted": false}}, nil
}

func metricByName(n string) (suiteEntry, bool) {
	for _, m := range suiteTable {
		if m.Name == n {
			return m, true
		}
	}
	return suiteEntry{}, false
}

func (st *state) embed(ctx context.Context, pr progress.Reporter) error {
	s := st.s
	all := append(append(append(slices.Clone(st.texts), textsOf(s.Anchors, s.Field)...), textsOf(s.Train, s.Field)...), textsOf(s.Reference, s.Field)...)
	pr.Start("embed", len(all))
	v, err := s.Embedder.Embed(ctx, all)
	pr.Add(len(all))
	pr.Done()
	if err != nil {
		return fmt.Errorf("measure: embed %d texts with %s: %w", len(all), s.Embedder.ID(), err)
	}
	if len(v) != len(all) {
		return fmt.Errorf("measure: %s returned %d vectors for %d texts", s.Embedder.ID(), len(v), len(all))
	}
	f := embed.Float64s(v)
	n, na, nt := len(s.Data), len(s.Anchors), len(s.Train)
	st.x, st.a, st.t = f[:n], f[n:n+na], f[n+na:n+na+nt]
	switch {
	case len(s.Reference) > 0:
		st.ref, st.refName = f[n+na+nt:], s.ReferenceName
		if st.refName == "" {
			st.refName = "reference"
		}
	case len(st.t) > 0:
		st.ref, st.refName = st.t, "train"
	case len(st.a) > 0:
		st.ref, st.refName = st.a, "anchors"
	}
	return nil
}

// getPairs builds the HSIC/KSG pairs once.
func (st *state) getPairs() (*Pairs, error) {
	if st.pairs != nil || st.pairErr != nil {
		return st.pairs, st.pairErr
	}
	s := st.s
	mode := s.Pairing
	hasDemos := false
	for _, r := range s.Data {
		if len(r.Provenance.DemoIDs) > 0 {
			hasDemos = true
			break
		}
	}
	if mode == "" {
		mode = PairSubsample
		if len(st.a) > 0 && hasDemos {
			mode = PairProvenance
		}
	}
	var p Pairs
	var err error
	switch mode {
	case PairProvenance:
		if len(st.a) == 0 {
			err = errors.New("provenance pairing needs anchors")
			break
		}
		ids := make([][]string, len(s.Data))
		for i, r := range s.Data {
			ids[i] = r.Provenance.DemoIDs
		}
		aid := make([]string, len(s.Anchors))
		for i, r := range s.Anchors {
			aid[i] = r.ID
		}
		p, err = PairByProvenance(st.x, ids, st.a, aid)
	case PairSubsample:
		other, name := st.t, "train"
		if len(other) == 0 {
			other, name = st.a, "anchors"
		}
		if len(other) == 0 {
			err = errors.New("pairing needs a training set or anchors")
			break
		}
		p, err = PairBySubsample(st.x, other, 0, s.Seed)
		if err == nil {
			p.MissingDemos = -1 // not applicable
			st.pairName = name
		}
	default:
		err = fmt.Errorf("unknown pairing %q (want %s or %s)", mode, PairProvenance, PairSubsample)
	}
	if err != nil {
		st.pairErr = fmt.Errorf("pairing: %w", err)
		return nil, st.pairErr
	}
	st.pairs = &p
	return st.pairs, nil
}

func (st *state) pairSettings(p *Pairs) map[string]any {
	set := p.Settings()
	if p.Mode == PairSubsample {
		delete(set, "missing_demo_ids")
		delete(set, "unmatched")
		set["paired_with"] = st.pairName
		set["pairing_seed"] = st.s.Seed
	}
	return set
}

// subsample returns at most m seeded rows of x (the indices too).
func subsample[T any](x []T, m int, seed uint64) ([]T, []int) {
	if len(x) <= m {
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		return x, idx
	}
	rng := rand.New(rand.NewPCG(seed, 0x50b5))
	idx := rng.Perm(len(x))[:m]
	slices.Sort(idx)
	return pickRows(x, idx), idx
}

// withBootstrap adds a bootstrap CI to r (whose estimate is r.Value).
func (st *state) withBootstrap(r Result, sizes []int, stat func(idx [][]int) (float64, error)) (Result, error) {
	if r.Settings == nil {
		r.Settings = map[string]any{}
	}
	if st.s.Bootstrap < 0 {
		r.CI95 = nanCI
		r.Settings["ci"] = "none"
		return r, nil
	}
	b, err := Bootstrap(sizes, r.Value, stat, st.bopt)
	if err != nil {
		return r, err
	}
	r.CI95 = b.CI
	r.Settings["ci"] = b.Method + " bootstrap (without replacement, rescaled)"
	r.Settings["bootstrap"] = b.Settings()
	return r, nil
}

func (st *state) run(ctx context.Context, name string) (Result, error) {
	s := st.s
	if m, ok := metricByName(name); ok {
		return m.run(ctx, st, st.params(name))
	}
	seed := s.Seed
	llmMu.RLock()
	e, ok := llmMetrics[name]
	llmMu.RUnlock()
	if !ok {
		return Result{}, fmt.Errorf("unknown metric %q", name)
	}
	if s.LLM == nil {
		return Result{}, fmt.Errorf("%s needs an LLM backend", name)
	}
	return e.fn(ctx, LLMInput{Texts: st.texts, Records: s.Data, Backend: s.LLM, Model: s.Model, Seed: seed,
		Params: s.Params[name], Progress: s.Progress})
}

func runHSIC(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	p, err := st.getPairs()
	if err != nil {
		return Result{}, err
	}
	x, idx := subsample(p.X, st.maxPairs, seed^0x11)
	y := pickRows(p.Y, idx)
	k, s2x, err := Gram(x, Kernel{}, seed)
	if err != nil {
		return Result{}, err
	}
	l, s2y, err := Gram(y, Kernel{}, seed+1)
	if err != nil {
		return Result{}, err
	}
	n := len(x)
	r := Result{Value: HSICBiased(k, l, n), N: n, Settings: st.pairSettings(p)}
	r.Settings["kernel"], r.Settings["sigma2_x"], r.Settings["sigma2_y"] = "gaussian", s2x, s2y
	r.Settings["bandwidth"], r.Settings["estimator"], r.Settings["sample"] = "median heuristic", "biased", n
	return st.withBootstrap(r, []int{n}, func(ix [][]int) (float64, error) {
		return hsicSub(k, l, n, ix[0]), nil
	})
}

func runHSICRFF(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	p, err := st.getPairs()
	if err != nil {
		return Result{}, err
	}
	D := ps.int("features")
	r, err := HSICRFF(p.X, p.Y, RFFOptions{Features: D, Seed: seed, MedianRows: ps.int("median_rows")})
	if err != nil {
		return Result{}, err
	}
	for k, v := range st.pairSettings(p) {
		r.Settings[k] = v
	}
	zx, zy, err := rffPair(p.X, p.Y, r, seed)
	if err != nil {
		return Result{}, err
	}
	return st.withBootstrap(r, []int{len(p.X)}, func(ix [][]int) (float64, error) {
		return rffHSICSub(zx, zy, ix[0]), nil
	})
}

func runKSG(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	p, err := st.getPairs()
	if err != nil {
		return Result{}, err
	}
	x, idx := subsample(p.X, st.maxPairs, seed^0x22)
	y := pickRows(p.Y, idx)
	x, y, dup := dedupPairs(x, y)
	k := ps.int("k")
	pca := ps.int("pca_dim")
	r, err := KSG(x, y, KSGOptions{K: k, PCADim: pca, CI: st.knnCI(false)})
	if err != nil {
		return Result{}, err
	}
	for k, v := range st.pairSettings(p) {
		r.Settings[k] = v
	}
	r.Settings["duplicates_removed"] = dup
	return r, nil
}

func runEntropy(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	return st.knnEntropy(st.x, seed^0x33)
}

func runDeltaH(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	if len(st.a) == 0 {
		return Result{}, errors.New("ΔH needs anchors (--anchors)")
	}
	ha, err := st.knnEntropy(st.a, seed^0x44)
	if err != nil {
		return Result{}, fmt.Errorf("H(S_anchor): %w", err)
	}
	hg, err := st.knnEntropy(st.x, seed^0x33)
	if err != nil {
		return Result{}, fmt.Errorf("H(S_gen): %w", err)
	}
	v := ha.Value - hg.Value
	h := math.Hypot((ha.CI95[1]-ha.CI95[0])/2, (hg.CI95[1]-hg.CI95[0])/2)
	set := map[string]any{
		"h_anchor": ha.Value, "h_gen": hg.Value, "n_anchor": ha.N, "estimator": "knn-entropy", "k": ha.Settings["k"],
		"method": hg.Settings["method"], "unit": "nats", "ci": "estimators' half-widths added in quadrature (independent samples)"}
	if why := hg.ApproximateCI() + ha.ApproximateCI(); why != "" {
		set[CIApproximate] = "symmetric in quadrature around bias-extended intervals; " + cmp.Or(hg.ApproximateCI(), ha.ApproximateCI())
	}
	return Result{Value: v, CI95: [2]float64{v - h, v + h}, N: hg.N, Settings: set}, nil
}

func runSE(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	thr := ps.float("threshold")
	if groups := st.promptGroups(); len(groups) >= 2 && ps.float("grouped") != 0 {
		return st.groupedCosineSE(groups, thr, seed)
	}
	x, _ := subsample(st.x, st.maxPairs, seed^0x55)
	r, err := SemanticEntropyCosine(x, thr, nil)
	if err != nil {
		return Result{}, err
	}
	c, err := setting[[]int](r, "clusters")
	if err != nil {
		return Result{}, err
	}
	delete(r.Settings, "clusters")
	r.Settings["approximation"] = "cosine similarity ≥ threshold stands in for bidirectional entailment"
	r.Settings["grouping"] = "whole set"
	if r.Settings["n_clusters"] == len(c) && len(c) > 1 {
		r.Settings["note"] = "every text is a cluster of its own: the value is log n and reflects only the sample size (lower the threshold, or use se-llm)"
	}
	r, err = st.withBootstrap(r, []int{len(c)}, func(ix [][]int) (float64, error) {
		return DiscreteSE(pickRows(c, ix[0]))
	})
	r.Settings["ci_note"] = "clusters held fixed; resamples the items"
	return r, err
}

func runNGram(ctx context.Context, st *state, ps params) (Result, error) {
	maxN := ps.int("max_n")
	if maxN < 1 {
		return Result{}, fmt.Errorf("n-gram order must be positive (got %d)", maxN)
	}
	gi := st.hashes().ngramIndexes(maxN)
	rs, empty := ngramRatios(gi, nil)
	if empty > 0 {
		return Result{}, fmt.Errorf("no %d-grams in the texts", empty)
	}
	r, err := ngramResult(rs, maxN, "mean", len(st.texts))
	if err != nil {
		return Result{}, err
	}
	return st.withBootstrap(r, []int{len(st.texts)}, func(ix [][]int) (float64, error) {
		rs, empty := ngramRatios(gi, ix[0])
		if empty > 0 {
			return 0, errors.New("no n-grams")
		}
		var v float64
		for _, x := range rs {
			v += x / float64(maxN)
		}
		return v, nil
	})
}

func runSelfRep(ctx context.Context, st *state, ps params) (Result, error) {
	n := ps.int("n")
	if n < 1 {
		return Result{}, fmt.Errorf("n-gram order must be positive (got %d)", n)
	}
	gi := st.hashes().index(n)
	r := Result{Value: gi.selfRepetition(nil), N: len(st.texts), Settings: map[string]any{"n": n}}
	return st.withBootstrap(r, []int{len(st.texts)}, func(ix [][]int) (float64, error) {
		return gi.selfRepetition(ix[0]), nil
	})
}

func runCompression(ctx context.Context, st *state, ps params) (Result, error) {
	r, err := CompressionRatio(st.texts)
	if err != nil {
		return Result{}, err
	}
	return st.withBootstrap(r, []int{len(st.texts)}, func(ix [][]int) (float64, error) {
		c, err := CompressionRatio(pickRows(st.texts, ix[0]))
		return c.Value, err
	})
}

func runKMeansEntropy(ctx context.Context, st *state, ps params) (Result, error) {
	seed := st.s.Seed
	k := ps.int("k")
	x, _ := subsample(st.x, 20000, seed^0x66)
	asg, err := KMeans(x, min(k, len(x)), seed)
	if err != nil {
		return Result{}, err
	}
	h, err := DiscreteSE(asg)
	if err != nil {
		return Result{}, err
	}
	r := Result{Value: h, N: len(x), Settings: map[string]any{"k": k, "unit": "nats", "sample": len(x)}}
	r, err = st.withBootstrap(r, []int{len(asg)}, func(ix [][]int) (float64, error) {
		return DiscreteSE(pickRows(asg, ix[0]))
	})
	r.Settings["ci_note"] = "clusters held fixed; resamples the items"
	return r, err
}

func runTextPairs(ctx context.Context, st *state, ps params) (Result, error) {
	name, seed := ps.metric, st.s.Seed
	t, _ := subsample(st.texts, st.maxText, seed^0x77)
	var r Result
	var err error
	if name == "self-bleu" {
		r, err = SelfBLEU(t, ps.int("max_n"))
	} else {
		r, err = Homogenization(t)
	}
	if err != nil {
		return Result{}, err
	}
	r.Settings["sample"], r.Settings["ci"] = len(t), "estimator (mean ± 1.96·sd/√n, approximate)"
	r.Settings[CIApproximate] = "texts share references and pairs share texts; the per-item formula ignores it"
	return r, nil
}

func runVendi(ctx context.Context, st *state, ps params) (Result, error) {
	r, err := Vendi(st.x)
	if err != nil {
		return Result{}, err
	}
	u := unitRows(st.x)
	return st.withBootstrap(r, []int{len(u)}, func(ix [][]int) (float64, error) {
		v, err := Vendi(pickRows(u, ix[0]))
		return v.Value, err
	})
}

func runDivergence(ctx context.Context, st *state, ps params) (Result, error) {
	name, seed := ps.metric, st.s.Seed
	if len(st.ref) == 0 {
		return Result{}, fmt.Errorf("%s needs a reference sample (--reference, --train or --anchors)", name)
	}
	x, _ := subsample(st.x, st.maxPairs, seed^0x88)
	y, _ := subsample(st.ref, st.maxPairs, seed^0x99)
	var r Result
	var err error
	switch name {
	case "mmd":
		r, err = st.mmd(x, y)
	case "c2st":
		r, err = ClassifierTwoSample(x, y, C2STOptions{Folds: ps.int("folds"), Seed: seed})
		if err == nil {
			r.Settings["ci"] = "Wilson interval of the accuracy"
		}
	default:
		var dx, dy int
		x, dx = dedupRows(x)
		y, dy = dedupRows(y)
		r, err = KLDivergenceOpt(x, y, KNNKLOptions{K: ps.int("k"), Method: knnSuiteMethod(ps), CI: st.knnCI(true)})
		if err == nil {
			r.Settings["duplicates_removed"] = dx + dy
		}
	}
	if err != nil {
		return Result{}, err
	}
	r.Settings["reference"] = st.refName
	return r, nil
}

func (st *state) hashes() tokenHashes {
	if st.th == nil {
		st.th = hashTokens(st.texts)
	}
	return st.th
}

// knnCI is the k-NN estimators' interval: half-sampling with the suite's
// resample count, at most 50 (each half-sample is a quarter of a full
// O(n²) estimate); a negative Suite.Bootstrap selects the fast per-point
// formula.
func (st *state) knnCI(biasAware bool) KNNInterval {
	b := st.s.Bootstrap
	if b == 0 || b > 50 {
		b = 50
	}
	return KNNInterval{Resamples: b, Seed: st.s.Seed ^ 0x4e4e, BiasAware: biasAware, Context: st.ctx}
}

func (st *state) knnEntropy(x [][]float64, seed uint64) (Result, error) {
	x, _ = subsample(x, st.maxPairs, seed)
	x, dup := dedupRows(x)
	ps := st.params("entropy")
	r, err := KLEntropyOpt(x, KNNEntropyOptions{K: ps.int("k"), Method: knnSuiteMethod(ps), CI: st.knnCI(true)})
	if err != nil {
		return Result{}, err
	}
	r.Settings["duplicates_removed"] = dup
	return r, nil
}

func (st *state) mmd(x, y [][]float64) (Result, error) {
	r, err := MMD(x, y, MMDOptions{Seed: st.s.Seed})
	if err != nil {
		return Result{}, err
	}
	pool := append(slices.Clone(x), y...)
	s2, err := setting[float64](r, "sigma2")
	if err != nil {
		return Result{}, err
	}
	g, _, err := Gram(pool, Kernel{Sigma2: s2}, 0)
	if err != nil {
		return Result{}, err
	}
	m, N := len(x), len(pool)
	return st.withBootstrap(r, []int{len(x), len(y)}, func(ix [][]int) (float64, error) {
		return mmdSub(g, N, m, ix[0], ix[1]), nil
	})
}

// mmdSub is the unbiased MMD² of the resample (a of x, b of y) from the
// pooled kernel matrix g (N×N, x first, m rows of x).
func mmdSub(g []float64, N, m int, a, b []int) float64 {
	var sxx, syy, sxy float64
	for p, i := range a {
		for q, j := range a {
			if p != q {
				sxx += g[i*N+j]
			}
		}
		for _, j := range b {
			sxy += g[i*N+m+j]
		}
	}
	for p, i := range b {
		for q, j := range b {
			if p != q {
				syy += g[(m+i)*N+m+j]
			}
		}
	}
	fm, fn := float64(len(a)), float64(len(b))
	return sxx/(fm*(fm-1)) + syy/(fn*(fn-1)) - 2*sxy/(fm*fn)
}

// dedupPairs drops pairs whose x or y row repeats an earlier one.
func dedupPairs(x, y [][]float64) ([][]float64, [][]float64, int) {
	_, dx := dedupRows(x)
	_, dy := dedupRows(y)
	if dx == 0 && dy == 0 {
		return x, y, 0
	}
	key := func(r []float64) string {
		return fmt.Sprint(r)
	}
	sx, sy := map[string]bool{}, map[string]bool{}
	var ox, oy [][]float64
	for i := range x {
		kx, ky := key(x[i]), key(y[i])
		if sx[kx] || sy[ky] {
			continue
		}
		sx[kx], sy[ky] = true, true
		ox, oy = append(ox, x[i]), append(oy, y[i])
	}
	return ox, oy, len(x) - len(ox)
}

// hsicSub is the biased HSIC of the resample idx from the full kernel
// matrices (bandwidths fixed at the full-sample values).
func hsicSub(k, l []float64, n int, idx []int) float64 {
	m := len(idx)
	rk := make([]float64, m)
	rl := make([]float64, m)
	var tkl float64
	for a, i := range idx {
		ki, li := k[i*n:(i+1)*n], l[i*n:(i+1)*n]
		var sk, sl, skl float64
		for _, j := range idx {
			kv, lv := ki[j], li[j]
			sk += kv
			sl += lv
			skl += kv * lv
		}
		rk[a], rl[a], tkl = sk, sl, tkl+skl
	}
	var sk, sl, cross float64
	for a := range rk {
		sk += rk[a]
		sl += rl[a]
		cross += rk[a] * rl[a]
	}
	fm := float64(m)
	t := tkl - 2*cross/fm + sk*sl/(fm*fm)
	return t / ((fm - 1) * (fm - 1))
}

// unitRows returns the rows scaled to unit length (zero rows kept).
func unitRows(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		s := math.Sqrt(vecmath.DotGo(r, r))
		if s == 0 {
			out[i] = r
			continue
		}
		u := make([]float64, len(r))
		for j, v := range r {
			u[j] = v / s
		}
		out[i] = u
	}
	return out
}

// rffPair recomputes the random features HSICRFF used for r (same seed and
// σ², so the same draws), column-centred.
func rffPair(x, y [][]float64, r Result, seed uint64) (*mat.Dense, *mat.Dense, error) {
	D, err := setting[int](r, "features")
	if err != nil {
		return nil, nil, err
	}
	s2x, err := setting[float64](r, "sigma2_x")
	if err != nil {
		return nil, nil, err
	}
	s2y, err := setting[float64](r, "sigma2_y")
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xf00d))
	zx := rffFeatures(x, len(x[0]), D, s2x, rng)
	zy := rffFeatures(y, len(y[0]), D, s2y, rng)
	return zx, zy, nil
}

// rffHSICSub is the random-feature HSIC of the rows idx of the features:
// ‖Z_xᵀHZ_y‖_F²/(m−1)² with the resample's own centring.
func rffHSICSub(zx, zy *mat.Dense, idx []int) float64 {
	m := len(idx)
	_, dx := zx.Dims()
	_, dy := zy.Dims()
	gather := func(z *mat.Dense, d int) *mat.Dense {
		out := mat.NewDense(m, d, nil)
		mean := make([]float64, d)
		for a, i := range idx {
			row := out.RawRowView(a)
			copy(row, z.RawRowView(i))
			for j, v := range row {
				mean[j] += v
			}
		}
		for j := range mean {
			mean[j] /= float64(m)
		}
		for a := range m {
			row := out.RawRowView(a)
			for j := range row {
				row[j] -= mean[j]
			}
		}
		return out
	}
	ax, ay := gather(zx, dx), gather(zy, dy)
	var c mat.Dense
	c.Mul(ax.T(), ay)
	f := mat.Norm(&c, 2)
	return f * f / float64((m-1)*(m-1))
}

// knnSuiteMethod is the k-NN entropy's or KL's method from the suite's
// "ensemble" parameter: 1 (default) lets the estimator use the weighted
// k-ensemble where the dimension allows it (at most 3), 0 keeps the
// estimator with k neighbours (fixed-k entropy, WKV's adaptive KL).
func knnSuiteMethod(ps params) string {
	if ps.int("ensemble") == 0 {
		return "no-ensemble"
	}
	return "auto"
}
