package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

// User mistakes exit with code 2 and one sentence on stderr.
func TestMeasureBadInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.jsonl")
	if err := os.WriteFile(data, []byte("{\"instruction\":\"add two and two\",\"output\":\"four\"}\n{\"instruction\":\"name a colour\",\"output\":\"red\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"measure"}, "requires at least 1 arg"},
		{[]string{"measure", data}, "--out is required"},
		{[]string{"measure", filepath.Join(dir, "missing.jsonl"), "--out", out}, "no such file"},
		{[]string{"measure", empty, "--out", out}, "holds no records"},
		{[]string{"measure", data, "--out", out, "--embed", "word2vec"}, "unknown embedder"},
		{[]string{"measure", data, "--out", out, "--embed", "builtin:/no/model.bin"}, "no such file"},
		{[]string{"measure", data, "--out", out, "--metrics", "hsic,nope"}, `unknown metric "nope"`},
		{[]string{"measure", data, "--out", out, "--pairing", "zip"}, "--pairing must be"},
		{[]string{"measure", data, "--out", out, "--param", "se.threshold=high"}, "is not a number"},
		{[]string{"measure", data, "--out", out, "--param", "threshold=1"}, "METRIC.NAME=VALUE"},
		{[]string{"measure", data, "--out", out, "--bootstrap", "1"}, "--bootstrap must be"},
		{[]string{"measure", data, "--out", out, "--anchors", filepath.Join(dir, "none.jsonl")}, "no such file"},
		{[]string{"measure", data, "--out", out, "--llm", "ftp://x"}, "--llm"},
		{[]string{"compare", filepath.Join(dir, "nothing")}, "no such file"},
		{[]string{"compare", data}, "is not a metrics.json"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line containing %q", c.args, code, stderr, c.want)
		}
	}
}

func readMetrics(t *testing.T, dir string) measureFile {
	t.Helper()
	f, err := readMeasureFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ggmi measure on the real self-instruct files (user-oriented instructions
// as S_gen, the seed tasks as anchors) computes every metric that needs no
// training set, writes metrics.json and metrics.md, and prints JSON with
// --json. ggmi compare then puts two runs side by side.
func TestMeasureRealData(t *testing.T) {
	in := sharedData(t, "self-instruct", "user_oriented_instructions.jsonl")
	anchors := sharedData(t, "self-instruct", "seed_tasks.jsonl")
	out := filepath.Join(t.TempDir(), "si")
	code, stdout, stderr := runCLI("measure", in, "--schema", "self-instruct", "--anchors", anchors,
		"--anchors-schema", "self-instruct", "--bootstrap", "40", "--max-pairs", "200", "--out", out, "--json", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var f measureFile
	if err := json.Unmarshal([]byte(stdout), &f); err != nil {
		t.Fatalf("stdout is not metrics.json: %v\n%s", err, stdout)
	}
	if f.N != 252 || f.Anchors != 175 || !strings.HasPrefix(f.Embedder, "lsa-v1") || len(f.Errors) != 0 {
		t.Fatalf("report header %+v, errors %v", f.Report.N, f.Errors)
	}
	got := map[string]bool{}
	for _, r := range f.Metrics {
		got[r.Name] = true
		if math.IsNaN(r.Value) || math.IsNaN(r.CI95[0]) || r.Settings["ci"] == nil {
			t.Errorf("%s: value %g CI %v settings %v", r.Name, r.Value, r.CI95, r.Settings)
		}
		if r.Name == "hsic" && (r.Settings["pairing"] != "subsample" || r.Settings["paired_with"] != "anchors" || r.N != 175) {
			t.Errorf("hsic without demo IDs: N %d settings %v", r.N, r.Settings)
		}
	}
	for _, m := range []string{"hsic", "hsic-rff", "ksg", "entropy", "delta-h", "se", "ngram", "self-rep", "compression",
		"kmeans-entropy", "self-bleu", "homogenization", "vendi", "mmd", "c2st", "knn-kl"} {
		if !got[m] {
			t.Errorf("metric %s missing", m)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "metrics.md"))
	if err != nil || !strings.Contains(string(md), "| metric | value | 95% CI | n | settings |") || !strings.Contains(string(md), "| vendi |") {
		t.Fatalf("metrics.md: %v\n%s", err, md)
	}
	if disk := readMetrics(t, out); len(disk.Metrics) != len(f.Metrics) || disk.Inputs.Data[0] != in {
		t.Errorf("metrics.json on disk differs from stdout")
	}

	// A second run on the seed tasks alone; compare shows both columns.
	out2 := filepath.Join(t.TempDir(), "seed")
	if code, _, stderr := runCLI("measure", anchors, "--schema", "self-instruct", "--metrics", "ngram,vendi,se", "--out", out2, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI("compare", out, filepath.Join(out2, "metrics.json"))
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "| metric | si | seed |") || !strings.Contains(stdout, "| hsic |") || !strings.Contains(stdout, " – |") {
		t.Errorf("comparison:\n%s", stdout)
	}
}

// The paper's mode on GSM8K: test questions as S_gen against the train
// split, equal-size seeded subsamples, HSIC and semantic entropy.
func TestMeasureGSM8KTrainPairing(t *testing.T) {
	test := sharedData(t, "gsm8k", "test.jsonl")
	train := sharedData(t, "gsm8k", "train.jsonl")
	out := t.TempDir()
	code, stdout, stderr := runCLI("measure", test, "--train", train, "--field", "instruction", "--pairing", "subsample",
		"--metrics", "hsic,hsic-rff,se,vendi,ngram,mmd", "--bootstrap", "30", "--max-pairs", "500", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := readMetrics(t, out)
	if f.N != 1319 || f.Train != 7473 || len(f.Metrics) != 6 {
		t.Fatalf("%d records, %d train, %d metrics, errors %v", f.N, f.Train, len(f.Metrics), f.Errors)
	}
	for _, r := range f.Metrics {
		switch r.Name {
		case "hsic":
			if r.N != 500 || r.Settings["pairing"] != "subsample" || r.Settings["paired_with"] != "train" {
				t.Errorf("hsic: N %d %v", r.N, r.Settings)
			}
		case "hsic-rff":
			if r.N != 1319 {
				t.Errorf("hsic-rff pairs %d, want min(1319, 7473)", r.N)
			}
		case "se":
			if r.Settings["approximation"] == nil {
				t.Error("se is not labelled an approximation")
			}
		}
	}
	if !strings.Contains(stdout, "| hsic |") || !strings.Contains(stdout, "7473 train records") {
		t.Errorf("table:\n%s", stdout)
	}
}

// --reference takes over the divergences: the MT-bench questions as the
// held-out sample the self-instruct instructions are compared with.
func TestMeasureReference(t *testing.T) {
	data := sharedData(t, "self-instruct", "user_oriented_instructions.jsonl")
	anchors := sharedData(t, "self-instruct", "seed_tasks.jsonl")
	ref := sharedData(t, "mt-bench", "question.jsonl")
	out := t.TempDir()
	code, stdout, stderr := runCLI("measure", data, "--schema", "self-instruct", "--anchors", anchors, "--anchors-schema", "self-instruct",
		"--reference", ref, "--reference-schema", "mt-bench", "--metrics", "mmd,knn-kl", "--bootstrap", "0", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := readMetrics(t, out)
	if len(f.Metrics) != 2 || f.Inputs.Ref != ref {
		t.Fatalf("%d metrics, inputs %+v, errors %v", len(f.Metrics), f.Inputs, f.Errors)
	}
	for _, r := range f.Metrics {
		if r.Settings["reference"] != "reference" || (r.Name == "mmd" && r.N != 252+80) {
			t.Errorf("%s: N %d settings %v", r.Name, r.N, r.Settings)
		}
	}
	if !strings.Contains(stdout, "80 reference records") {
		t.Errorf("table:\n%s", stdout)
	}
	if code, _, stderr := runCLI("measure", data, "--reference", filepath.Join(t.TempDir(), "missing.jsonl"), "--out", t.TempDir(), "-q"); code != 2 {
		t.Errorf("missing reference: exit %d: %s", code, stderr)
	}
}

// --llm takes the model specs every command takes (llm.ParseModelSpec),
// hf:// among them, checked before any data is read; credentials in a URL
// are refused and never echoed.
func TestParseLLMSpec(t *testing.T) {
	cases := []struct {
		spec, kind, err string
	}{
		{"hf://owner/repo/model.gguf", llm.SpecBuiltin, ""},
		{"builtin:hf://owner/repo/model.bin", llm.SpecBuiltin, ""},
		{"http://127.0.0.1:1/v1#m", llm.SpecRemote, ""},
		{"hf://owner", "", "--llm"},
		{"builtin:/no/such/model.bin", "", "no such file"},
		{"https://user:secret@host/v1#m", "", "credentials"},
		{"nonsense", "", "--llm"},
	}
	for _, c := range cases {
		ms, err := parseLLM(c.spec)
		if c.err == "" {
			if err != nil || ms.Kind != c.kind {
				t.Errorf("parseLLM(%q) = %+v, %v; want kind %s", c.spec, ms, err, c.kind)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("parseLLM(%q) error %v, want one containing %q", c.spec, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("parseLLM(%q) echoes the credentials: %v", c.spec, err)
		}
		var ue usageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("parseLLM(%q) error %v is not a usage error", c.spec, err)
		}
	}
}
