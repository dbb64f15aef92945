package curate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/testshared"
)

func dataPath(t testing.TB, parts ...string) string {
	t.Helper()
	p := testshared.Path(t, append([]string{"data"}, parts...)...)
	return p
}

func lcsDP(a, b []string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				d[i][j] = d[i-1][j-1] + 1
			} else {
				d[i][j] = max(d[i-1][j], d[i][j-1])
			}
		}
	}
	return d[len(a)][len(b)]
}

func TestTokenize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"Hello, World!", "hello world"},
		{"  don't-stop 42x ", "don t stop 42x"},
		{"Café naïve", "caf na ve"},
		{"", ""},
	} {
		if got := strings.Join(Tokenize(c.in), " "); got != c.want {
			t.Errorf("Tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"  Hello,   WORLD!! ", "hello world"},
		{"ﬁne\tthing", "fine thing"}, // NFKC ligature
		{"a+b=c", "a b c"},
		{"...", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRougeLHandComputed(t *testing.T) {
	for _, c := range []struct {
		target, pred string
		lcs          int
		f1           float64
	}{
		// LCS "the cat the mat"? no: "the cat on the mat" vs "the cat sat on the mat": LCS 5.
		{"the cat sat on the mat", "the cat on the mat", 5, 2 * 5.0 / 11},
		{"ABCBDAB", "BDCABA", 0, 0},                       // one token each, different
		{"a b c b d a b", "b d c a b a", 4, 2 * 4.0 / 13}, // the classic CLRS example
		{"police killed the gunman", "police kill the gunman", 3, 0.75},
		{"police killed the gunman", "the gunman kill police", 2, 0.5},
		{"x y z", "x y z", 3, 1},
		{"", "x", 0, 0},
	} {
		a, b := Tokenize(c.target), Tokenize(c.pred)
		if got := LCS(a, b); got != c.lcs {
			t.Errorf("LCS(%q, %q) = %d, want %d", c.target, c.pred, got, c.lcs)
		}
		if got := RougeLF1(a, b); abs(got-c.f1) > 1e-12 {
			t.Errorf("F1(%q, %q) = %v, want %v", c.target, c.pred, got, c.f1)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestLCSMatchesDP(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		la, lb := rng.IntN(200), rng.IntN(200)
		alpha := 2 + rng.IntN(10)
		a, b := make([]string, la), make([]string, lb)
		for i := range a {
			a[i] = fmt.Sprint(rng.IntN(alpha))
		}
		for i := range b {
			b[i] = fmt.Sprint(rng.IntN(alpha))
		}
		if got, want := LCS(a, b), lcsDP(a, b); got != want {
			t.Fatalf("trial %d (%d×%d): LCS = %d, DP = %d", trial, la, lb, got, want)
		}
	}
}

// bruteRouge is the filter done the slow, obvious way.
func bruteRouge(anchors, recs []dataset.Record, theta float64) []bool {
	var pool [][]string
	for _, a := range anchors {
		pool = append(pool, Tokenize(a.Instruction))
	}
	removed := make([]bool, len(recs))
	for i, r := range recs {
		x := Tokenize(r.Instruction)
		mx := 0.0
		for _, y := range pool {
			mx = max(mx, RougeLF1(x, y))
		}
		if mx > theta {
			removed[i] = true
			continue
		}
		pool = append(pool, x)
	}
	return removed
}

func synthRecords(rng *rand.Rand, base []string, n int, vocab []string) []dataset.Record {
	out := make([]dataset.Record, n)
	for i := range out {
		w := strings.Fields(base[rng.IntN(len(base))])
		w = perturb(rng, w, vocab, rng.IntN(4))
		out[i] = dataset.Record{ID: fmt.Sprintf("s%d", i), Instruction: strings.Join(w, " ")}
	}
	return out
}

// perturb applies k random word edits: drop, swap with the next, replace,
// insert.
func perturb(rng *rand.Rand, w []string, vocab []string, k int) []string {
	w = append([]string(nil), w...)
	for range k {
		if len(w) < 2 {
			break
		}
		i := rng.IntN(len(w))
		switch rng.IntN(4) {
		case 0:
			w = append(w[:i], w[i+1:]...)
		case 1:
			if i+1 < len(w) {
				w[i], w[i+1] = w[i+1], w[i]
			}
		case 2:
			w[i] = vocab[rng.IntN(len(vocab))]
		case 3:
			w = append(w[:i], append([]string{vocab[rng.IntN(len(vocab))]}, w[i:]...)...)
		}
	}
	return w
}

func TestRougeLMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := []string{
		"Write a short poem about the sea and the wind",
		"Explain why the sky is blue to a child",
		"Give three tips for staying healthy during winter",
		"Translate the following sentence into French",
		"Summarize the given article in two sentences",
		"List five animals that live in the desert and explain how they survive",
	}
	vocab := strings.Fields("alpha beta gamma delta the a of to and in blue sea poem child tips")
	anchors := synthRecords(rng, base[:2], 5, vocab)
	recs := synthRecords(rng, base, 600, vocab)
	for _, theta := range []float64{0.3, 0.5, 0.7, 0.9} {
		want := bruteRouge(anchors, recs, theta)
		for _, cfg := range []struct{ workers, block int }{{1, 2048}, {2, 7}, {3, 64}} {
			f := &RougeL{Anchors: anchors, Threshold: theta, Workers: cfg.workers, BlockSize: cfg.block}
			vs, err := f.Apply(context.Background(), recs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range vs {
				if vs[i].Remove != want[i] {
					t.Fatalf("θ=%v workers=%d block=%d: record %d %q removed=%v, brute force says %v", theta, cfg.workers, cfg.block, i, recs[i].Instruction, vs[i].Remove, want[i])
				}
			}
		}
	}
}

func TestMinHashEstimate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mh := NewMinHasher(256, 42)
	for trial := range 50 {
		// Two sets with a chosen overlap.
		n := 200
		shared := rng.IntN(n)
		var a, b []uint64
		for i := range n {
			a = append(a, uint64(trial*100000+i))
			if i < shared {
				b = append(b, uint64(trial*100000+i))
			} else {
				b = append(b, uint64(trial*100000+50000+i))
			}
		}
		exact := float64(shared) / float64(2*n-shared)
		est := EstimateJaccard(mh.Signature(a), mh.Signature(b))
		// Standard error sqrt(J(1-J)/256) ≤ 0.031; allow 4 of them.
		if abs(est-exact) > 0.125 {
			t.Errorf("trial %d: estimate %.3f, exact %.3f", trial, est, exact)
		}
	}
}

func TestLSHParams(t *testing.T) {
	b, r := LSHParams(0.8, 128, 0.5)
	if b != 9 || r != 13 {
		t.Errorf("equal weights: %d bands × %d rows, datasketch gives 9 × 13", b, r)
	}
	b, r = LSHParams(0.8, 128, 0.02)
	if b*r > 128 || b < 1 || r < 1 {
		t.Fatalf("LSHParams = %d, %d", b, r)
	}
	if p := CandidateProbability(0.8, b, r); p < 0.95 {
		t.Errorf("P(candidate | J=0.8) = %.3f with b=%d r=%d", p, b, r)
	}
	if p := CandidateProbability(0.3, b, r); p > 0.05 {
		t.Errorf("P(candidate | J=0.3) = %.4f", p)
	}
	t.Logf("threshold 0.8, 128 permutations, weight 0.02: %d bands × %d rows, P(0.8) = %.3f, P(0.5) = %.3f",
		b, r, CandidateProbability(0.8, b, r), CandidateProbability(0.5, b, r))
}

func TestNearDedupRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	var recs []dataset.Record
	planted := map[string]bool{}
	const originals = 400
	for i := range originals {
		w := make([]string, 60)
		for j := range w {
			w[j] = vocab[rng.IntN(len(vocab))]
		}
		recs = append(recs, dataset.Record{ID: fmt.Sprint("o", i), Instruction: strings.Join(w, " ")})
		// A near-duplicate at the threshold: two words replaced, so 6 of 58
		// word 3-shingles change and the Jaccard similarity is 52/64 ≈ 0.81.
		d := append([]string(nil), w...)
		d[5+rng.IntN(20)] = vocab[rng.IntN(len(vocab))]
		d[30+rng.IntN(25)] = vocab[rng.IntN(len(vocab))]
		id := fmt.Sprint("d", i)
		shA, shB := Shingles(strings.Join(w, " "), 3, false), Shingles(strings.Join(d, " "), 3, false)
		if Jaccard(shA, shB) >= 0.8 {
			planted[id] = true
		}
		recs = append(recs, dataset.Record{ID: id, Instruction: strings.Join(d, " ")})
	}
	f := &NearDedup{Threshold: 0.8, Seed: 1}
	vs, err := f.Apply(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	found, falsePos := 0, 0
	for i, v := range vs {
		if !v.Remove {
			continue
		}
		if planted[recs[i].ID] {
			found++
		} else {
			falsePos++
		}
	}
	recall := float64(found) / float64(len(planted))
	t.Logf("recall %.3f (%d of %d planted), %d others removed", recall, found, len(planted), falsePos)
	if recall < 0.95 {
		t.Errorf("recall %.3f < 0.95", recall)
	}
	if falsePos > 0 {
		t.Errorf("%d records removed that are not near-duplicates (exact verification should forbid it)", falsePos)
	}
}

func TestDecontaminate(t *testing.T) {
	eval := []dataset.Record{
		{ID: "e1", Instruction: "What is the capital city of France and why did it become the capital of the country in the first place?"},
		{ID: "e2", Instruction: "short one"},
	}
	planted := "please tell me: what is the capital city of France and why did it become the capital of the country? thanks"
	recs := []dataset.Record{
		{ID: "r1", Instruction: planted},
		{ID: "r2", Instruction: "What is the capital city of Spain, and when did it become the capital of that country?"},
		{ID: "r3", Output: "Answer: What is the capital city of France and why did it become the capital of the country"},
		{ID: "r4", Instruction: "short one"},
	}
	vs, err := (&Decontaminate{Eval: eval}).Apply(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false}
	for i, v := range vs {
		if v.Remove != want[i] {
			t.Errorf("%s: removed %v, want %v (%+v)", recs[i].ID, v.Remove, want[i], v)
		}
	}
	if vs[0].Detail["eval_id"] != "e1" {
		t.Errorf("detail %+v", vs[0].Detail)
	}
}

func TestHeuristics(t *testing.T) {
	for _, c := range []struct {
		f      Filter
		in     string
		reason string
	}{
		{&StartChar{}, "Write a poem.", ""},
		{&StartChar{}, "\"Quoted\" start", "starts with punctuation"},
		{&StartChar{}, "  - bullet", "starts with punctuation"},
		{&StartChar{}, "Écrivez un poème", "starts with non-ASCII"},
		{&StartChar{}, "   ", "empty"},
		{&Length{}, "one two three", "too short"},
		{&Length{}, "one two three four", ""},
		{&Length{}, strings.Repeat("w ", 150), ""},
		{&Length{}, strings.Repeat("w ", 151), "too long"},
		{&Length{Min: 1, Max: 2}, "a b c", "too long"},
		{&Keywords{}, "Describe the image below", "keyword image"},
		{&Keywords{}, "Plot the data", "keyword plot"},
		{&Keywords{}, "Where should I go to eat?", "keyword go to"},
		{&Keywords{}, "Explain the mapping of keys", ""},
		{&Keywords{}, "Describe the Picture", "keyword picture"},
		{&Keywords{Words: []string{"code"}}, "Write code", "keyword code"},
	} {
		vs, err := c.f.Apply(context.Background(), []dataset.Record{{ID: "x", Instruction: c.in}})
		if err != nil {
			t.Fatal(err)
		}
		if vs[0].Reason != c.reason || vs[0].Remove != (c.reason != "") {
			t.Errorf("%s(%q) = %+v, want reason %q", c.f.Name(), c.in, vs[0], c.reason)
		}
	}
}

func TestExactDedupAndPipelineReport(t *testing.T) {
	recs := []dataset.Record{
		{ID: "1", Instruction: "Write a poem about the sea, please."},
		{ID: "2", Instruction: "write a POEM about the sea please"},
		{ID: "3", Instruction: "Describe the image of a cat in detail"},
		{ID: "4", Instruction: "Tell me a joke about programmers now"},
		{ID: "5", Instruction: "Tell me a joke about programmers today"},
	}
	res, err := Pipeline{Filters: []Filter{&Keywords{}, &ExactDedup{}, &RougeL{}}}.Run(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range res.Kept {
		kept = append(kept, r.ID)
	}
	if strings.Join(kept, ",") != "1,4" {
		t.Errorf("kept %v", kept)
	}
	want := []Report{
		{Filter: "keywords", Seen: 5, Removed: 1, Reasons: map[string]int{"keyword image": 1}},
		{Filter: "exact-dedup", Seen: 4, Removed: 1, Reasons: map[string]int{"exact duplicate": 1}},
		{Filter: "rouge-l", Seen: 3, Removed: 1, Reasons: map[string]int{"rouge-l > 0.7": 1}},
	}
	if fmt.Sprint(res.Reports) != fmt.Sprint(want) {
		t.Errorf("reports %v\nwant %v", res.Reports, want)
	}
	if len(res.Removed) != 3 {
		t.Fatalf("removed %d", len(res.Removed))
	}
	r := res.Removed[1]
	if r.ID != "2" || r.Meta["curate_filter"] != "exact-dedup" || r.Meta["curate_match"] != "1" {
		t.Errorf("removed record meta %+v", r.Meta)
	}
	if recs[1].Meta != nil {
		t.Errorf("input record was modified")
	}
}

type lenScorer struct{}

func (lenScorer) Score(_ context.Context, r dataset.Record) (float64, error) {
	return float64(len(r.Output)), nil
}

func TestJudge(t *testing.T) {
	recs := []dataset.Record{{ID: "a", Output: "long enough"}, {ID: "b", Output: "no"}}
	vs, err := (&Judge{Scorer: lenScorer{}, Min: 5}).Apply(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if vs[0].Remove || !vs[1].Remove || vs[1].Detail["score"] != 2.0 {
		t.Errorf("verdicts %+v", vs)
	}
}

func loadInstructions(t testing.TB) (seed, user []dataset.Record) {
	p1 := dataPath(t, "self-instruct", "seed_tasks.jsonl")
	p2 := dataPath(t, "self-instruct", "user_oriented_instructions.jsonl")
	opt := dataset.ReadOptions{FirstInstanceOnly: true}
	seed, _, err := dataset.ReadFile(p1, opt)
	if err != nil {
		t.Fatal(err)
	}
	user, _, err = dataset.ReadFile(p2, opt)
	if err != nil {
		t.Fatal(err)
	}
	return seed, user
}

func TestRealSelfInstructPipeline(t *testing.T) {
	seed, user := loadInstructions(t)
	mt, _, err := dataset.ReadFile(dataPath(t, "mt-bench", "question.jsonl"), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The user-oriented instructions as the "generated" set, the seed tasks
	// as anchors, MT-bench as the evaluation split; plant a few duplicates
	// and a contaminated record.
	recs := append([]dataset.Record(nil), user...)
	recs = append(recs, dataset.Record{ID: "dup-exact", Instruction: strings.ToUpper(user[3].Instruction), Input: user[3].Input + "!"})
	recs = append(recs, dataset.Record{ID: "dup-seed", Instruction: seed[10].Instruction + " Thanks."})
	recs = append(recs, dataset.Record{ID: "contaminated", Instruction: "Please do this: " + mt[0].Instruction})
	res, err := Default(seed, mt).Run(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	removed := map[string]string{}
	for _, r := range res.Removed {
		removed[r.ID] = r.Meta["curate_filter"].(string)
	}
	for id, f := range map[string]string{"dup-exact": "exact-dedup", "dup-seed": "rouge-l", "contaminated": "decontaminate"} {
		if removed[id] != f {
			t.Errorf("%s removed by %q, want %q", id, removed[id], f)
		}
	}
	for _, rep := range res.Reports {
		t.Log(rep)
	}
	t.Logf("kept %d of %d", len(res.Kept), len(recs))
	if len(res.Kept)+len(res.Removed) != len(recs) {
		t.Errorf("kept %d + removed %d != %d", len(res.Kept), len(res.Removed), len(recs))
	}
	// Deterministic: a second run with one worker gives the same result.
	p := Default(seed, mt)
	for _, f := range p.Filters {
		switch x := f.(type) {
		case *RougeL:
			x.Workers = 1
		case *NearDedup:
			x.Workers = 1
		}
	}
	res2, err := p.Run(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res2.Reports) != fmt.Sprint(res.Reports) || len(res2.Kept) != len(res.Kept) {
		t.Errorf("second run differs: %v vs %v", res2.Reports, res.Reports)
	}
}
