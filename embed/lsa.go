package embed

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"unicode"

	"gonum.org/v1/gonum/mat"
)

// LSA embeds texts by latent semantic analysis: hashed TF-IDF over word 1–2-
// grams and character 3–5-grams, L2-normalised, reduced to Dim dimensions by
// a randomized SVD fitted on the texts of each call (see the package doc).
// A text's vector is its row of U·diag(S) (the document coordinates).
type LSA struct {
	Dim         int    // output dimension k; 0 means 100 (clamped to min(#texts, #features))
	MaxFeatures int    // hashed features kept (highest document frequency); 0 means 20000
	PowerIters  int    // randomized-SVD power iterations; 0 means 4
	Seed        uint64 // seed of the randomized SVD
}

const hashBuckets = 1 << 22

func (l LSA) settings() (dim, maxf, q int) {
	dim, maxf, q = l.Dim, l.MaxFeatures, l.PowerIters
	if dim <= 0 {
		dim = 100
	}
	if maxf <= 0 {
		maxf = 20000
	}
	if q == 0 {
		q = 4
	}
	return
}

// ID implements Embedder.
func (l LSA) ID() string {
	dim, maxf, q := l.settings()
	return fmt.Sprintf("lsa-v1-k%d-f%d-q%d-s%d", dim, maxf, q, l.Seed)
}

// sparseRows is a CSR matrix of documents × features.
type sparseRows struct {
	cols [][]int32
	vals [][]float64
	nc   int
}

func (s *sparseRows) Dims() (int, int) { return len(s.cols), s.nc }

func (s *sparseRows) Mul(dst, b *mat.Dense) {
	_, l := b.Dims()
	dst.Zero()
	for i := range s.cols {
		row := dst.RawRowView(i)
		for t, c := range s.cols[i] {
			v := s.vals[i][t]
			br := b.RawRowView(int(c))
			for j := 0; j < l; j++ {
				row[j] += v * br[j]
			}
		}
	}
}

func (s *sparseRows) MulT(dst, b *mat.Dense) {
	_, l := b.Dims()
	dst.Zero()
	for i := range s.cols {
		br := b.RawRowView(i)
		for t, c := range s.cols[i] {
			v := s.vals[i][t]
			row := dst.RawRowView(int(c))
			for j := 0; j < l; j++ {
				row[j] += v * br[j]
			}
		}
	}
}

// Words splits a text into lower-cased tokens: runs of letters and digits,
// and every other non-space rune as a token of its own.
func Words(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			b.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			out = append(out, string(r))
		}
	}
	flush()
	return out
}

func hashFeature(kind byte, s string) uint32 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	h.Write([]byte(s))
	return uint32(h.Sum64() % hashBuckets)
}

// termCounts returns the hashed n-gram counts of one text.
func termCounts(text string) map[uint32]float64 {
	m := map[uint32]float64{}
	w := Words(text)
	for i := range w {
		m[hashFeature('w', w[i])]++
		if i+1 < len(w) {
			m[hashFeature('b', w[i]+" "+w[i+1])]++
		}
	}
	r := []rune(" " + strings.Join(strings.Fields(strings.ToLower(text)), " ") + " ")
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= len(r); i++ {
			m[hashFeature(byte('0'+n), string(r[i:i+n]))]++
		}
	}
	return m
}

// TFIDF returns the L2-normalised TF-IDF rows of the texts (sublinear term
// frequency 1+ln tf, smooth idf ln((1+N)/(1+df))+1) over the kept hashed
// features, as a sparse operator.
func tfidf(texts []string, maxFeatures int) *sparseRows {
	counts := make([]map[uint32]float64, len(texts))
	df := map[uint32]int{}
	for i, t := range texts {
		counts[i] = termCounts(t)
		for f := range counts[i] {
			df[f]++
		}
	}
	feats := make([]uint32, 0, len(df))
	for f := range df {
		feats = append(feats, f)
	}
	sort.Slice(feats, func(a, b int) bool {
		if df[feats[a]] != df[feats[b]] {
			return df[feats[a]] > df[feats[b]]
		}
		return feats[a] < feats[b]
	})
	if len(feats) > maxFeatures {
		feats = feats[:maxFeatures]
	}
	sort.Slice(feats, func(a, b int) bool { return feats[a] < feats[b] })
	col := make(map[uint32]int32, len(feats))
	for i, f := range feats {
		col[f] = int32(i)
	}
	n := float64(len(texts))
	s := &sparseRows{cols: make([][]int32, len(texts)), vals: make([][]float64, len(texts)), nc: len(feats)}
	for i, m := range counts {
		var cs []int32
		for f := range m {
			if c, ok := col[f]; ok {
				cs = append(cs, c)
			}
		}
		sort.Slice(cs, func(a, b int) bool { return cs[a] < cs[b] })
		vs := make([]float64, len(cs))
		var norm float64
		for t, c := range cs {
			f := feats[c]
			v := (1 + math.Log(m[f])) * (math.Log((1+n)/(1+float64(df[f]))) + 1)
			vs[t] = v
			norm += v * v
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for t := range vs {
				vs[t] /= norm
			}
		}
		s.cols[i], s.vals[i] = cs, vs
	}
	return s
}

// Embed implements Embedder. The output dimension is min(Dim, #texts,
// #features).
func (l LSA) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, ErrEmpty
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: lsa: %w", err)
	}
	dim, maxf, q := l.settings()
	a := tfidf(texts, maxf)
	if a.nc == 0 {
		return nil, fmt.Errorf("embed: lsa: the %d texts have no features", len(texts))
	}
	u, s, _, err := RandomizedSVD(a, dim, RSVDOptions{PowerIters: q, Seed: l.Seed})
	if err != nil {
		return nil, fmt.Errorf("embed: lsa: %w", err)
	}
	// Fix the sign of each component (largest-magnitude entry positive) so
	// results do not depend on the SVD's arbitrary signs.
	r, k := u.Dims()
	for j := range k {
		best := 0.0
		for i := range r {
			if v := u.At(i, j); math.Abs(v) > math.Abs(best) {
				best = v
			}
		}
		if best < 0 {
			for i := range r {
				u.Set(i, j, -u.At(i, j))
			}
		}
	}
	out := make([][]float32, r)
	for i := range r {
		out[i] = make([]float32, k)
		for j := range k {
			out[i][j] = float32(u.At(i, j) * s[j])
		}
	}
	return out, nil
}
