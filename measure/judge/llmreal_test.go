package judge

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ggmi-dev/ggmi/measure"
)

// storyTexts are short TinyStories-like texts for the reference model.
var storyTexts = []string{
	"Lily saw a big red ball in the park.",
	"Tom went to the park with his dog.",
	"The sun was hot and the kids played.",
	"Mom baked a cake for Sue.",
	"A little bird sang in the tree.",
	"Ben lost his toy car under the bed.",
	"The cat and the dog were friends.",
	"Sam ate an apple and smiled.",
}

// builtinStack returns the reference model behind the built-in engine,
// recorded and wrapped with the durable cache at path (closed at the end
// of the test, or earlier by the caller).
func builtinStack(t *testing.T, path string) (*llm.CachedBackend, *recordingLLM) {
	t.Helper()
	b, err := llm.NewBuiltin(llmTestModel(t), llm.BuiltinOptions{Name: "stories", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rec := &recordingLLM{b: b}
	c, err := llm.Cached(rec, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, rec
}

// validateAnswers checks every recorded answer against the schema it was
// asked under, with an independent JSON-schema validator.
func validateAnswers(t *testing.T, outs []recorded) {
	t.Helper()
	if len(outs) == 0 {
		t.Fatal("no answer was recorded")
	}
	for i, o := range outs {
		sv, err := jsonschema.UnmarshalJSON(strings.NewReader(string(o.schema)))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("schema.json", sv); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("schema.json")
		if err != nil {
			t.Fatalf("%s schema does not compile: %v", o.stage, err)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(o.text))
		if err != nil {
			t.Fatalf("answer %d (%s) is not JSON: %v\n%s", i, o.stage, err, o.text)
		}
		if err := sch.Validate(inst); err != nil {
			t.Fatalf("answer %d (%s) violates its schema: %v\n%s", i, o.stage, err, o.text)
		}
	}
}

// TestClusterAgentStories260K runs the whole Cluster-agent on the
// reference model through the built-in engine with schemas: every answer
// is schema-valid and parses, the run completes, and a rerun on the same
// cache asks nothing new and gives the same result.
func TestClusterAgentStories260K(t *testing.T) {
	opt := ClusterAgentOptions{
		MetadataSamples: 2, MetadataRounds: 2, MinAttributes: 1, MaxAttributes: 2, SummaryItems: 2,
		K: 3, Repetitions: 4, MaxSampleChars: 60, MaxFieldChars: 16, MaxTokens: 200,
		Temperature: 0.8, Seed: 11,
	}
	cases := []struct {
		name     string
		noVerify bool
	}{{"verified", false}, {"without verification", true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt.NoVerify = c.noVerify
			path := filepath.Join(t.TempDir(), "cache.db")
			var first measure.Result
			for run := range 2 {
				cached, rec := builtinStack(t, path)
				r, err := ClusterAgentDiversity(context.Background(), cached, storyTexts, opt)
				if err != nil {
					t.Fatal(err)
				}
				req := r.Settings["requests"].(map[string]any)
				if req["unparsed"] != int64(0) || req["schema_rejections"] != int64(0) || r.Settings["failed_rounds"] != 0 {
					t.Fatalf("requests %v, failed rounds %v: every answer should parse", req, r.Settings["failed_rounds"])
				}
				if math.IsNaN(r.Value) || r.Value <= 0 || r.Value > float64(opt.K) {
					t.Fatalf("D = %g outside (0, K]", r.Value)
				}
				if n := len(r.Settings["per_round"].([]float64)); n != opt.Repetitions {
					t.Fatalf("%d rounds scored, want %d", n, opt.Repetitions)
				}
				st := cached.Stats()
				if err := cached.Close(); err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					validateAnswers(t, rec.answers())
					if st.Misses == 0 {
						t.Fatal("the first run asked nothing")
					}
					first = r
					t.Logf("D = %.3f CI %v; criteria %q; repairs %v; requests %v",
						r.Value, r.CI95, r.Settings["criteria"], r.Settings["repairs"], req)
					continue
				}
				if st.Misses != 0 || len(rec.answers()) != 0 {
					t.Errorf("the rerun sent %d requests to the engine; all should come from the cache", st.Misses)
				}
				if r.Value != first.Value || !reflect.DeepEqual(r.Settings["per_round"], first.Settings["per_round"]) ||
					!reflect.DeepEqual(r.Settings["criteria"], first.Settings["criteria"]) {
					t.Errorf("rerun gave D = %g %v, first %g %v", r.Value, r.Settings["per_round"], first.Value, first.Settings["per_round"])
				}
			}
		})
	}
}

// TestLLMEntailmentStories260K judges entailment with the reference model:
// every answer is a schema-valid label and clustering completes under
// strict and non-strict equivalence.
func TestLLMEntailmentStories260K(t *testing.T) {
	cached, rec := builtinStack(t, filepath.Join(t.TempDir(), "cache.db"))
	texts := storyTexts[:4]
	e, err := NewLLMEntailer(cached, LLMEntailOptions{Seed: 5, Context: "What happened?"})
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			c, err := measure.ClusterByEntailment(texts, e.Func(context.Background()), strict)
			if err != nil {
				t.Fatal(err)
			}
			if len(c) != len(texts) || c[0] != 0 {
				t.Fatalf("clusters %v", c)
			}
			r, err := measure.GroupedSemanticEntropy(texts, []string{"a", "a", "b", "b"}, e.Func(context.Background()), measure.SEOptions{Strict: strict})
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(r.Value) || r.Value < 0 || r.Value > math.Log(2)+1e-12 {
				t.Fatalf("SE = %g outside [0, ln 2]", r.Value)
			}
		})
	}
	if st := e.Stats(); st.Unparsed != 0 || st.SchemaRejections != 0 || e.Fallbacks() != 0 || st.Calls == 0 {
		t.Errorf("stats %+v, fallbacks %d: every answer should name a label", st, e.Fallbacks())
	}
	outs := rec.answers()
	validateAnswers(t, outs)
	for _, o := range outs {
		if _, err := ParseEntailment(o.text); err != nil {
			t.Fatalf("answer %q: %v", o.text, err)
		}
	}
	// Each ordered pair was asked once: 4·3 pairs at most.
	if len(outs) > 12 {
		t.Errorf("%d requests for 12 ordered pairs", len(outs))
	}
}
