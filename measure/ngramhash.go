package measure

import (
	"hash/fnv"
	"math"
	"slices"
	"sync"
)

// tokenHashes holds, per text, the 64-bit FNV-1a hashes of its whitespace
// tokens (lower-cased, as tokens does). N-grams are identified by a 64-bit
// hash of their token hashes: two different n-grams collide with
// probability about 2⁻⁶⁴ per pair (for 10⁷ n-grams, about 3·10⁻⁶ that any
// pair collides), which leaves the counts exact in practice and avoids
// building a string per n-gram.
type tokenHashes [][]uint64

func hashTokens(texts []string) tokenHashes {
	out := make(tokenHashes, len(texts))
	parallelRows(len(texts), func(i int) {
		tk := tokens(texts[i])
		hs := make([]uint64, len(tk))
		for j, t := range tk {
			h := fnv.New64a()
			h.Write([]byte(t))
			hs[j] = h.Sum64()
		}
		out[i] = hs
	})
	return out
}

// mix64 is the SplitMix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// grams appends the hashes of the n-grams of one text to dst.
func grams(dst []uint64, th []uint64, n int) []uint64 {
	for i := 0; i+n <= len(th); i++ {
		h := uint64(n) * 0x9e3779b97f4a7c15
		for _, t := range th[i : i+n] {
			h = mix64(h ^ t)
		}
		dst = append(dst, h)
	}
	return dst
}

// gramIndex numbers the distinct n-grams of one order over a corpus, so
// that statistics of resamples of the texts need no hashing or sorting.
type gramIndex struct {
	ids      [][]int32 // per text, the IDs of its n-grams in order
	sets     [][]int32 // per text, its distinct IDs, sorted
	distinct int       // number of distinct n-grams (IDs are 0..distinct−1)
	scratch  sync.Pool // *[]int32 of length distinct, all zero when pooled
}

// index numbers the n-grams of order n (IDs by rank in the sorted distinct
// hashes, so they do not depend on the number of goroutines).
func (th tokenHashes) index(n int) *gramIndex {
	h := make([][]uint64, len(th))
	total := 0
	for _, t := range th {
		total += max(len(t)-n+1, 0)
	}
	parallelRows(len(th), func(i int) { h[i] = grams(nil, th[i], n) })
	all := make([]uint64, 0, total)
	for _, x := range h {
		all = append(all, x...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	g := &gramIndex{ids: make([][]int32, len(th)), sets: make([][]int32, len(th)), distinct: len(all)}
	parallelRows(len(th), func(i int) {
		ids := make([]int32, len(h[i]))
		for j, x := range h[i] {
			k, _ := slices.BinarySearch(all, x)
			ids[j] = int32(k)
		}
		g.ids[i] = ids
		set := slices.Clone(ids)
		slices.Sort(set)
		g.sets[i] = slices.Compact(set)
	})
	return g
}

func (g *gramIndex) buf() *[]int32 {
	if b, ok := g.scratch.Get().(*[]int32); ok {
		return b
	}
	b := make([]int32, g.distinct)
	return &b
}

// counts returns the distinct and total n-grams of the texts at idx (a
// text drawn twice counts twice in the total); idx nil means every text.
func (g *gramIndex) counts(idx []int) (distinct, total int) {
	if idx == nil {
		for _, ids := range g.ids {
			total += len(ids)
		}
		return g.distinct, total
	}
	b := g.buf()
	seen := *b
	for _, i := range idx {
		total += len(g.ids[i])
		for _, id := range g.sets[i] {
			if seen[id] == 0 {
				seen[id] = 1
				distinct++
			}
		}
	}
	for _, i := range idx {
		for _, id := range g.sets[i] {
			seen[id] = 0
		}
	}
	g.scratch.Put(b)
	return distinct, total
}

// selfRepetition returns the mean over the texts at idx (all when nil) of
// log(1 + Σ_g (df(g) − 1)) over each text's distinct n-grams g, df counting
// the texts of the (re)sample that contain g; a text drawn twice counts
// twice.
func (g *gramIndex) selfRepetition(idx []int) float64 {
	if idx == nil {
		idx = make([]int, len(g.ids))
		for i := range idx {
			idx[i] = i
		}
	}
	b := g.buf()
	df := *b
	for _, i := range idx {
		for _, id := range g.sets[i] {
			df[id]++
		}
	}
	var v float64
	for _, i := range idx {
		var c float64
		for _, id := range g.sets[i] {
			c += float64(df[id] - 1)
		}
		v += math.Log(1 + c)
	}
	for _, i := range idx {
		for _, id := range g.sets[i] {
			df[id] = 0
		}
	}
	g.scratch.Put(b)
	return v / float64(len(idx))
}

// ngramRatios returns unique/total n-grams for each indexed order over the
// texts at idx (all when nil), and the first order with no n-gram (0 when
// every order has some; its ratio is 0).
func ngramRatios(ix []*gramIndex, idx []int) (ratios []float64, empty int) {
	ratios = make([]float64, len(ix))
	for k, g := range ix {
		d, t := g.counts(idx)
		if t == 0 {
			if empty == 0 {
				empty = k + 1
			}
			continue
		}
		ratios[k] = float64(d) / float64(t)
	}
	return ratios, empty
}

// ngramIndexes indexes the orders 1..maxN.
func (th tokenHashes) ngramIndexes(maxN int) []*gramIndex {
	out := make([]*gramIndex, maxN)
	for n := 1; n <= maxN; n++ {
		out[n-1] = th.index(n)
	}
	return out
}
