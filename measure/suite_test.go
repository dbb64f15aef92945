package measure

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/llm"
)

// tr(KHLH) computed from the fused centring equals the explicit product
// with H = I − 11ᵀ/n on a hand-made 3×3 case: K = diag-dominant, L = K.
func TestCentredDotExplicit(t *testing.T) {
	k := []float64{2, 1, 0, 1, 2, 1, 0, 1, 2}
	n := 3
	h := func(i, j int) float64 {
		v := -1.0 / 3
		if i == j {
			v += 1
		}
		return v
	}
	// Explicit (HKH)_ij = Σ_ab H_ia K_ab H_bj; tr(KHLH) = Σ_ij (HKH)_ij L_ji.
	var want float64
	for i := range n {
		for j := range n {
			var c float64
			for a := range n {
				for b := range n {
					c += h(i, a) * k[a*n+b] * h(b, j)
				}
			}
			want += c * k[j*n+i]
		}
	}
	near(t, "tr(KHKH)", centredDot(k, k, n), want, 1e-12)
	// By hand: rows of K average 1, 4/3, 1 and the grand mean is 10/9, so
	// HKH = [[10, −2, −8], [−2, 4, −2], [−8, −2, 10]]/9 and
	// Σ (HKH)_ij K_ij = (20 + 8 + 20 − 4 − 4)/9 = 40/9.
	near(t, "hand", want, 40.0/9, 1e-12)
	near(t, "biased HSIC", HSICBiased(k, k, n), want/4, 1e-12)
}

// The bootstrap statistics computed from precomputed matrices equal the
// estimators on the resampled rows.
func TestResampleStatisticsMatchEstimators(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	x, y := corrPair(rng, 60, 0.6)
	k, s2x, _ := Gram(x, Kernel{}, 1)
	l, s2y, _ := Gram(y, Kernel{}, 2)
	id := make([]int, 60)
	for i := range id {
		id[i] = i
	}
	near(t, "hsicSub identity", hsicSub(k, l, 60, id), HSICBiased(k, l, 60), 1e-12)
	dup := []int{3, 3, 7, 10, 10, 10, 59, 0}
	kx, _, _ := Gram(pickRows(x, dup), Kernel{Sigma2: s2x}, 0)
	ly, _, _ := Gram(pickRows(y, dup), Kernel{Sigma2: s2y}, 0)
	near(t, "hsicSub with repeats", hsicSub(k, l, 60, dup), HSICBiased(kx, ly, len(dup)), 1e-12)

	r, err := HSICRFF(x, y, RFFOptions{Features: 30, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	zx, zy, err := rffPair(x, y, r, 8)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "rff identity", rffHSICSub(zx, zy, id), r.Value, 1e-12)

	a, b := gauss(rng, 20, 2, 0, 1), gauss(rng, 25, 2, 0.5, 1)
	m, err := MMD(a, b, MMDOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	g, _, _ := Gram(append(append([][]float64{}, a...), b...), Kernel{Sigma2: m.Settings["sigma2"].(float64)}, 0)
	ia, ib := make([]int, 20), make([]int, 25)
	for i := range ia {
		ia[i] = i
	}
	for i := range ib {
		ib[i] = i
	}
	near(t, "mmd identity", mmdSub(g, 45, 20, ia, ib), m.Value, 1e-12)

	texts := []string{"a b a b", "the cat sat", "a cat", "b b b b b"}
	th := hashTokens(texts)
	ng, _ := NGramDiversity(texts, 3, "mean")
	gi := th.ngramIndexes(3)
	rs, empty := ngramRatios(gi, []int{0, 1, 2, 3})
	if empty != 0 || !reflect.DeepEqual(rs, ng.Settings["ratio_n"]) {
		t.Errorf("hashed ratios %v, string ratios %v", rs, ng.Settings["ratio_n"])
	}
	// Resample {0, 0}: "a b a b" twice: unigrams 2/8, bigrams 2/6, trigrams 2/4.
	rs, _ = ngramRatios(gi, []int{0, 0})
	if !reflect.DeepEqual(rs, []float64{0.25, 2.0 / 6, 0.5}) {
		t.Errorf("resampled ratios %v", rs)
	}
	// Self-repetition of {0, 0} with bigrams: each copy shares its 2
	// distinct bigrams with the other: log(1 + 2).
	near(t, "self-rep resample", th.index(2).selfRepetition([]int{0, 0}), math.Log(3), 1e-12)
	// The full-sample index gives the estimator's value.
	sr, _ := SelfRepetition(texts, 2)
	near(t, "self-rep full", th.index(2).selfRepetition(nil), sr.Value, 1e-12)
}

// hashEmbedder embeds a text as a deterministic pseudo-random vector of its
// words' hashes (a bag of random word vectors), so similar texts are close.
type hashEmbedder struct{ dim int }

func (h hashEmbedder) ID() string { return fmt.Sprintf("hash-%d", h.dim) }

func (h hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, s := range texts {
		v := make([]float32, h.dim)
		for _, w := range strings.Fields(strings.ToLower(s)) {
			f := fnv.New64a()
			f.Write([]byte(w))
			r := rand.New(rand.NewPCG(f.Sum64(), 1))
			for j := range v {
				v[j] += float32(r.NormFloat64())
			}
		}
		out[i] = v
	}
	return out, nil
}

var words = strings.Fields("apple river green quick stone music paper light cloud horse table number seven write solve count story ocean winter garden")

func sentence(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(w, " ")
}

func suiteData(seed uint64) (data, anchors, train []dataset.Record) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range 40 {
		anchors = append(anchors, dataset.Record{ID: fmt.Sprintf("a%d", i), Instruction: sentence(rng, 8), Output: sentence(rng, 6)})
	}
	for i := range 60 {
		train = append(train, dataset.Record{ID: fmt.Sprintf("t%d", i), Instruction: sentence(rng, 8), Output: sentence(rng, 6)})
	}
	for i := range 120 {
		a, b := rng.IntN(40), rng.IntN(40)
		// Synthetic records reuse the words of their first demo:
		// provenance-paired HSIC sees the dependence.
		ids := []string{anchors[a].ID, "unknown"}
		if i%2 == 0 {
			ids = append(ids, anchors[b].ID)
		}
		data = append(data, dataset.Record{ID: fmt.Sprintf("g%d", i), Instruction: anchors[a].Instruction + " " + sentence(rng, 2),
			Output: anchors[a].Output, Provenance: dataset.Provenance{DemoIDs: ids}})
	}
	return
}

// Run computes every selected metric with settings and a CI; its values
// equal the estimators called directly; the report does not depend on the
// number of workers; the pairing mode is stated.
func TestRunSuite(t *testing.T) {
	data, anchors, train := suiteData(1)
	s := Suite{Data: data, Anchors: anchors, Train: train, Embedder: hashEmbedder{16}, Metrics: "all", Seed: 7, Bootstrap: 60}
	rep, err := Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	if len(rep.Metrics) != len(suiteTable) {
		t.Fatalf("%d metrics, want %d", len(rep.Metrics), len(suiteTable))
	}
	byName := map[string]Result{}
	for _, r := range rep.Metrics {
		byName[r.Name] = r
		if math.IsNaN(r.Value) || math.IsNaN(r.CI95[0]) || math.IsNaN(r.CI95[1]) || r.CI95[0] > r.CI95[1] {
			t.Errorf("%s: value %g CI %v", r.Name, r.Value, r.CI95)
		}
		if r.Settings["ci"] == nil || r.N == 0 {
			t.Errorf("%s: no CI description or N (%v)", r.Name, r.Settings)
		}
	}
	texts := textsOf(data, "")
	ng, _ := NGramDiversity(texts, 4, "mean")
	near(t, "ngram", byName["ngram"].Value, ng.Value, 1e-12)
	cr, _ := CompressionRatio(texts)
	near(t, "compression", byName["compression"].Value, cr.Value, 1e-12)
	if byName["hsic"].Settings["pairing"] != PairProvenance || byName["hsic-rff"].Settings["pairing"] != PairProvenance {
		t.Errorf("auto pairing with demo IDs: %v", byName["hsic"].Settings["pairing"])
	}
	if byName["mmd"].Settings["reference"] != "train" {
		t.Errorf("divergence reference %v", byName["mmd"].Settings["reference"])
	}
	if dh := byName["delta-h"]; math.Abs(dh.Value-(dh.Settings["h_anchor"].(float64)-dh.Settings["h_gen"].(float64))) > 1e-12 {
		t.Errorf("ΔH %g ≠ H(anchor) − H(gen) %v", dh.Value, dh.Settings)
	}
	if byName["se"].Settings["approximation"] == nil {
		t.Error("cosine SE is not labelled an approximation")
	}
	s.Workers = 1
	rep1, _ := Run(context.Background(), s)
	s.Workers = 3
	rep3, _ := Run(context.Background(), s)
	for i := range rep1.Metrics {
		if rep1.Metrics[i].Value != rep3.Metrics[i].Value || rep1.Metrics[i].CI95 != rep3.Metrics[i].CI95 {
			t.Errorf("%s depends on workers: %v vs %v", rep1.Metrics[i].Name, rep1.Metrics[i].CI95, rep3.Metrics[i].CI95)
		}
	}
	// The paper's mode: subsample pairing with the train set.
	s.Pairing, s.Metrics = PairSubsample, "hsic,hsic-rff"
	rep, err = Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Metrics[0]; r.Settings["pairing"] != PairSubsample || r.Settings["paired_with"] != "train" || r.N != 60 {
		t.Errorf("subsample pairing: N %d settings %v", r.N, r.Settings)
	}
}

// A Reference sample takes over the divergences (and only them), is
// named in their settings and in the report, and gives the values the
// estimators give on it directly; the pairing keeps using Train.
func TestRunReference(t *testing.T) {
	data, anchors, train := suiteData(3)
	_, _, test := suiteData(4)
	s := Suite{Data: data, Anchors: anchors, Train: train, Reference: test, ReferenceName: "test",
		Embedder: hashEmbedder{16}, Metrics: "mmd,knn-kl,hsic", Pairing: PairSubsample, Seed: 2, Bootstrap: -1}
	rep, err := Run(context.Background(), s)
	if err != nil || len(rep.Errors) > 0 {
		t.Fatal(err, rep.Errors)
	}
	if rep.Ref != len(test) {
		t.Errorf("report counts %d reference records, want %d", rep.Ref, len(test))
	}
	x, _ := hashEmbedder{16}.Embed(context.Background(), textsOf(data, ""))
	y, _ := hashEmbedder{16}.Embed(context.Background(), textsOf(test, ""))
	xd, _ := dedupRows(embed.Float64s(x))
	yd, _ := dedupRows(embed.Float64s(y))
	want, err := KLDivergence(xd, yd, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Metrics {
		switch r.Name {
		case "mmd", "knn-kl":
			if r.Settings["reference"] != "test" {
				t.Errorf("%s reference %v, want test", r.Name, r.Settings["reference"])
			}
		case "hsic":
			if r.Settings["paired_with"] != "train" {
				t.Errorf("hsic paired with %v, want train", r.Settings["paired_with"])
			}
		}
		if r.Name == "knn-kl" {
			near(t, "knn-kl against the reference", r.Value, want.Value, 1e-9)
		}
	}
}

// Provenance pairing sees the dependence the data were built with: HSIC
// on provenance pairs exceeds HSIC on subsample pairs with the train set.
func TestRunProvenanceDependence(t *testing.T) {
	data, anchors, train := suiteData(2)
	run := func(mode string) float64 {
		rep, err := Run(context.Background(), Suite{Data: data, Anchors: anchors, Train: train, Embedder: hashEmbedder{16},
			Metrics: "hsic", Pairing: mode, Seed: 1, Bootstrap: -1})
		if err != nil || len(rep.Metrics) != 1 {
			t.Fatalf("%s: %v %v", mode, err, rep.Errors)
		}
		return rep.Metrics[0].Value
	}
	if p, s := run(PairProvenance), run(PairSubsample); !(p > 2*s) {
		t.Errorf("HSIC provenance %g, subsample %g: want the provenance pairs clearly dependent", p, s)
	}
}

func TestSelectMetricsAndLLMHook(t *testing.T) {
	got, err := SelectMetrics("vendi, hsic,ngram-diversity,hsic", false)
	if err != nil || !reflect.DeepEqual(got, []string{"hsic", "ngram", "vendi"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, c := range []struct{ sel, want string }{
		{"nope", "unknown metric"},
		{",", "no metric"},
	} {
		if _, err := SelectMetrics(c.sel, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.sel, err)
		}
	}
	if err := RegisterLLM("test-llm-metric", "a test", func(ctx context.Context, in LLMInput) (Result, error) {
		return Result{Value: float64(len(in.Texts)), CI95: nanCI, N: len(in.Texts), Settings: map[string]any{"ci": "none"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := RegisterLLM("hsic", "", func(context.Context, LLMInput) (Result, error) { return Result{}, nil }); err == nil {
		t.Error("clash with a built-in name accepted")
	}
	if _, err := SelectMetrics("test-llm-metric", false); err == nil || !strings.Contains(err.Error(), "needs an LLM") {
		t.Errorf("LLM metric without backend: %v", err)
	}
	all, _ := SelectMetrics("all", false)
	for _, n := range all {
		if n == "test-llm-metric" {
			t.Error("all includes an LLM metric without a backend")
		}
	}
	data, _, _ := suiteData(3)
	rep, err := Run(context.Background(), Suite{Data: data, Metrics: "test-llm-metric,ngram", LLM: fakeBackend{}})
	if err != nil || len(rep.Metrics) != 2 || rep.Metrics[1].Value != float64(len(data)) || rep.Embedder != "" {
		t.Fatalf("%v %+v", err, rep)
	}
}

type fakeBackend struct{}

func (fakeBackend) Generate(context.Context, llm.Request) (llm.Response, error) {
	return llm.Response{}, nil
}
func (fakeBackend) Embed(context.Context, llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{}, nil
}
func (fakeBackend) Models() []string { return []string{"fake"} }

func TestRunErrors(t *testing.T) {
	data, anchors, _ := suiteData(4)
	ctx := context.Background()
	if _, err := Run(ctx, Suite{Metrics: "ngram"}); err == nil {
		t.Error("no data: no error")
	}
	if _, err := Run(ctx, Suite{Data: data, Metrics: "vendi"}); err == nil || !strings.Contains(err.Error(), "embedder") {
		t.Errorf("no embedder: %v", err)
	}
	// A metric that cannot run is reported, the others still run.
	rep, err := Run(ctx, Suite{Data: data, Embedder: hashEmbedder{8}, Metrics: "mmd,delta-h,ngram"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Metrics) != 1 || !strings.Contains(rep.Errors["mmd"], "reference") || !strings.Contains(rep.Errors["delta-h"], "anchors") {
		t.Errorf("%+v", rep)
	}
	rep, _ = Run(ctx, Suite{Data: data, Anchors: anchors, Embedder: hashEmbedder{8}, Metrics: "hsic", Pairing: "zip"})
	if !strings.Contains(rep.Errors["hsic"], "unknown pairing") {
		t.Errorf("%+v", rep.Errors)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Run(cctx, Suite{Data: data, Metrics: "ngram"}); err == nil {
		t.Error("cancelled: no error")
	}
}

// tableEmbedder embeds each text as the vector the table gives it.
type tableEmbedder map[string][]float32

func (tableEmbedder) ID() string { return "table" }

func (t tableEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, s := range texts {
		v, ok := t[s]
		if !ok {
			return nil, fmt.Errorf("no vector for %q", s)
		}
		out[i] = v
	}
	return out, nil
}

// The offline semantic entropy is computed per prompt when the records
// name their prompt: prompt a's four answers mean the same (0 nats), b's
// four differ (log 4), c's form two pairs (log 2), and d's single record
// is left out; without prompt IDs the whole set is clustered once.
func TestRunSemanticEntropyPerPrompt(t *testing.T) {
	emb := tableEmbedder{}
	var data []dataset.Record
	add := func(prompt, text string, v ...float32) {
		emb[text] = v
		data = append(data, dataset.Record{ID: text, Instruction: text, Provenance: dataset.Provenance{PromptID: prompt}})
	}
	for i := range 4 {
		add("a", fmt.Sprintf("a%d", i), 1, 0, 0, 0)
	}
	for i := range 4 {
		v := make([]float32, 4)
		v[i] = 1
		add("b", fmt.Sprintf("b%d", i), v...)
	}
	add("c", "c0", 0, 1, 0, 0)
	add("c", "c1", 0, 1, 0, 0)
	add("c", "c2", 0, 0, 1, 0)
	add("c", "c3", 0, 0, 1, 0)
	add("d", "d0", 0, 0, 0, 1)
	run := func(data []dataset.Record) Result {
		rep, err := Run(context.Background(), Suite{Data: data, Embedder: emb, Metrics: "se", Seed: 1, Bootstrap: -1})
		if err != nil || len(rep.Metrics) != 1 {
			t.Fatalf("%v %v", err, rep.Errors)
		}
		return rep.Metrics[0]
	}
	r := run(data)
	near(t, "per-prompt SE", r.Value, (0+math.Log(4)+math.Log(2))/3, 1e-12)
	if r.Settings["grouping"] != "prompt" || r.Settings["groups"] != 3 || r.N != 12 {
		t.Errorf("settings %v, N %d", r.Settings, r.N)
	}
	for i := range data {
		data[i].Provenance.PromptID = ""
	}
	// One set, clustered by direction: e1 holds a0..a3 and b0 (5 of 13),
	// e2 b1, c0, c1 (3), e3 b2, c2, c3 (3), e4 b3, d0 (2).
	r = run(data)
	p := []float64{5.0 / 13, 3.0 / 13, 3.0 / 13, 2.0 / 13}
	var want float64
	for _, q := range p {
		want -= q * math.Log(q)
	}
	near(t, "whole-set SE", r.Value, want, 1e-12)
	if r.Settings["grouping"] != "whole set" || r.Settings["note"] != nil {
		t.Errorf("settings %v", r.Settings)
	}
	// Four distinct answers: log 4, and a note that it measures only n.
	r = run(data[4:8])
	near(t, "all singletons", r.Value, math.Log(4), 1e-12)
	if note, _ := r.Settings["note"].(string); !strings.Contains(note, "log n") {
		t.Errorf("no note on singleton clusters: %v", r.Settings)
	}
}
