package curate

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/ggmi-dev/ggmi/dataset"
)

// CandidateProbability is the S-curve of banded LSH: the probability that
// two sets of Jaccard similarity s share at least one of b bands of r rows,
// 1 − (1 − s^r)^b.
func CandidateProbability(s float64, bands, rows int) float64 {
	return 1 - math.Pow(1-math.Pow(s, float64(rows)), float64(bands))
}

// integrate approximates ∫_a^b f by Simpson's rule on 128 intervals.
func integrate(f func(float64) float64, a, b float64) float64 {
	const n = 128
	h := (b - a) / n
	sum := f(a) + f(b)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(a+float64(i)*h)
	}
	return sum * h / 3
}

// LSHParams chooses b bands of r rows (b·r ≤ numPerm) for a Jaccard
// threshold t, as datasketch does: the pair minimising
// wFP·∫_0^t P(s) ds + wFN·∫_t^1 (1 − P(s)) ds, the weighted areas of false
// positives and false negatives, where P is CandidateProbability and
// wFN = 1 − wFP. The S-curve's steep part sits near (1/b)^(1/r). With
// datasketch's equal weights, t = 0.8 and 128 permutations give 9 bands of
// 13 rows, which finds a pair at J = 0.8 only 40% of the time; since
// candidates are confirmed exactly, NearDedup weighs false negatives more.
func LSHParams(t float64, numPerm int, wFP float64) (bands, rows int) {
	best := math.Inf(1)
	for b := 1; b <= numPerm; b++ {
		for r := 1; r <= numPerm/b; r++ {
			fp := integrate(func(s float64) float64 { return CandidateProbability(s, b, r) }, 0, t)
			fn := integrate(func(s float64) float64 { return 1 - CandidateProbability(s, b, r) }, t, 1)
			if e := wFP*fp + (1-wFP)*fn; e < best {
				best, bands, rows = e, b, r
			}
		}
	}
	return bands, rows
}

// splitmix64 is a fast, well-mixed 64-bit hash step.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// MinHasher computes MinHash signatures of shingle sets: permutation i maps
// a shingle hash h to splitmix64(h ⊕ seed_i), with the seeds drawn from the
// hasher's seed.
type MinHasher struct {
	seeds []uint64
}

// NewMinHasher returns a hasher with numPerm seeded permutations.
func NewMinHasher(numPerm int, seed uint64) *MinHasher {
	m := &MinHasher{seeds: make([]uint64, numPerm)}
	s := seed
	for i := range m.seeds {
		s = splitmix64(s)
		m.seeds[i] = s
	}
	return m
}

// Signature returns the MinHash signature of a set of shingle hashes.
func (m *MinHasher) Signature(shingles []uint64) []uint64 {
	sig := make([]uint64, len(m.seeds))
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	for _, h := range shingles {
		for i, s := range m.seeds {
			if v := splitmix64(h ^ s); v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

// EstimateJaccard is the share of equal signature components.
func EstimateJaccard(a, b []uint64) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// Jaccard is the exact Jaccard similarity of two sorted sets without
// repeats; two empty sets have similarity 1.
func Jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Shingles returns the sorted set of hashes of the k-shingles of the
// normalised text: k consecutive words (chars false) or k consecutive
// characters (chars true). A text shorter than k gives one shingle, itself;
// an empty text none.
func Shingles(text string, k int, chars bool) []uint64 {
	norm := Normalize(text)
	if norm == "" {
		return nil
	}
	k = max(k, 1)
	var units []string
	if chars {
		for _, r := range norm {
			units = append(units, string(r))
		}
	} else {
		units = strings.Split(norm, " ")
	}
	sep := " "
	if chars {
		sep = ""
	}
	hashOf := func(parts []string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(strings.Join(parts, sep)))
		return h.Sum64()
	}
	var out []uint64
	if len(units) <= k {
		out = []uint64{hashOf(units)}
	} else {
		out = make([]uint64, 0, len(units)-k+1)
		for i := 0; i+k <= len(units); i++ {
			out = append(out, hashOf(units[i:i+k]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// NearDedup drops records whose text is a near-duplicate of an earlier
// kept record: MinHash signatures over shingles, banded LSH to find
// candidates, and the exact Jaccard similarity of the shingle sets to
// confirm them (J ≥ Threshold). Details: "match" (the kept record's ID) and
// "jaccard".
type NearDedup struct {
	// Fields are joined to make the text (instruction and input by default).
	Fields []string
	// Chars shingles by characters instead of words.
	Chars bool
	// K is the shingle size (3 words or 5 characters by default).
	K int
	// NumPerm is the signature length (128 by default).
	NumPerm int
	// Threshold is the Jaccard similarity at and above which a record is a
	// near-duplicate (0.8 by default).
	Threshold float64
	// FalsePositiveWeight weighs candidate pairs below the threshold
	// against missed pairs above it when choosing bands and rows
	// (LSHParams); 0.02 when 0, so that pairs at the threshold are found
	// with probability ≥ 0.95 at the default settings (17 bands of 7 rows:
	// P(0.8) = 0.98, P(0.5) = 0.12).
	FalsePositiveWeight float64
	// Seed selects the permutations.
	Seed uint64
	// Workers compute signatures in parallel (GOMAXPROCS when 0).
	Workers int
}

// Name implements Filter.
func (f *NearDedup) Name() string { return "near-dedup" }

// Apply implements Filter.
func (f *NearDedup) Apply(ctx context.Context, recs []dataset.Record) ([]Verdict, error) {
	fields := orFields(f.Fields, "instruction", "input")
	t := f.Threshold
	if t == 0 {
		t = 0.8
	}
	if !(t > 0 && t <= 1) {
		return nil, fmt.Errorf("threshold %v is not in (0, 1]", t)
	}
	k := f.K
	if k == 0 {
		k = 3
		if f.Chars {
			k = 5
		}
	}
	np := f.NumPerm
	if np == 0 {
		np = 128
	}
	if np < 1 {
		return nil, fmt.Errorf("number of permutations %d < 1", np)
	}
	wfp := f.FalsePositiveWeight
	if wfp == 0 {
		wfp = 0.02
	}
	if !(wfp > 0 && wfp < 1) {
		return nil, fmt.Errorf("false-positive weight %v is not in (0, 1)", wfp)
	}
	bands, rows := LSHParams(t, np, wfp)
	mh := NewMinHasher(np, f.Seed)
	sh := make([][]uint64, len(recs))
	keys := make([][]uint64, len(recs)) // one key per band
	if err := parallelCtx(ctx, len(recs), f.Workers, func(_, i int) {
		sh[i] = Shingles(textOf(recs[i], fields), k, f.Chars)
		if len(sh[i]) == 0 {
			return
		}
		sig := mh.Signature(sh[i])
		keys[i] = make([]uint64, bands)
		for b := range bands {
			h := uint64(b) * 0x9e3779b97f4a7c15
			for _, v := range sig[b*rows : (b+1)*rows] {
				h = splitmix64(h ^ v)
			}
			keys[i][b] = h
		}
	}); err != nil {
		return nil, err
	}
	buckets := make([]map[uint64][]int32, bands)
	for b := range buckets {
		buckets[b] = map[uint64][]int32{}
	}
	out := make([]Verdict, len(recs))
	stamp := make([]int32, len(recs))
	var cands []int32
	for i := range recs {
		if err := canceled(ctx, i); err != nil {
			return nil, err
		}
		if keys[i] == nil {
			continue // empty text: nothing to compare
		}
		cands = cands[:0]
		for b, key := range keys[i] {
			for _, j := range buckets[b][key] {
				if stamp[j] != int32(i)+1 {
					stamp[j] = int32(i) + 1
					cands = append(cands, j)
				}
			}
		}
		slices.Sort(cands)
		dup := false
		for _, j := range cands {
			if s := Jaccard(sh[i], sh[j]); s >= t {
				out[i] = Verdict{Remove: true, Reason: "near duplicate", Detail: map[string]any{"match": recs[j].ID, "jaccard": s}}
				dup = true
				break
			}
		}
		if !dup {
			for b, key := range keys[i] {
				buckets[b][key] = append(buckets[b][key], int32(i))
			}
		}
	}
	return out, nil
}
