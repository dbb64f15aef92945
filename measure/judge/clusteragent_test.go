package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"

	"github.com/ggmi-dev/ggmi/measure"
)

// topicTexts: three topics of sizes 3, 2 and 1; the first word of each
// text is its topic.
var topicTexts = []string{
	"alpha the cat sat on the mat",
	"beta a storm hit the coast",
	"alpha the cat chased a mouse",
	"gamma prices rose in march",
	"beta the storm broke the pier",
	"alpha a cat slept all day",
}

func TestClusterAgentScoresHandComputed(t *testing.T) {
	rounds := []ClusterRound{
		{Clusters: [][]int{{0, 1, 2}, {3, 4}, {5}}},                        // C=3, n=6, largest 3
		{Clusters: [][]int{{0}, {1}, {2}, {3}}, Rejected: [][]int{{4, 5}}}, // C=4, n=4 (6 with singletons)
		{Failed: "clustering answer did not parse"},                        // excluded
		{Rejected: [][]int{{0, 1}}},                                        // no verified cluster: 0 (C=2, n=2 with singletons)
	}
	cases := []struct {
		def        SizeDefinition
		singletons bool
		want       []float64
	}{
		{SizeMean, false, []float64{9.0 / 6, 16.0 / 4, 0}},
		{SizeSamples, false, []float64{3.0 / 6, 4.0 / 4, 0}},
		{SizeMax, false, []float64{3.0 / 3, 4.0 / 1, 0}},
		{SizeOne, false, []float64{3, 4, 0}},
		{SizeMean, true, []float64{9.0 / 6, 36.0 / 6, 4.0 / 2}},
		{SizeSamples, true, []float64{3.0 / 6, 6.0 / 6, 2.0 / 2}},
		{SizeMax, true, []float64{3.0 / 3, 6.0 / 1, 2.0 / 1}},
		{SizeOne, true, []float64{3, 6, 2}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/singletons=%v", c.def, c.singletons), func(t *testing.T) {
			got, err := ClusterAgentScores(rounds, c.def, c.singletons)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("values %v, want %v", got, c.want)
			}
			for i := range got {
				near(t, fmt.Sprintf("round %d", i), got[i], c.want[i], 1e-12)
			}
		})
	}
	if _, err := ClusterAgentScores(rounds[2:3], SizeMean, false); err == nil {
		t.Error("only failed rounds: want an error")
	}
	if _, err := ClusterAgentScores(rounds, "median", false); err == nil {
		t.Error("unknown definition: want an error")
	}
	// The t interval of {1.5, 4, 0}: mean 11/6, sd² = Σ(x−m)²/2.
	v := []float64{1.5, 4, 0}
	m := 5.5 / 3
	ss := (1.5-m)*(1.5-m) + (4-m)*(4-m) + m*m
	half := 4.302652729911275 * math.Sqrt(ss/2/3) // t_{0.975, 2}
	ci := tCI95(v)
	near(t, "ci lo", ci[0], m-half, 1e-9)
	near(t, "ci hi", ci[1], m+half, 1e-9)
}

func TestRepairClusters(t *testing.T) {
	cases := []struct {
		name   string
		groups [][]int
		k      int
		want   [][]int
		rep    ClusterRepairs
	}{
		{"valid", [][]int{{1, 3}, {2}}, 3, [][]int{{0, 2}, {1}}, ClusterRepairs{}},
		{"duplicate in a later cluster", [][]int{{1, 2}, {2, 3}}, 3, [][]int{{0, 1}, {2}}, ClusterRepairs{Duplicates: 1}},
		{"duplicate inside a cluster", [][]int{{1, 1, 2}, {3}}, 3, [][]int{{0, 1}, {2}}, ClusterRepairs{Duplicates: 1}},
		{"out of range", [][]int{{0, 1, 4}, {2, 3}}, 3, [][]int{{0}, {1, 2}}, ClusterRepairs{OutOfRange: 2}},
		{"missing", [][]int{{2}}, 4, [][]int{{1}, {0}, {2}, {3}}, ClusterRepairs{Missing: 3}},
		{"emptied cluster", [][]int{{1, 2}, {2, 9}, {3}}, 3, [][]int{{0, 1}, {2}}, ClusterRepairs{Duplicates: 1, OutOfRange: 1, EmptyClusters: 1}},
		{"nothing usable", [][]int{{}, {-1}}, 2, [][]int{{0}, {1}}, ClusterRepairs{OutOfRange: 1, EmptyClusters: 2, Missing: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rep := RepairClusters(c.groups, c.k)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("clusters %v, want %v", got, c.want)
			}
			if rep != c.rep {
				t.Errorf("repairs %+v, want %+v", rep, c.rep)
			}
		})
	}
}

// smallAgent returns options for the fake backends: K covers all texts.
func smallAgent(k, n int) ClusterAgentOptions {
	return ClusterAgentOptions{MetadataSamples: 3, MetadataRounds: 3, K: k, Repetitions: n, Seed: 7, Concurrency: 2}
}

// TestClusterAgentConstructed runs the whole pipeline on a backend that
// clusters by topic and rejects the clusters of one topic: every round
// shows all six texts, so 𝒞 and the sizes are known by construction.
func TestClusterAgentConstructed(t *testing.T) {
	cases := []struct {
		name       string
		noVerify   bool
		singletons bool
		want       map[SizeDefinition]float64
	}{
		// alpha(3), beta(2), gamma(1): C = 3, n = 6.
		{"no verification", true, false, map[SizeDefinition]float64{SizeMean: 9.0 / 6, SizeSamples: 0.5, SizeMax: 1, SizeOne: 3}},
		// beta rejected: alpha(3), gamma(1): C = 2, n = 4.
		{"verified", false, false, map[SizeDefinition]float64{SizeMean: 1, SizeSamples: 0.5, SizeMax: 2.0 / 3, SizeOne: 2}},
		// beta's texts as single-text clusters: C = 4, n = 6.
		{"verified, singletons", false, true, map[SizeDefinition]float64{SizeMean: 16.0 / 6, SizeSamples: 4.0 / 6, SizeMax: 4.0 / 3, SizeOne: 4}},
	}
	for _, c := range cases {
		for _, def := range SizeDefinitions {
			t.Run(c.name+"/"+string(def), func(t *testing.T) {
				fake := &scriptedLLM{reply: topicReply(map[string]bool{"beta": true})}
				opt := smallAgent(6, 4)
				opt.NoVerify, opt.InvalidAsSingletons, opt.Size = c.noVerify, c.singletons, def
				r, err := ClusterAgentDiversity(context.Background(), fake, topicTexts, opt)
				if err != nil {
					t.Fatal(err)
				}
				want := c.want[def]
				near(t, "D", r.Value, want, 1e-12)
				near(t, "ci lo", r.CI95[0], want, 1e-12) // identical rounds: a zero-width interval
				near(t, "ci hi", r.CI95[1], want, 1e-12)
				if got := r.Settings["per_round"].([]float64); len(got) != 4 {
					t.Errorf("per_round %v, want 4 values", got)
				}
				for d, v := range c.want {
					near(t, "by_definition "+string(d), r.Settings["by_definition"].(map[string]float64)[string(d)], v, 1e-12)
				}
				if _, err := json.Marshal(r); err != nil {
					t.Fatalf("result does not marshal: %v", err)
				}
				crit := r.Settings["criteria"].([]string)
				if len(crit) != 2 || !strings.Contains(crit[0], "share a topic") || !strings.Contains(crit[1], "detail") {
					t.Errorf("criteria %q", crit)
				}
				if r.Settings["repairs"].(map[string]any)["total"] != 0 {
					t.Errorf("repairs %v, want none", r.Settings["repairs"])
				}
				for _, req := range fake.requests() {
					if req.Format == nil || req.Format.Type != llm.FormatJSONSchema || !json.Valid(req.Format.Schema) {
						t.Fatalf("request without a JSON schema: %+v", req.Format)
					}
					if req.Seed == nil || req.Temperature != 0 {
						t.Fatalf("request not reproducible: seed %v, temperature %g", req.Seed, req.Temperature)
					}
					// Every clustering prompt carries the criteria.
					if req.Format.Name == "cluster_agent_clusters" && !strings.Contains(userText(req), "share a topic") {
						t.Fatalf("clustering prompt without the criteria:\n%s", userText(req))
					}
				}
			})
		}
	}
}

// TestClusterAgentSampledRounds checks 𝒟 when each round shows K = 2 of
// four texts: the expected value is recomputed from the texts each round
// drew (1 cluster of 2 scores 1²/2, two clusters score 2²/2).
func TestClusterAgentSampledRounds(t *testing.T) {
	texts := []string{"alpha one", "alpha two", "beta one", "beta two"}
	fake := &scriptedLLM{reply: topicReply(nil)}
	opt := smallAgent(2, 30)
	opt.ClusterOnly = true
	a, err := NewClusterAgent(fake, opt)
	if err != nil {
		t.Fatal(err)
	}
	rounds, err := a.Rounds(context.Background(), texts, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, r := range rounds {
		if len(r.Samples) != 2 || r.Samples[0] == r.Samples[1] {
			t.Fatalf("round samples %v", r.Samples)
		}
		if texts[r.Samples[0]][:4] == texts[r.Samples[1]][:4] {
			want += 0.5 / 30
		} else {
			want += 2.0 / 30
		}
	}
	r, err := a.Measure(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "D", r.Value, want, 1e-12)
	if want == 0.5 || want == 2 {
		t.Errorf("the seed drew only one kind of round (D = %g)", want)
	}
	if r.Settings["criteria"] != nil && len(r.Settings["criteria"].([]string)) != 0 {
		t.Errorf("cluster-only run has criteria %v", r.Settings["criteria"])
	}
	// Same seed, same rounds; another seed, other rounds.
	opt.Seed = 8
	b, _ := NewClusterAgent(fake, opt)
	other, _ := b.Rounds(context.Background(), texts, nil)
	same := true
	for i := range rounds {
		same = same && slices.Equal(rounds[i].Samples, other[i].Samples)
	}
	if same {
		t.Error("seeds 7 and 8 drew the same samples")
	}
}

// TestClusterAgentRepairsCounted feeds flawed cluster and verification
// answers and checks the counted repairs and the resulting 𝒟.
func TestClusterAgentRepairsCounted(t *testing.T) {
	cases := []struct {
		name     string
		clusters string
		verdicts string
		noVerify bool
		rep      ClusterRepairs // per round
		want     float64        // mean-size 𝒟
	}{
		{
			// [1,2] (2 again dropped), [0,7] emptied, [3] (1 again dropped); 4, 5, 6 missing:
			// clusters {1,2},{3},{4},{5},{6}: C = 5, n = 6.
			name:     "clusters",
			clusters: `{"clusters":[{"cluster":1,"sample_indices":[1,2,2]},{"cluster":2,"sample_indices":[0,7]},{"cluster":3,"sample_indices":[3,1]}]}`,
			noVerify: true,
			rep:      ClusterRepairs{OutOfRange: 2, Duplicates: 2, EmptyClusters: 1, Missing: 3},
			want:     25.0 / 6,
		},
		{
			// Clusters {1,2},{3,4},{5},{6}; verdicts: cluster 1 invalid (its
			// second verdict ignored), cluster 7 unknown, cluster 2 unjudged
			// (kept): {3,4},{5},{6}: C = 3, n = 4.
			name:     "verdicts",
			clusters: `{"clusters":[{"cluster":1,"sample_indices":[1,2]},{"cluster":2,"sample_indices":[3,4]},{"cluster":3,"sample_indices":[5]},{"cluster":4,"sample_indices":[6]}]}`,
			verdicts: `{"verdicts":[{"cluster":1,"valid":0,"reasoning":"no"},{"cluster":1,"valid":1,"reasoning":"yes"},{"cluster":7,"valid":0,"reasoning":"?"}]}`,
			rep:      ClusterRepairs{DuplicateVerdicts: 1, UnknownVerdicts: 1, MissingVerdicts: 1},
			want:     9.0 / 4,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := topicReply(nil)
			fake := &scriptedLLM{reply: func(stage string, req llm.Request) string {
				switch stage {
				case "cluster_agent_clusters":
					return c.clusters
				case "cluster_agent_verification":
					return c.verdicts
				}
				return base(stage, req)
			}}
			opt := smallAgent(6, 3)
			opt.NoVerify = c.noVerify
			r, err := ClusterAgentDiversity(context.Background(), fake, topicTexts, opt)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "D", r.Value, c.want, 1e-12)
			var want ClusterRepairs
			for range 3 {
				want.add(c.rep)
			}
			got := r.Settings["repairs"].(map[string]any)
			if fmt.Sprint(got) != fmt.Sprint(want.settings()) {
				t.Errorf("repairs %v, want %v", got, want.settings())
			}
		})
	}
}

// freeText turns a JSON answer into what a server without structured
// output may write: prose around a fenced block, the paper's spaced key
// names, numbers as strings, yes/no validity and trailing commas.
func freeText(s string) string {
	s = strings.ReplaceAll(s, `"sample_indices"`, `"sample indices"`)
	s = strings.ReplaceAll(s, `"valid":1`, `"valid":"yes"`)
	s = strings.ReplaceAll(s, `"valid":0`, `"valid":"invalid"`)
	s = strings.ReplaceAll(s, `"cluster":1,`, `"cluster":"1",`)
	s = strings.ReplaceAll(s, `}]}`, `},]}`)
	return "Sure. Here is the answer:\n```json\n" + s + "\n```\nLet me know if you need more."
}

// TestClusterAgentSchemaFallback: a backend that rejects response_format
// gets every later request without a schema, and the free-text answers
// give the same 𝒟 as the schema-constrained ones.
func TestClusterAgentSchemaFallback(t *testing.T) {
	run := func(reject bool) (measure.Result, *scriptedLLM) {
		base := topicReply(map[string]bool{"beta": true})
		fake := &scriptedLLM{rejectSchema: reject, reply: func(stage string, req llm.Request) string {
			if reject {
				return freeText(base(stage, req))
			}
			return base(stage, req)
		}}
		opt := smallAgent(6, 3)
		opt.Concurrency = 1
		r, err := ClusterAgentDiversity(context.Background(), fake, topicTexts, opt)
		if err != nil {
			t.Fatalf("reject=%v: %v", reject, err)
		}
		return r, fake
	}
	want, _ := run(false)
	got, fake := run(true)
	near(t, "D", got.Value, want.Value, 1e-12)
	near(t, "D", got.Value, 1, 1e-12)
	req := got.Settings["requests"].(map[string]any)
	if req["schema_rejections"] != int64(1) || req["unparsed"] != int64(0) {
		t.Errorf("requests %v, want one schema rejection and no unparsed answer", req)
	}
	reqs := fake.requests()
	if reqs[0].Format == nil {
		t.Fatal("the first request had no schema")
	}
	for i, r := range reqs[1:] {
		if r.Format != nil {
			t.Fatalf("request %d still sent a schema after the rejection", i+1)
		}
	}
}

// TestClusterAgentUnparsedAnswers: answers that do not parse are asked
// again (at a non-zero temperature, another sample index); rounds that
// never parse are failed, and a run whose rounds all fail is an error.
func TestClusterAgentUnparsedAnswers(t *testing.T) {
	cases := []struct {
		name      string
		goodFrom  int // first sample index that parses (−1: never)
		wantErr   bool
		unparsed  int64
		wantValue float64
	}{
		{"second attempt parses", 1, false, 4, 1},
		{"third attempt parses", 2, false, 8, 1},
		{"never parses", -1, true, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := topicReply(map[string]bool{"beta": true})
			fake := &scriptedLLM{reply: func(stage string, req llm.Request) string {
				if stage == "cluster_agent_clusters" && (c.goodFrom < 0 || req.Sample < c.goodFrom) {
					return "I would group them by topic."
				}
				return base(stage, req)
			}}
			r, err := ClusterAgentDiversity(context.Background(), fake, topicTexts, smallAgent(6, 4))
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), "every clustering round failed") {
					t.Fatalf("err = %v, want every round failed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			near(t, "D", r.Value, c.wantValue, 1e-12)
			if got := r.Settings["requests"].(map[string]any)["unparsed"]; got != c.unparsed {
				t.Errorf("unparsed %v, want %d", got, c.unparsed)
			}
			for _, req := range fake.requests() {
				if req.Sample > 0 && req.Temperature < retryTemperature {
					t.Fatalf("retry %d at temperature %g", req.Sample, req.Temperature)
				}
			}
		})
	}
}

// TestClusterAgentContextWindow runs with long texts and many metadata
// proposals on a backend with a small window: the proposals are merged
// chunk by chunk, and every request fits (advertised window) or the
// caller learns the window from the backend's errors.
func TestClusterAgentContextWindow(t *testing.T) {
	long := make([]string, len(topicTexts))
	for i, s := range topicTexts {
		long[i] = s + strings.Repeat(" and then more words follow", 120) // ≈ 3,300 bytes
	}
	reply := func(stage string, req llm.Request) string {
		id := *req.Seed % 100000
		def := strings.Repeat("a long definition of this property ", 4)
		switch stage {
		case "cluster_agent_metadata":
			var md, mt []string
			for i := range 5 {
				md = append(md, fmt.Sprintf(`{"name":"meta%d_%d","definition":"%s"}`, id, i, def))
				mt = append(mt, fmt.Sprintf(`{"name":"metric%d_%d","definition":"%s"}`, id, i, def))
			}
			return `{"metadata":[` + strings.Join(md, ",") + `],"metrics":[` + strings.Join(mt, ",") + `]}`
		case "cluster_agent_summary":
			return fmt.Sprintf(`{"items":[{"name":"merged%d_a","definition":"%s"},{"name":"merged%d_b","definition":"%s"}]}`, id, def, id, def)
		}
		return topicReply(map[string]bool{"beta": true})(stage, req)
	}
	cases := []struct {
		name      string
		advertise bool
	}{{"advertised window", true}, {"window learnt from errors", false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &windowLLM{scriptedLLM: &scriptedLLM{reply: reply}, window: 700}
			var b llm.Backend = w
			if c.advertise {
				b = advertisedLLM{w}
			}
			opt := smallAgent(6, 3)
			opt.MetadataRounds, opt.MaxTokens = 12, 200
			r, err := ClusterAgentDiversity(context.Background(), b, long, opt)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "D", r.Value, 1, 1e-12) // truncated texts keep their topic word
			if calls := r.Settings["summary_calls"].(int); calls <= 2 {
				t.Errorf("summary calls %d: the proposals should not fit one prompt", calls)
			}
			retries := r.Settings["requests"].(map[string]any)["context_retries"].(int64)
			if c.advertise != (retries == 0) {
				t.Errorf("context retries %d (advertised window: %v)", retries, c.advertise)
			}
			for _, req := range w.requests() {
				if w.promptTokens(req)+req.MaxTokens > w.window {
					t.Fatalf("a %s request reached the backend without fitting", stageOf(req))
				}
			}
		})
	}
}

// TestClusterAgentOptionsInvalid checks that bad options are errors.
func TestClusterAgentOptionsInvalid(t *testing.T) {
	fake := &scriptedLLM{reply: topicReply(nil)}
	for _, opt := range []ClusterAgentOptions{
		{K: 1}, {Repetitions: -1}, {Size: "median"}, {Temperature: math.NaN()}, {MinAttributes: 4, MaxAttributes: 2},
	} {
		if _, err := NewClusterAgent(fake, opt); err == nil {
			t.Errorf("options %+v: want an error", opt)
		}
	}
	if _, err := NewClusterAgent(nil, ClusterAgentOptions{}); err == nil {
		t.Error("nil backend: want an error")
	}
	if _, err := ClusterAgentDiversity(context.Background(), fake, []string{"one"}, ClusterAgentOptions{}); err == nil {
		t.Error("one text: want an error")
	}
	boom := errors.New("backend down")
	if _, err := ClusterAgentDiversity(context.Background(), errLLM{boom}, topicTexts, smallAgent(6, 2)); !errors.Is(err, boom) {
		t.Errorf("backend error not propagated: %v", err)
	}
}

// errLLM fails every request.
type errLLM struct{ err error }

func (e errLLM) Generate(context.Context, llm.Request) (llm.Response, error) {
	return llm.Response{}, e.err
}
func (e errLLM) Embed(context.Context, llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{}, e.err
}
func (e errLLM) Models() []string { return []string{"broken"} }

// TestClusterAgentRegistered checks the suite registration.
func TestClusterAgentRegistered(t *testing.T) {
	found := 0
	for _, m := range measure.SuiteMetrics() {
		if (m.Name == "cluster-agent" || m.Name == "se-llm") && m.Needs == "llm" {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("cluster-agent and se-llm are not both registered as LLM metrics")
	}
}

func TestParseClusters(t *testing.T) {
	cases := []struct {
		name string
		text string
		want string // fmt of the groups; "" for an error
	}{
		{"schema", `{"clusters":[{"cluster":1,"sample_indices":[1,3]},{"cluster":2,"sample_indices":[2]}]}`, "[[1 3] [2]]"},
		{"fenced with prose", "Here:\n```json\n{\"clusters\": [{\"cluster\": 1, \"sample_indices\": [2, 1]}]}\n```\nDone.", "[[2 1]]"},
		{"paper keys, strings", `{"clusters":[{"cluster":"1","sample indices":"1, 2","uniqueness reasoning":"x"},{"cluster":"2","Sample Indices":["3"]}]}`, "[[1 2] [3]]"},
		{"groups and members", `{"groups":[{"id":1,"members":[1,2,3]}]}`, "[[1 2 3]]"},
		{"bare list", `[{"cluster":1,"samples":[1]},{"cluster":2,"samples":[2]}]`, "[[1] [2]]"},
		{"trailing commas", `{"clusters":[{"cluster":1,"sample_indices":[1,2,],},]}`, "[[1 2]]"},
		{"single number", `{"clusters":[{"cluster":1,"sample_indices":4}]}`, "[[4]]"},
		{"text mentioning sample 2", `{"clusters":[{"cluster":1,"sample_indices":["sample 2"]}]}`, "[[2]]"},
		{"truncated", `{"clusters":[{"cluster":1,"sample_indices":[1,2`, ""},
		{"a cluster alone", `{"cluster":1,"sample_indices":[1]}`, ""},
		{"no clusters", `{"clusters":[]}`, ""},
		{"prose only", "Texts 1 and 2 go together.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseClusters(c.text)
			if c.want == "" {
				if err == nil {
					t.Fatalf("parsed %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != c.want {
				t.Errorf("groups %v, want %s", got, c.want)
			}
		})
	}
}

func TestParseVerdicts(t *testing.T) {
	cases := []struct {
		text string
		want string
	}{
		{`{"verdicts":[{"cluster":1,"valid":1,"reasoning":"ok"},{"cluster":2,"valid":0,"reasoning":"no"}]}`, "[{1 true} {2 false}]"},
		{`{"verdicts":[{"cluster":"1","valid":true},{"cluster":2,"valid":"Invalid"},{"cluster":3,"valid":"yes"}]}`, "[{1 true} {2 false} {3 true}]"},
		{"```\n[{\"cluster\": 1, \"is_valid\": \"no\"}]\n```", "[{1 false}]"},
		{`{"verdicts":[{"cluster":1}]}`, ""},
		{`{"verdicts":[{"cluster":1,"valid":"perhaps"}]}`, ""},
		{"all fine", ""},
	}
	for _, c := range cases {
		got, err := parseVerdicts(c.text)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q: parsed %v, want an error", c.text, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%q: verdicts %v, want %s", c.text, got, c.want)
		}
	}
}

func TestDecodeAttributes(t *testing.T) {
	cases := []struct {
		raw  string
		want []Attribute
	}{
		{`[{"name":"topic","definition":"the subject"}]`, []Attribute{{"topic", "the subject"}}},
		{`[{"Name":"tone","Description":"how it sounds"}]`, []Attribute{{"tone", "how it sounds"}}},
		{`["length: how long it is"]`, []Attribute{{"length", "how long it is"}}},
		{`{"b":"second","a":"first"}`, []Attribute{{"a", "first"}, {"b", "second"}}},
	}
	for _, c := range cases {
		got, err := decodeAttributes(json.RawMessage(c.raw))
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.raw, got, c.want)
		}
	}
}
