package embed

import (
	"context"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/serve"
)

// sharedModel returns the stories260K model file beside the repository,
// skipping the test when the shared folder is absent.
func sharedModel(t *testing.T) string {
	return testshared.StoriesPath(t)
}

var engineTexts = []string{
	"Once upon a time there was a little girl.",
	"The dog ran to the park and played with a ball.",
	"Lily liked to eat apples.",
	"Once upon a time there was a little girl.",
	"Tom was sad because it rained.",
}

// The engine embedder returns the model's mean-pooled hidden states: the
// vectors equal llama.Model.Embed, batching does not change them, equal
// texts get equal vectors, and the ID depends on the weights, not the path.
func TestEngineEmbedder(t *testing.T) {
	path := sharedModel(t)
	e, err := NewEngine(path, EngineOptions{Workers: 2, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, err := e.Embed(context.Background(), engineTexts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(engineTexts) {
		t.Fatalf("%d vectors for %d texts", len(got), len(engineTexts))
	}
	for i, s := range engineTexts {
		want, err := m.Embed(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[i]) != m.Config.Dim || !equal32(got[i], want) {
			t.Fatalf("text %d: engine embedder differs from llama.Model.Embed", i)
		}
	}
	if !equal32(got[0], got[3]) || equal32(got[0], got[1]) {
		t.Error("equal texts must share a vector and different texts must not")
	}
	// A copy of the weights under another name has the same ID.
	dir := t.TempDir()
	for _, f := range []string{"stories260K.bin", "tok512.bin"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), f))
		if err != nil {
			t.Fatal(err)
		}
		name := f
		if f == "stories260K.bin" {
			name = "copy.bin"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e2, err := NewEngine(filepath.Join(dir, "copy.bin"), EngineOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if e.ID() != e2.ID() || !strings.HasPrefix(e.ID(), "engine-v1:") || len(e.ID()) != len("engine-v1:")+32 {
		t.Errorf("IDs %q and %q, want equal engine-v1:<32 hex>", e.ID(), e2.ID())
	}
	if _, err := e.Embed(context.Background(), nil); err != ErrEmpty {
		t.Errorf("empty batch: %v, want ErrEmpty", err)
	}
}

// The remote embedder against `ggmi serve`'s handler over the built-in
// engine returns exactly the direct engine's vectors (float32 survives the
// JSON round trip), and Open parses the URL#MODEL spec.
func TestRemoteEmbedderMatchesEngine(t *testing.T) {
	path := sharedModel(t)
	m, err := llama.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := llm.NewBuiltin(m, llm.BuiltinOptions{Name: "stories", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(serve.New(b, serve.Options{}))
	defer srv.Close()

	direct, err := NewBuiltinBackend(b, "engine-v1:test").Embed(context.Background(), engineTexts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(srv.URL+"/v1#stories", SpecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer Close(e)
	if want := "remote-v1:" + srv.URL + "/v1#stories"; e.ID() != want {
		t.Errorf("ID %q, want %q", e.ID(), want)
	}
	rb := e.(*Backend)
	rb.Batch = 2 // several requests
	remote, err := e.Embed(context.Background(), engineTexts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range direct {
		if !equal32(direct[i], remote[i]) {
			t.Fatalf("text %d: remote vector differs from the engine's", i)
		}
	}
	bad, _ := NewRemote(srv.URL+"/v1", "no-such-model", RemoteOptions{Limits: llm.LimitOptions{MaxAttempts: 1}})
	if _, err := bad.Embed(context.Background(), engineTexts[:1]); err == nil || !strings.Contains(err.Error(), "no-such-model") {
		t.Errorf("unknown model: %v", err)
	}
}

func TestOpenSpecs(t *testing.T) {
	e, err := Open("lsa", SpecOptions{Seed: 5})
	if err != nil || e.ID() != (LSA{Seed: 5}).ID() {
		t.Fatalf("lsa: %v, %v", e, err)
	}
	cases := []struct{ spec, want string }{
		{"word2vec", "unknown embedder"},
		{"glove:", "want glove:PATH"},
		{"glove:/no/such/file.txt", "no such file"},
		{"builtin:", "want builtin:PATH"},
		{"builtin:/no/such/model.bin", "no such file"},
		{"http://localhost:1/v1", "the model after #"},
		{"https://:x/v1#m", "not an http(s) URL"},
	}
	for _, c := range cases {
		if _, err := Open(c.spec, SpecOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", c.spec, err, c.want)
		}
	}
	c, err := Open("lsa", SpecOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(interface{ Close() error }); !ok || c.ID() != (LSA{}).ID() {
		t.Errorf("cached spec: %T %q", c, c.ID())
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LSA fitted on a sample projects every text with the sample's right
// singular vectors: with FitSample ≥ n nothing changes, and on a corpus of
// a few well-separated topics the inner products of the projected vectors
// match those of the full fit.
func TestLSAFitSample(t *testing.T) {
	topics := [][]string{
		strings.Fields("apple banana cherry fruit juice sweet orchard"),
		strings.Fields("engine wheel brake road driver fuel car"),
		strings.Fields("violin piano melody concert music note song"),
	}
	var texts []string
	for i := range 300 {
		w := topics[i%3]
		// Every word of the topic but one: the topics dominate the spectrum.
		var ws []string
		for j, x := range w {
			if j != (i/3)%7 {
				ws = append(ws, x)
			}
		}
		texts = append(texts, strings.Join(ws, " "))
	}
	ctx := context.Background()
	full, err := LSA{Dim: 3, FitSample: -1, Seed: 2}.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := LSA{Dim: 3, FitSample: 300, Seed: 2}.Embed(ctx, texts)
	for i := range full {
		if !equal32(full[i], same[i]) {
			t.Fatal("FitSample = n changed the vectors")
		}
	}
	sub, err := LSA{Dim: 3, FitSample: 100, Seed: 2}.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for i := range full {
		for j := range full {
			var a, b float64
			for d := range 3 {
				a += float64(full[i][d] * full[j][d])
				b += float64(sub[i][d] * sub[j][d])
			}
			num += (a - b) * (a - b)
			den += a * a
		}
	}
	if r := math.Sqrt(num / den); r > 0.05 {
		t.Errorf("Gram matrices differ by %.3f (relative Frobenius)", r)
	}
	if (LSA{}).ID() == (LSA{FitSample: -1}).ID() {
		t.Error("FitSample is not in the ID")
	}
}

// Specs name models as every command does (llm.ParseModelSpec): a URL with
// credentials is refused and never echoed.
func TestOpenSpecRedactsCredentials(t *testing.T) {
	for _, spec := range []string{"https://user:secret@host/v1#m", "http://secret@host/v1", "https://u:secret@ho st/v1#m"} {
		_, err := Open(spec, SpecOptions{})
		if err == nil {
			t.Errorf("Open(%q) accepted credentials in the URL", spec)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error echoes the credentials: %v", spec, err)
		}
	}
}
