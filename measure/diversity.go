package measure

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/gmm"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// tokens splits on white space after lower-casing (the convention of the
// diversity baselines, which count whitespace tokens).
func tokens(s string) []string { return strings.Fields(strings.ToLower(s)) }

func ngrams(t []string, n int) []string {
	if len(t) < n {
		return nil
	}
	out := make([]string, 0, len(t)-n+1)
	for i := 0; i+n <= len(t); i++ {
		out = append(out, strings.Join(t[i:i+n], "\x00"))
	}
	return out
}

func checkTexts(texts []string, minN int) error {
	if len(texts) == 0 {
		return errors.New("measure: no texts")
	}
	if len(texts) < minN {
		return fmt.Errorf("measure: %d texts, need at least %d", len(texts), minN)
	}
	return nil
}

// NGramDiversity returns, for n = 1..maxN (0 means 4), the ratio of unique
// to total n-grams over the corpus (n-grams do not cross text boundaries),
// and combines them by combine: "mean" (default), "product" (Su et al.
// 2022's diversity is the product over n = 2..4 of 1 − rep-n, i.e. of these
// ratios) or "sum" (the NGD of Padmakumar & He 2024). The diversity paper
// lists "unique / total n-grams" as a baseline without fixing the
// combination, hence the option. Per-n ratios are in Settings["ratio_n"].
func NGramDiversity(texts []string, maxN int, combine string) (Result, error) {
	if err := checkTexts(texts, 1); err != nil {
		return Result{}, err
	}
	if maxN == 0 {
		maxN = 4
	}
	if maxN < 1 {
		return Result{}, fmt.Errorf("measure: n-gram order must be positive (got %d)", maxN)
	}
	// Counted on 64-bit n-gram hashes (see tokenHashes).
	ratios, empty := ngramRatios(hashTokens(texts).ngramIndexes(maxN), nil)
	if empty > 0 {
		return Result{}, fmt.Errorf("measure: no %d-grams in the texts", empty)
	}
	return ngramResult(ratios, maxN, combine, len(texts))
}

// ngramResult combines per-order ratios (see NGramDiversity).
func ngramResult(ratios []float64, maxN int, combine string, n int) (Result, error) {
	var v float64
	switch combine {
	case "", "mean":
		combine = "mean"
		for _, r := range ratios {
			v += r / float64(maxN)
		}
	case "product":
		v = 1
		for _, r := range ratios {
			v *= r
		}
	case "sum":
		for _, r := range ratios {
			v += r
		}
	default:
		return Result{}, fmt.Errorf("measure: unknown combination %q (want mean, product or sum)", combine)
	}
	return Result{Name: "ngram-diversity", Value: v, CI95: nanCI, N: n,
		Settings: map[string]any{"max_n": maxN, "combine": combine, "ratio_n": ratios}}, nil
}

// SelfRepetition is Salkar et al.'s (2022) self-repetition score as used by
// Shaib et al. (2024): the mean over texts of log(1 + Σ_g c(g)), g ranging
// over the distinct n-grams of the text (n = 4 by default) and c(g) the
// number of other texts that contain g. Higher is more repetitive.
func SelfRepetition(texts []string, n int) (Result, error) {
	if err := checkTexts(texts, 1); err != nil {
		return Result{}, err
	}
	if n == 0 {
		n = 4
	}
	if n < 1 {
		return Result{}, fmt.Errorf("measure: n-gram order must be positive (got %d)", n)
	}
	v := hashTokens(texts).index(n).selfRepetition(nil) // on 64-bit n-gram hashes (see tokenHashes)
	return Result{Name: "self-repetition", Value: v, CI95: nanCI, N: len(texts), Settings: map[string]any{"n": n}}, nil
}

// CompressionRatio is the size of the texts joined by newlines divided by
// the size of their gzip compression (default level); higher means more
// redundant (Shaib et al. 2024).
func CompressionRatio(texts []string) (Result, error) {
	if err := checkTexts(texts, 1); err != nil {
		return Result{}, err
	}
	raw := []byte(strings.Join(texts, "\n"))
	if len(raw) == 0 {
		return Result{}, errors.New("measure: compression ratio of empty texts")
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(raw); err != nil {
		return Result{}, fmt.Errorf("measure: gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return Result{}, fmt.Errorf("measure: gzip: %w", err)
	}
	return Result{Name: "compression-ratio", Value: float64(len(raw)) / float64(b.Len()), CI95: nanCI, N: len(texts),
		Settings: map[string]any{"raw_bytes": len(raw), "gzip_bytes": b.Len()}}, nil
}

// KMeans clusters the rows of x into k clusters with [gmm.KMeans]
// (greedy k-means++ seeding, Lloyd iterations with Hamerly's bounds) and
// returns the assignment. With at most k distinct points it opens one
// cluster per distinct point, so identical points share a cluster.
func KMeans(x [][]float64, k int, seed uint64) ([]int, error) {
	n, d, err := checkRows("k-means input", x, 1)
	if err != nil {
		return nil, err
	}
	if k < 1 || k > n {
		return nil, fmt.Errorf("measure: k-means needs 1 ≤ k ≤ n (k = %d, n = %d)", k, n)
	}
	// Distinct points, numbered in order of appearance.
	asg := make([]int, n)
	ids := map[string]int{}
	key := make([]byte, 8*d)
	for i, row := range x {
		for j, v := range row {
			binary.LittleEndian.PutUint64(key[8*j:], math.Float64bits(v+0)) // −0 as 0
		}
		id, ok := ids[string(key)]
		if !ok {
			id = len(ids)
			ids[string(key)] = id
		}
		asg[i] = id
	}
	if len(ids) <= k {
		return asg, nil
	}
	flat := make([]float64, 0, n*d)
	for _, row := range x {
		flat = append(flat, row...)
	}
	return gmm.KMeans(context.Background(), flat, d, k, seed, 1)
}

// KMeansEntropy is the entropy (nats) of the cluster sizes of a K-means
// clustering of the embeddings: log k for equal clusters, 0 for one.
func KMeansEntropy(x [][]float64, k int, seed uint64) (Result, error) {
	asg, err := KMeans(x, k, seed)
	if err != nil {
		return Result{}, err
	}
	h, err := DiscreteSE(asg)
	if err != nil {
		return Result{}, err
	}
	return Result{Name: "kmeans-entropy", Value: h, CI95: nanCI, N: len(x),
		Settings: map[string]any{"k": k, "seed": seed, "unit": "nats"}}, nil
}

// BLEU returns the sentence BLEU of hyp against refs (Papineni et al. 2002):
// geometric mean of clipped n-gram precisions for n = 1..maxN with uniform
// weights, times the brevity penalty with the closest reference length.
// Zero matches at an order are smoothed by ε = 0.1 (Chen & Cherry 2014,
// method 1, as nltk's SmoothingFunction().method1), except that no unigram
// match at all gives 0, as nltk's sentence_bleu does with any smoothing.
func BLEU(hyp []string, refs [][]string, maxN int) float64 {
	if len(hyp) == 0 {
		return 0
	}
	zeroUnigrams := false
	var logp float64
	for n := 1; n <= maxN; n++ {
		if n == 2 && zeroUnigrams {
			// nltk's corpus_bleu returns 0 when no unigram matches,
			// whatever the smoothing.
			return 0
		}
		h := ngrams(hyp, n)
		if len(h) == 0 {
			logp += math.Log(0.1/1) / float64(maxN)
			continue
		}
		maxRef := map[string]int{}
		for _, r := range refs {
			c := map[string]int{}
			for _, g := range ngrams(r, n) {
				c[g]++
			}
			for g, v := range c {
				maxRef[g] = max(maxRef[g], v)
			}
		}
		hc := map[string]int{}
		for _, g := range h {
			hc[g]++
		}
		m := 0
		for g, v := range hc {
			m += min(v, maxRef[g])
		}
		num := float64(m)
		if m == 0 {
			if n == 1 {
				zeroUnigrams = true
			}
			num = 0.1
		}
		logp += math.Log(num/float64(len(h))) / float64(maxN)
	}
	c := len(hyp)
	best := -1
	for _, r := range refs {
		if best < 0 || abs(len(r)-c) < abs(best-c) || (abs(len(r)-c) == abs(best-c) && len(r) < best) {
			best = len(r)
		}
	}
	bp := 1.0
	if c < best {
		bp = math.Exp(1 - float64(best)/float64(c))
	}
	if zeroUnigrams {
		return 0
	}
	return bp * math.Exp(logp)
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// SelfBLEU is the mean over texts of the BLEU (maxN = 0 means 4) of each
// text against all the others as references (Zhu et al. 2018); higher is
// less diverse. CI95 is mean ± 1.96·sd/√n over texts.
func SelfBLEU(texts []string, maxN int) (Result, error) {
	if err := checkTexts(texts, 2); err != nil {
		return Result{}, err
	}
	if maxN == 0 {
		maxN = 4
	}
	if maxN < 1 {
		return Result{}, fmt.Errorf("measure: BLEU order must be positive (got %d)", maxN)
	}
	tk := make([][]string, len(texts))
	for i, s := range texts {
		tk[i] = tokens(s)
	}
	vals := make([]float64, len(texts))
	for i := range tk {
		refs := make([][]string, 0, len(tk)-1)
		refs = append(refs, tk[:i]...)
		refs = append(refs, tk[i+1:]...)
		vals[i] = BLEU(tk[i], refs, maxN)
	}
	return meanResult("self-bleu", vals, map[string]any{"max_n": maxN, "smoothing": "epsilon 0.1"})
}

func meanResult(name string, vals []float64, set map[string]any) (Result, error) {
	m, sd := meanSD(vals)
	h := 1.96 * sd / math.Sqrt(float64(len(vals)))
	return Result{Name: name, Value: m, CI95: Interval{m - h, m + h}, N: len(vals), Settings: set}, nil
}

// Homogenization is the mean ROUGE-L F1 over all pairs i < j of texts
// (Padmakumar & He 2024), tokens as curate.Tokenize makes them (the module's
// one ROUGE-L tokeniser, rouge-score's default); higher is more
// homogeneous. O(n²) pairs. CI95 is mean ± 1.96·sd/√pairs (approximate:
// pairs share texts).
func Homogenization(texts []string) (Result, error) {
	if err := checkTexts(texts, 2); err != nil {
		return Result{}, err
	}
	tk := make([][]string, len(texts))
	for i, s := range texts {
		tk[i] = curate.Tokenize(s)
	}
	var vals []float64
	for i := range tk {
		for j := i + 1; j < len(tk); j++ {
			vals = append(vals, curate.RougeLF1(tk[i], tk[j]))
		}
	}
	return meanResult("homogenization", vals, map[string]any{"pairs": len(vals), "tokenizer": "curate.Tokenize (rouge-score default)"})
}

// Vendi is the Vendi score (Friedman & Dieng 2023) with the cosine kernel:
// exp(−Σ λ log λ) over the eigenvalues λ of K/n, K_ij = cos(x_i, x_j). It
// uses the d×d dual form XᵀX/n (same non-zero eigenvalues) when n > d.
// 1 for identical vectors, n for orthogonal ones. Zero rows are an error.
func Vendi(x [][]float64) (Result, error) {
	// Finiteness is checked as the rows are normalised.
	n, d, err := checkShape("Vendi input", x, 1)
	if err != nil {
		return Result{}, err
	}
	var k *mat.SymDense
	var err2 error
	if n > d {
		k, err2 = cosineGramDual(x)
	} else {
		k, err2 = cosineGramPrimal(x)
	}
	if err2 != nil {
		return Result{}, err2
	}
	var eig mat.EigenSym
	if !eig.Factorize(k, false) {
		return Result{}, errors.New("measure: Vendi: eigen-decomposition failed")
	}
	var h float64
	for _, l := range eig.Values(nil) {
		if l > 1e-12 {
			h -= l * math.Log(l)
		}
	}
	return Result{Name: "vendi", Value: math.Exp(h), CI95: nanCI, N: n,
		Settings: map[string]any{"kernel": "cosine", "dual": n > d}}, nil
}

// unitScale returns 1/‖r‖, or an error for a zero or non-finite row i.
func unitScale(r []float64, i int) (float64, error) {
	s := dotFast(r, r)
	switch {
	case s == 0:
		return 0, fmt.Errorf("measure: Vendi: row %d is zero (cosine undefined)", i)
	case s > math.MaxFloat64 || s != s: // overflow, ±Inf or NaN
		if !finiteRow(r) {
			return 0, fmt.Errorf("measure: Vendi input row %d is not finite", i)
		}
		return 1 / floats.Norm(r, 2), nil // gonum scales against overflow
	}
	return 1 / math.Sqrt(s), nil
}

// cosineGramPrimal is the n×n matrix XXᵀ/n of the unit rows of x: the
// products are inner products of stored rows, four at a time.
func cosineGramPrimal(x [][]float64) (*mat.SymDense, error) {
	n, d := len(x), len(x[0])
	v := make([][]float64, n)
	for i, r := range x {
		s, err := unitScale(r, i)
		if err != nil {
			return nil, err
		}
		v[i] = make([]float64, d)
		for j, t := range r {
			v[i][j] = t * s
		}
	}
	k := mat.NewSymDense(n, nil)
	raw := k.RawSymmetric()
	inv := 1 / float64(n)
	parallelRows(n, func(b int) {
		var out [4]float64
		for a0 := 0; a0 <= b; a0 += 4 {
			a1 := min(a0+4, b+1)
			dot4(v[a0:a1], v[b], &out)
			for a := a0; a < a1; a++ {
				raw.Data[a*raw.Stride+b] = out[a-a0] * inv
			}
		}
	})
	return k, nil
}

// floatPool recycles the large scratch slices of cosineGramDual, which
// the bootstrap calls hundreds of times: fresh memory would be faulted in
// page by page on every call.
var floatPool sync.Pool

// getFloats returns a zeroed slice of n float64s.
func getFloats(n int) []float64 {
	if p, ok := floatPool.Get().(*[]float64); ok && cap(*p) >= n {
		s := (*p)[:n]
		clear(s)
		return s
	}
	return make([]float64, n)
}

// putFloats gives s back to the pool.
func putFloats(s []float64) { floatPool.Put(&s) }

// gramLanes is the number of partial sums the dual Gram matrix is split
// into; blocks of rows go to lanes in turn and the lanes are added in
// order, so the result does not depend on the number of goroutines.
const gramLanes = 8

// cosineGramDual is the d×d matrix XᵀX/n of the unit rows of x (n > d).
// Rows are normalised in blocks small enough to stay in cache (stored
// row-major with the width padded to a multiple of 8 with zeros), and
// each block adds its UᵀU to its lane's partial sum tile by tile, upper
// triangle only: 4 × 8 at a time, each tile's sums in registers over
// the block's rows.
func cosineGramDual(x [][]float64) (*mat.SymDense, error) {
	n, d := len(x), len(x[0])
	ds := (d + 7) &^ 7
	blk := max(16, min(1024, 32768/ds))
	nb := (n + blk - 1) / blk
	lanes := min(gramLanes, nb)
	slab := getFloats(lanes * ds * ds) // the lanes' partial sums, row-major with stride ds
	defer putFloats(slab)
	errs := make([]error, lanes)
	errRow := make([]int, lanes)
	work := func(lane int, u []float64) {
		a := slab[lane*ds*ds : (lane+1)*ds*ds]
		for b := lane; b < nb; b += lanes {
			r0, r1 := b*blk, min((b+1)*blk, n)
			for i := r0; i < r1; i++ {
				s, err := unitScale(x[i], i)
				if err != nil {
					errs[lane], errRow[lane] = err, i
					return
				}
				floats.ScaleTo(u[(i-r0)*ds:(i-r0)*ds+d], s, x[i])
			}
			for p0 := 0; p0 < d; p0 += 4 {
				for q0 := p0 &^ 7; q0 < d; q0 += 8 {
					syrkTile(u, ds, r1-r0, p0, q0, a)
				}
			}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), lanes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := getFloats(blk * ds) // a block's unit rows; the padding stays zero
			defer putFloats(u)
			for l := int(next.Add(1)) - 1; l < lanes; l = int(next.Add(1)) - 1 {
				work(l, u)
			}
		}()
	}
	wg.Wait()
	// Each lane stops at its first bad row; the first of those is the
	// input's first, whatever the scheduling.
	for b := range nb {
		if err := errs[b%lanes]; err != nil && errRow[b%lanes] >= b*blk && errRow[b%lanes] < (b+1)*blk {
			return nil, err
		}
	}
	k := mat.NewSymDense(d, nil)
	raw := k.RawSymmetric()
	inv := 1 / float64(n)
	for r := range d {
		for c := r; c < d; c++ {
			var s float64
			for l := range lanes {
				s += slab[l*ds*ds+r*ds+c]
			}
			raw.Data[r*raw.Stride+c] = s * inv
		}
	}
	return k, nil
}
