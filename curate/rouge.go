package curate

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/ggmi-dev/ggmi/dataset"
)

// LCS returns the length of the longest common subsequence of two token
// sequences, computed bit-parallel (Crochemore et al. 2001 / Hyyrö 2004):
// one word operation per 64 tokens of a for each token of b.
func LCS[T comparable](a, b []T) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	m := newMatcher(a)
	return m.lcs(b)
}

// matcher holds the match masks of a sequence a for bit-parallel LCS.
type matcher[T comparable] struct {
	m     int
	words int
	idx   map[T]int
	masks []uint64 // words per distinct token
	v     []uint64
}

func newMatcher[T comparable](a []T) *matcher[T] {
	w := (len(a) + 63) / 64
	mt := &matcher[T]{m: len(a), words: w, idx: make(map[T]int, len(a))}
	for i, t := range a {
		k, ok := mt.idx[t]
		if !ok {
			k = len(mt.idx)
			mt.idx[t] = k
			mt.masks = append(mt.masks, make([]uint64, w)...)
		}
		mt.masks[k*w+i/64] |= 1 << (uint(i) % 64)
	}
	mt.v = make([]uint64, w)
	return mt
}

// lcs returns LCS(a, b): V starts all ones; for each token y of b with
// match mask M, U = V & M and V = (V + U) | (V − U); the LCS is the number
// of zero bits among the first m bits of V.
func (mt *matcher[T]) lcs(b []T) int {
	v := mt.v
	for i := range v {
		v[i] = math.MaxUint64
	}
	w := mt.words
	for _, y := range b {
		k, ok := mt.idx[y]
		if !ok {
			continue
		}
		mask := mt.masks[k*w : (k+1)*w]
		if w == 1 {
			u := v[0] & mask[0]
			v[0] = (v[0] + u) | (v[0] - u)
			continue
		}
		var carry, borrow uint64
		for j := range v {
			u := v[j] & mask[j]
			var sum, diff uint64
			sum, carry = bits.Add64(v[j], u, carry)
			diff, borrow = bits.Sub64(v[j], u, borrow)
			v[j] = sum | diff
		}
	}
	zeros := 0
	for j := range v {
		x := v[j]
		if j == w-1 && mt.m%64 != 0 {
			x |= ^uint64(0) << (uint(mt.m) % 64)
		}
		zeros += 64 - bits.OnesCount64(x)
	}
	return zeros
}

// RougeLF1 is ROUGE-L F1 as the rouge-score package computes it with
// score(target, prediction): precision = LCS/len(prediction), recall =
// LCS/len(target), F1 = 2·P·R/(P + R), 0 when the LCS is 0.
func RougeLF1(target, prediction []string) float64 {
	return rougeF(LCS(target, prediction), len(target), len(prediction))
}

func rougeF(lcs, lt, lp int) float64 {
	if lcs == 0 || lt == 0 || lp == 0 {
		return 0
	}
	p := float64(lcs) / float64(lp)
	r := float64(lcs) / float64(lt)
	return 2 * p * r / (p + r)
}

// RougeL is the Self-Instruct similarity filter: a record is dropped when
// the maximum ROUGE-L F1 of its text (Field, "instruction" by default,
// tokenised as Tokenize does) against the anchors and the records kept
// before it exceeds Threshold (0.7). Details: "match" (the anchor or kept
// record with the highest score) and "rouge_l".
//
// Only pairs that can exceed the threshold are scored. F1 = 2·LCS/(|x|+|y|)
// and LCS ≤ o, the multiset overlap of the two token bags, so a pair needs
// o > θ(|x|+|y|)/2, which implies o > θ|x|/(2−θ) for each side. Token
// occurrences are ranked globally from rarest to most common; each text's
// prefix of |x| − α(x) + 1 rarest occurrences, with α(x) the smallest
// overlap allowed, must share an occurrence with the other's (prefix
// filtering), so an inverted index of prefixes yields the candidates, pruned
// further by length and by the positions of the matches (PPJoin); the
// survivors' exact overlap is checked before the bit-parallel LCS.
//
// Records are processed in blocks: each block's records are scored in
// parallel against the anchors and the records kept before the block, and
// against the earlier records of the block; the block is then resolved in
// order. The result is the sequential one, whatever the number of workers.
type RougeL struct {
	Field     string
	Anchors   []dataset.Record
	Threshold float64
	// Workers score in parallel (GOMAXPROCS when 0).
	Workers int
	// BlockSize is the number of records scored in parallel between two
	// updates of the index (2048 when 0).
	BlockSize int
}

// Name implements Filter.
func (f *RougeL) Name() string { return "rouge-l" }

type posting struct{ doc, pos int32 }

type invIndex struct {
	post [][]posting
	used []int32
}

func (ix *invIndex) add(doc int32, elems []int32, plen int) {
	for p, e := range elems[:plen] {
		if len(ix.post[e]) == 0 {
			ix.used = append(ix.used, e)
		}
		ix.post[e] = append(ix.post[e], posting{doc, int32(p)})
	}
}

func (ix *invIndex) reset() {
	for _, e := range ix.used {
		ix.post[e] = ix.post[e][:0]
	}
	ix.used = ix.used[:0]
}

type rougeCorpus struct {
	theta float64
	toks  [][]int32 // token ids per doc
	elems [][]int32 // sorted occurrence ranks per doc
	ids   []string
}

// alpha is the least overlap a text of l tokens needs with any partner.
func (c *rougeCorpus) alpha(l int) int {
	return int(math.Floor(c.theta*float64(l)/(2-c.theta)-1e-9)) + 1
}

func (c *rougeCorpus) prefixLen(l int) int {
	return min(max(l-c.alpha(l)+1, 0), l)
}

// need is the least overlap a pair of lengths lx, ly needs.
func (c *rougeCorpus) need(lx, ly int) int {
	return int(math.Floor(c.theta*float64(lx+ly)/2-1e-9)) + 1
}

type match struct {
	doc   int32
	score float64
}

type scratch struct {
	acc     []int32
	touched []int32
	cands   []int32
}

// probe returns the docs of ix (accepted by ok) whose ROUGE-L F1 with doc x
// exceeds θ.
func (c *rougeCorpus) probe(x int32, ix *invIndex, ok func(int32) bool, s *scratch, out []match) []match {
	ex := c.elems[x]
	lx := len(ex)
	if lx == 0 {
		return out
	}
	px := c.prefixLen(lx)
	minL := c.alpha(lx)
	maxL := int(math.Floor(float64(lx)*(2-c.theta)/c.theta + 1e-9))
	acc := s.acc
	s.touched = s.touched[:0]
	for i := 0; i < px; i++ {
		for _, p := range ix.post[ex[i]] {
			y := p.doc
			if !ok(y) {
				continue
			}
			ly := len(c.elems[y])
			if ly < minL || ly > maxL {
				continue
			}
			a := acc[y]
			if a < 0 {
				continue
			}
			if a == 0 {
				s.touched = append(s.touched, y)
			}
			if a+1+int32(min(lx-i-1, ly-int(p.pos)-1)) >= int32(c.need(lx, ly)) {
				acc[y] = a + 1
			} else {
				acc[y] = -1
			}
		}
	}
	s.cands = s.cands[:0]
	for _, y := range s.touched {
		if acc[y] > 0 && overlap(ex, c.elems[y]) >= c.need(lx, len(c.elems[y])) {
			s.cands = append(s.cands, y)
		}
		acc[y] = 0
	}
	if len(s.cands) == 0 {
		return out
	}
	slices.Sort(s.cands)
	mt := newMatcher(c.toks[x])
	for _, y := range s.cands {
		// rouge-score's score(new, existing): target x, prediction y.
		sc := rougeF(mt.lcs(c.toks[y]), lx, len(c.toks[y]))
		if sc > c.theta {
			out = append(out, match{y, sc})
		}
	}
	return out
}

func overlap(a, b []int32) int {
	i, j, n := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

// best picks the highest score, the lowest doc on ties.
func best(ms []match, ok func(int32) bool) (match, bool) {
	var b match
	found := false
	for _, m := range ms {
		if ok != nil && !ok(m.doc) {
			continue
		}
		if !found || m.score > b.score || m.score == b.score && m.doc < b.doc {
			b, found = m, true
		}
	}
	return b, found
}

// Apply implements Filter.
func (f *RougeL) Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error) {
	theta := f.Threshold
	if theta == 0 {
		theta = 0.7
	}
	if !(theta > 0 && theta < 1) {
		return nil, fmt.Errorf("threshold %v is not in (0, 1)", theta)
	}
	field := orField(f.Field, "instruction")
	na, n := len(f.Anchors), len(recs)
	total := na + n
	c := &rougeCorpus{theta: theta, toks: make([][]int32, total), elems: make([][]int32, total), ids: make([]string, total)}

	// Token ids, in order of first appearance.
	words := make([][]string, total)
	if err := parallelCtx(ctx, total, f.Workers, func(_, i int) {
		if i < na {
			words[i] = tokenizeCtx(ctx, f.Anchors[i].Field(field))
			c.ids[i] = f.Anchors[i].ID
		} else {
			words[i] = tokenizeCtx(ctx, recs[i-na].Field(field))
			c.ids[i] = recs[i-na].ID
		}
	}); err != nil {
		return nil, err
	}
	vocab := map[string]int32{}
	for i, ws := range words {
		t := make([]int32, len(ws))
		for j, w := range ws {
			if err := canceled(ctx, j); err != nil {
				return nil, err
			}
			id, ok := vocab[w]
			if !ok {
				id = int32(len(vocab))
				vocab[w] = id
			}
			t[j] = id
		}
		c.toks[i] = t
	}
	words = nil

	// Occurrence elements (token, k-th occurrence), ranked by document
	// frequency, rarest first.
	type occ = uint64
	df := map[occ]int32{}
	seen := map[int32]int32{}
	docOcc := make([][]occ, total)
	for i, t := range c.toks {
		clear(seen)
		o := make([]occ, len(t))
		for j, id := range t {
			if err := canceled(ctx, j); err != nil {
				return nil, err
			}
			k := seen[id]
			seen[id] = k + 1
			o[j] = uint64(id)<<32 | uint64(k)
			df[o[j]]++
		}
		docOcc[i] = o
	}
	// Order the elements by (frequency, element) with a radix sort that
	// checks ctx between passes (a comparison sort over millions of
	// elements of one huge document cannot be interrupted).
	keys := make([]keyDF, 0, len(df))
	for k, d := range df {
		keys = append(keys, keyDF{k, d})
	}
	keys, err := radixSortKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	rank := make(map[occ]int32, len(keys))
	for r, k := range keys {
		if err := canceled(ctx, r); err != nil {
			return nil, err
		}
		rank[k.k] = int32(r)
	}
	for i, o := range docOcc {
		e := make([]int32, len(o))
		for j, k := range o {
			if err := canceled(ctx, j); err != nil {
				return nil, err
			}
			e[j] = rank[k]
		}
		slices.Sort(e)
		c.elems[i] = e
	}
	docOcc, df, rank = nil, nil, nil

	main := &invIndex{post: make([][]posting, len(keys))}
	block := &invIndex{post: make([][]posting, len(keys))}
	for a := range na {
		main.add(int32(a), c.elems[a], c.prefixLen(len(c.elems[a])))
	}
	kept := make([]bool, total)
	for a := range na {
		kept[a] = true
	}
	nw := workers(f.Workers)
	scr := make([]*scratch, nw)
	for w := range scr {
		scr[w] = &scratch{acc: make([]int32, total)}
	}
	bs := f.BlockSize
	if bs <= 0 {
		bs = 2048
	}
	out := make([]Verdict, n)
	ext := make([]match, bs)
	extOK := make([]bool, bs)
	intra := make([][]match, bs)
	all := func(int32) bool { return true }
	for start := 0; start < n; start += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+bs, n)
		block.reset()
		for i := start; i < end; i++ {
			d := int32(na + i)
			block.add(d, c.elems[d], c.prefixLen(len(c.elems[d])))
		}
		if err := parallelCtx(ctx, end-start, nw, func(w, k int) {
			x := int32(na + start + k)
			ms := c.probe(x, main, all, scr[w], nil)
			ext[k], extOK[k] = best(ms, nil)
			intra[k] = c.probe(x, block, func(y int32) bool { return y < x }, scr[w], intra[k][:0])
		}); err != nil {
			return nil, err
		}
		for k := 0; k < end-start; k++ {
			x := na + start + k
			m, found := ext[k], extOK[k]
			if mi, ok := best(intra[k], func(y int32) bool { return kept[y] }); ok {
				if !found || mi.score > m.score || mi.score == m.score && mi.doc < m.doc {
					m, found = mi, true
				}
			}
			if found {
				out[x-na] = Verdict{Remove: true, Reason: fmt.Sprintf("rouge-l > %g", theta), Detail: map[string]any{"match": c.ids[m.doc], "rouge_l": m.score}}
				continue
			}
			kept[x] = true
			main.add(int32(x), c.elems[x], c.prefixLen(len(c.elems[x])))
		}
	}
	return out, nil
}

// keyDF is an occurrence element and its document frequency.
type keyDF struct {
	k  uint64
	df int32
}

// radixSortKeys sorts keys by (df, k) ascending: an LSD radix sort over
// the 8 bytes of k, then the 4 bytes of df, skipping passes whose byte is
// the same everywhere; ctx is checked between passes.
func radixSortKeys(ctx context.Context, keys []keyDF) ([]keyDF, error) {
	tmp := make([]keyDF, len(keys))
	byteOf := func(e keyDF, pass int) int {
		if pass < 8 {
			return int(e.k >> (8 * pass) & 0xff)
		}
		return int(uint32(e.df) >> (8 * (pass - 8)) & 0xff)
	}
	for pass := range 12 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var count [257]int
		for _, e := range keys {
			count[byteOf(e, pass)+1]++
		}
		if slices.Contains(count[1:], len(keys)) {
			continue
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, e := range keys {
			b := byteOf(e, pass)
			tmp[count[b]] = e
			count[b]++
		}
		keys, tmp = tmp, keys
	}
	return keys, ctx.Err()
}
