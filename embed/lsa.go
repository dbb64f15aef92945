package embed

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// LSA embeds texts by latent semantic analysis: hashed TF-IDF over word 1–2-
// grams and character 3–5-grams, L2-normalised, reduced to Dim dimensions by
// a randomized SVD fitted on the texts of each call (see the package doc).
// A text's vector is its row of U·diag(S) (the document coordinates).
//
// Beyond FitSample texts, the SVD is fitted on a seeded sample of FitSample
// rows of the TF-IDF matrix A (IDF still from all texts) and every text is
// projected on the right singular vectors: its vector is its row of A·V,
// which equals U·diag(S) on the fitted rows. This bounds the cost of the
// power iterations on large corpora.
type LSA struct {
	Dim         int    // output dimension k; 0 means 100 (clamped to min(#texts, #features))
	MaxFeatures int    // hashed features kept (highest document frequency); 0 means 20000
	PowerIters  int    // randomized-SVD power iterations; 0 means 4
	Seed        uint64 // seed of the randomized SVD and of the fitting sample
	FitSample   int    // texts the SVD is fitted on; 0 means 10000, negative means all
}

const hashBuckets = 1 << 22

func (l LSA) fitSample() int {
	switch {
	case l.FitSample == 0:
		return 10000
	case l.FitSample < 0:
		return -1
	}
	return l.FitSample
}

// rows returns the CSR matrix of the rows idx (shared, not copied).
func (s *sparseRows) rows(idx []int) *sparseRows {
	out := &sparseRows{cols: make([][]int32, len(idx)), vals: make([][]float64, len(idx)), nc: s.nc}
	for i, j := range idx {
		out.cols[i], out.vals[i] = s.cols[j], s.vals[j]
	}
	return out
}

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
	return fmt.Sprintf("lsa-v1-k%d-f%d-q%d-s%d-fit%d", dim, maxf, q, l.Seed, l.fitSample())
}

// sparseRows is a CSR matrix of documents × features; t, when set, is its
// transpose (features × documents), so that both products run row by row
// in parallel.
type sparseRows struct {
	cols [][]int32
	vals [][]float64
	nc   int
	t    *sparseRows
}

func (s *sparseRows) Dims() (int, int) { return len(s.cols), s.nc }

// Mul sets dst = S·b. Rows of dst are independent and computed by
// GOMAXPROCS goroutines; each is summed in a fixed order, so the result does
// not depend on the number of goroutines.
func (s *sparseRows) Mul(dst, b *mat.Dense) {
	dst.Zero()
	parallelChunks(len(s.cols), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := dst.RawRowView(i)
			for t, c := range s.cols[i] {
				floats.AddScaled(row, s.vals[i][t], b.RawRowView(int(c)))
			}
		}
	})
}

// MulT sets dst = Sᵀ·b through the transpose (built on first use).
func (s *sparseRows) MulT(dst, b *mat.Dense) {
	if s.t == nil {
		s.t = s.transpose()
	}
	s.t.Mul(dst, b)
}

// transpose returns the CSR form of Sᵀ (columns in increasing row order).
func (s *sparseRows) transpose() *sparseRows {
	cnt := make([]int, s.nc)
	for _, cs := range s.cols {
		for _, c := range cs {
			cnt[c]++
		}
	}
	t := &sparseRows{cols: make([][]int32, s.nc), vals: make([][]float64, s.nc), nc: len(s.cols)}
	for c, k := range cnt {
		t.cols[c] = make([]int32, 0, k)
		t.vals[c] = make([]float64, 0, k)
	}
	for i, cs := range s.cols {
		for k, c := range cs {
			t.cols[c] = append(t.cols[c], int32(i))
			t.vals[c] = append(t.vals[c], s.vals[i][k])
		}
	}
	return t
}

// parallelChunks calls f on consecutive chunks of [0, n) from GOMAXPROCS
// goroutines.
func parallelChunks(n int, f func(lo, hi int)) {
	_ = parallelChunksCtx(context.Background(), n, f)
}

// parallelChunksCtx is parallelChunks that stops taking chunks once ctx is
// done and then returns its error.
func parallelChunksCtx(ctx context.Context, n int, f func(lo, hi int)) error {
	w := min(runtime.GOMAXPROCS(0), max(n/64, 1))
	if w <= 1 {
		const chunk = 256
		for lo := 0; lo < n; lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			f(lo, min(lo+chunk, n))
		}
		return ctx.Err()
	}
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n || ctx.Err() != nil {
					return
				}
				f(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
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
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return uint32(h % hashBuckets)
}

// termCountsSorted returns the distinct hashed n-grams of one text in
// increasing order and their counts (64-bit FNV-1a of the kind byte and the
// n-gram's bytes, modulo the number of buckets).
func termCountsSorted(text string) ([]uint32, []float64) {
	w := Words(text)
	low := " " + strings.Join(strings.Fields(strings.ToLower(text)), " ") + " "
	hs := make([]uint32, 0, 2*len(w)+3*len(low))
	for i := range w {
		hs = append(hs, hashFeature('w', w[i]))
		if i+1 < len(w) {
			hs = append(hs, hashFeature('b', w[i]+" "+w[i+1]))
		}
	}
	// Character n-grams over runes: starts holds the byte offset of each
	// rune (and the end).
	starts := make([]int, 0, len(low)+1)
	for i := range low {
		starts = append(starts, i)
	}
	starts = append(starts, len(low))
	nr := len(starts) - 1
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= nr; i++ {
			hs = append(hs, hashFeature(byte('0'+n), low[starts[i]:starts[i+n]]))
		}
	}
	slices.Sort(hs)
	var fs []uint32
	var cs []float64
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[j] == hs[i] {
			j++
		}
		fs = append(fs, hs[i])
		cs = append(cs, float64(j-i))
		i = j
	}
	return fs, cs
}

// TFIDF returns the L2-normalised TF-IDF rows of the texts (sublinear term
// frequency 1+ln tf, smooth idf ln((1+N)/(1+df))+1) over the kept hashed
// features, as a sparse operator.
func tfidf(ctx context.Context, texts []string, maxFeatures int) (*sparseRows, error) {
	feats := make([][]uint32, len(texts))
	counts := make([][]float64, len(texts))
	if err := parallelChunksCtx(ctx, len(texts), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			feats[i], counts[i] = termCountsSorted(texts[i])
		}
	}); err != nil {
		return nil, err
	}
	df := map[uint32]int32{}
	for _, fs := range feats {
		for _, f := range fs {
			df[f]++
		}
	}
	type fd struct {
		f  uint32
		df int32
	}
	all := make([]fd, 0, len(df))
	for f, d := range df {
		all = append(all, fd{f, d})
	}
	// Highest document frequency first, ties by bucket: a total order.
	slices.SortFunc(all, func(a, b fd) int {
		if a.df != b.df {
			return int(b.df - a.df)
		}
		return cmp.Compare(a.f, b.f)
	})
	if len(all) > maxFeatures {
		all = all[:maxFeatures]
	}
	slices.SortFunc(all, func(a, b fd) int { return cmp.Compare(a.f, b.f) })
	col := make(map[uint32]int32, len(all))
	for i, x := range all {
		col[x.f] = int32(i)
	}
	n := float64(len(texts))
	s := &sparseRows{cols: make([][]int32, len(texts)), vals: make([][]float64, len(texts)), nc: len(all)}
	err := parallelChunksCtx(ctx, len(texts), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var cs []int32
			var vs []float64
			// feats[i] is sorted and col is increasing in the bucket, so
			// the kept columns come out sorted.
			for t, f := range feats[i] {
				c, ok := col[f]
				if !ok {
					continue
				}
				cs = append(cs, c)
				vs = append(vs, (1+math.Log(counts[i][t]))*(math.Log((1+n)/(1+float64(all[c].df)))+1))
			}
			var norm float64
			for _, v := range vs {
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
	})
	if err != nil {
		return nil, err
	}
	return s, nil
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
	a, err := tfidf(ctx, texts, maxf)
	if err != nil {
		return nil, fmt.Errorf("embed: lsa: %w", err)
	}
	if a.nc == 0 {
		return nil, fmt.Errorf("embed: lsa: the %d texts have no features", len(texts))
	}
	fit := a
	if fs := l.fitSample(); fs > 0 && len(texts) > fs {
		rng := rand.New(rand.NewPCG(l.Seed, 0xf17))
		idx := rng.Perm(len(texts))[:fs]
		sort.Ints(idx)
		fit = a.rows(idx)
	}
	_, s, v, err := RandomizedSVDContext(ctx, fit, dim, RSVDOptions{PowerIters: q, Seed: l.Seed})
	if err != nil {
		return nil, fmt.Errorf("embed: lsa: %w", err)
	}
	// Every text is projected, A·V (= U·diag(S) on the fitted rows in exact
	// arithmetic): each row is computed from its own TF-IDF row alone, in a
	// fixed order, so identical texts get bit-identical vectors (U·diag(S)
	// from the sketch's QR differs between identical rows in the last bits).
	// Components whose singular value is below 1e-10 of the largest span
	// only rounding noise (for example when all texts are equal) and are
	// set to zero.
	vr, k := v.Dims()
	for j := range k {
		if j < len(s) && s[j] <= 1e-10*s[0] {
			for i := range vr {
				v.Set(i, j, 0)
			}
		}
	}
	u := mat.NewDense(len(texts), k, nil)
	a.Mul(u, v)
	for j := range s {
		s[j] = 1
	}
	// Fix the sign of each component (largest-magnitude entry positive) so
	// results do not depend on the SVD's arbitrary signs.
	r, _ := u.Dims()
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
