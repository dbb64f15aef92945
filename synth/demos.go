package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Selector chooses the k demonstrations e_demo of one prompt from the
// anchors. Select returns indices into anchors, distinct, and must depend only
// on the anchors, k and the seed.
type Selector interface {
	// Name names the method ("random", "stratified:category", "diverse").
	Name() string
	// Select returns k distinct indices (all of them when k ≥ len(anchors)).
	Select(anchors []dataset.Record, k int, seed uint64) ([]int, error)
}

// EmbedFunc turns texts into vectors, one per text.
type EmbedFunc func(texts []string) ([][]float32, error)

func rngFor(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// RandomSelector draws k anchors uniformly without replacement.
type RandomSelector struct{}

// Name implements Selector.
func (RandomSelector) Name() string { return "random" }

// Select implements Selector.
func (RandomSelector) Select(anchors []dataset.Record, k int, seed uint64) ([]int, error) {
	if err := checkK(anchors, k); err != nil {
		return nil, err
	}
	rng := rngFor(seed, 0xde30)
	k = min(k, len(anchors))
	return rng.Perm(len(anchors))[:k], nil
}

func checkK(anchors []dataset.Record, k int) error {
	if k < 0 {
		return fmt.Errorf("synth: select demos: negative k %d", k)
	}
	if k > 0 && len(anchors) == 0 {
		return fmt.Errorf("synth: select demos: no anchors")
	}
	return nil
}

// StratifiedSelector draws k anchors so that the strata of Field (see
// dataset.Record.Field, e.g. "category" or "meta.is_classification") are
// represented in proportion to their size: a stratum holding a share s of
// the anchors gets floor(k·s) or floor(k·s)+1 places, k·s on average over
// seeds (systematic sampling of the remainders), so even a small stratum
// appears in prompts with few demonstrations. Within a stratum the draw is
// uniform.
type StratifiedSelector struct {
	Field string
}

// Name implements Selector.
func (s StratifiedSelector) Name() string { return "stratified:" + s.Field }

// Select implements Selector.
func (s StratifiedSelector) Select(anchors []dataset.Record, k int, seed uint64) ([]int, error) {
	if err := checkK(anchors, k); err != nil {
		return nil, err
	}
	if s.Field == "" {
		return nil, fmt.Errorf("synth: stratified demos: no field given")
	}
	k = min(k, len(anchors))
	groups := map[string][]int{}
	var keys []string
	for i, r := range anchors {
		v := r.Field(s.Field)
		if _, ok := groups[v]; !ok {
			keys = append(keys, v)
		}
		groups[v] = append(groups[v], i)
	}
	slices.Sort(keys)
	rng := rngFor(seed, 0x57a7)
	// Each stratum gets the floor of its share q = k·size/len(anchors); the
	// places left over go to strata with probability equal to the fractional
	// parts of their shares (systematic sampling), so a stratum's expected
	// count is exactly q and every count is floor(q) or floor(q)+1.
	need := make([]int, len(keys))
	rem := make([]float64, len(keys))
	left := k
	for j, key := range keys {
		q := float64(k) * float64(len(groups[key])) / float64(len(anchors))
		f := int(math.Floor(q))
		need[j], rem[j] = f, q-float64(f)
		left -= f
	}
	if left > 0 {
		u := rng.Float64()
		cum := 0.0
		for j := range keys {
			if left == 0 {
				break
			}
			lo := cum
			cum += rem[j]
			// Stratum j is chosen when a point u, u+1, u+2, … falls in [lo, cum).
			if math.Floor(cum-u) > math.Floor(lo-u) && need[j] < len(groups[keys[j]]) {
				need[j]++
				rem[j] = 0
				left--
			}
		}
		// Rounding can leave a place over: give it to the largest remainders.
		for left > 0 {
			best := -1
			for j := range keys {
				if need[j] < len(groups[keys[j]]) && (best < 0 || rem[j] > rem[best]) {
					best = j
				}
			}
			if best < 0 {
				break
			}
			need[best]++
			rem[best] = -1
			left--
		}
	}
	var out []int
	for j, key := range keys {
		g := groups[key]
		perm := rng.Perm(len(g))
		for _, p := range perm[:need[j]] {
			out = append(out, g[p])
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// DiverseSelector picks maximally diverse demonstrations: the first at
// random (seeded), then greedily the anchor farthest (in cosine distance)
// from the ones already chosen, by the vectors Embed gives for each anchor's
// instruction and context. The vectors are computed once per set of anchors.
type DiverseSelector struct {
	Embed EmbedFunc

	mu   sync.Mutex
	key  [32]byte
	vecs [][]float32
}

// NewDiverseSelector returns a DiverseSelector over embed.
func NewDiverseSelector(embed EmbedFunc) *DiverseSelector {
	return &DiverseSelector{Embed: embed}
}

// Name implements Selector.
func (s *DiverseSelector) Name() string { return "diverse" }

// DemoText is the text of an anchor that DiverseSelector embeds: the
// instruction, followed by the context when there is one.
func DemoText(r dataset.Record) string {
	if r.Input == "" {
		return r.Instruction
	}
	return r.Instruction + "\n" + r.Input
}

func anchorsKey(anchors []dataset.Record) [32]byte {
	h := sha256.New()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(anchors)))
	h.Write(n[:])
	for _, r := range anchors {
		h.Write([]byte(r.ID))
		h.Write([]byte{0})
		h.Write([]byte(DemoText(r)))
		h.Write([]byte{0})
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

func (s *DiverseSelector) vectors(anchors []dataset.Record) ([][]float32, error) {
	key := anchorsKey(anchors)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vecs != nil && s.key == key {
		return s.vecs, nil
	}
	if s.Embed == nil {
		return nil, fmt.Errorf("synth: diverse demos: no embedding function")
	}
	texts := make([]string, len(anchors))
	for i, r := range anchors {
		texts[i] = DemoText(r)
	}
	vecs, err := s.Embed(texts)
	if err != nil {
		return nil, fmt.Errorf("synth: diverse demos: embed anchors: %w", err)
	}
	if len(vecs) != len(anchors) {
		return nil, fmt.Errorf("synth: diverse demos: %d vectors for %d anchors", len(vecs), len(anchors))
	}
	norm := make([][]float32, len(vecs))
	for i, v := range vecs {
		if len(v) != len(vecs[0]) {
			return nil, fmt.Errorf("synth: diverse demos: vector %d has dimension %d, want %d", i, len(v), len(vecs[0]))
		}
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		u := make([]float32, len(v))
		if ss > 0 && !math.IsInf(ss, 0) && !math.IsNaN(ss) {
			inv := 1 / math.Sqrt(ss)
			for j, x := range v {
				u[j] = float32(float64(x) * inv)
			}
		}
		norm[i] = u
	}
	s.key, s.vecs = key, norm
	return norm, nil
}

// Select implements Selector.
func (s *DiverseSelector) Select(anchors []dataset.Record, k int, seed uint64) ([]int, error) {
	if err := checkK(anchors, k); err != nil {
		return nil, err
	}
	k = min(k, len(anchors))
	if k == 0 {
		return []int{}, nil
	}
	vecs, err := s.vectors(anchors)
	if err != nil {
		return nil, err
	}
	rng := rngFor(seed, 0xd1e5)
	first := rng.IntN(len(anchors))
	out := []int{first}
	chosen := make([]bool, len(anchors))
	chosen[first] = true
	// dist[i] is the cosine distance of anchor i to the nearest chosen one.
	dist := make([]float64, len(anchors))
	for i := range dist {
		dist[i] = cosDist(vecs[i], vecs[first])
	}
	for len(out) < k {
		best, bestD := -1, -1.0
		for i, d := range dist {
			if !chosen[i] && d > bestD {
				best, bestD = i, d
			}
		}
		chosen[best] = true
		out = append(out, best)
		for i := range dist {
			if d := cosDist(vecs[i], vecs[best]); d < dist[i] {
				dist[i] = d
			}
		}
	}
	return out, nil
}

func cosDist(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return 1 - dot
}
