package measure

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Pairing modes of HSIC and mutual information between S_gen and the anchors
// or the training set. The reverse-bottleneck paper (App. G.3.1, Table 2)
// does not say how it pairs them (NOTES §2); both natural choices are
// offered and the one used is written to Result.Settings["pairing"].
const (
	// PairProvenance pairs each synthetic record with the mean embedding of
	// the anchors shown in the prompt that produced it
	// (dataset.Provenance.DemoIDs): the S_anchor → p → S_gen chain.
	PairProvenance = "provenance"
	// PairSubsample draws equal-size seeded subsamples without replacement
	// from S_gen and the training set T and pairs them row by row (the
	// paper's "HSIC with the train set").
	PairSubsample = "subsample"
)

// Pairs are paired rows for HSIC and MI.
type Pairs struct {
	X, Y [][]float64
	Mode string
	// Gen holds, per pair, the row of the synthetic sample it came from.
	Gen []int
	// Unmatched counts synthetic rows left out (provenance mode: no demo ID
	// found among the anchors).
	Unmatched int
	// MissingDemos counts demo IDs not found among the anchors.
	MissingDemos int
}

// Settings describes the pairing for Result.Settings.
func (p Pairs) Settings() map[string]any {
	return map[string]any{"pairing": p.Mode, "pairs": len(p.X), "unmatched": p.Unmatched, "missing_demo_ids": p.MissingDemos}
}

// PairByProvenance pairs gen[i] with the mean of the anchor rows whose IDs
// are demoIDs[i]. anchorIDs[j] is the ID of anchors[j]. Synthetic rows with
// no known demo are left out (counted in Unmatched); IDs absent from the
// anchors are counted in MissingDemos. No pair at all is an error.
func PairByProvenance(gen [][]float64, demoIDs [][]string, anchors [][]float64, anchorIDs []string) (Pairs, error) {
	if len(demoIDs) != len(gen) {
		return Pairs{}, fmt.Errorf("measure: pairing: %d synthetic rows but %d demo lists", len(gen), len(demoIDs))
	}
	if len(anchorIDs) != len(anchors) {
		return Pairs{}, fmt.Errorf("measure: pairing: %d anchors but %d anchor IDs", len(anchors), len(anchorIDs))
	}
	if len(anchors) == 0 {
		return Pairs{}, errors.New("measure: pairing by provenance needs anchors")
	}
	pos := make(map[string]int, len(anchorIDs))
	for j, id := range anchorIDs {
		if _, dup := pos[id]; !dup {
			pos[id] = j
		}
	}
	d := len(anchors[0])
	p := Pairs{Mode: PairProvenance}
	for i, ids := range demoIDs {
		var mean []float64
		k := 0
		for _, id := range ids {
			j, ok := pos[id]
			if !ok {
				p.MissingDemos++
				continue
			}
			if len(anchors[j]) != d {
				return Pairs{}, fmt.Errorf("measure: pairing: anchor %q has %d values, want %d", id, len(anchors[j]), d)
			}
			if mean == nil {
				mean = make([]float64, d)
			}
			for t, v := range anchors[j] {
				mean[t] += v
			}
			k++
		}
		if k == 0 {
			p.Unmatched++
			continue
		}
		for t := range mean {
			mean[t] /= float64(k)
		}
		p.X = append(p.X, gen[i])
		p.Y = append(p.Y, mean)
		p.Gen = append(p.Gen, i)
	}
	if len(p.X) == 0 {
		return p, fmt.Errorf("measure: pairing by provenance: none of %d synthetic records names a known anchor in its demo IDs", len(gen))
	}
	return p, nil
}

// PairBySubsample draws m = min(len(gen), len(train), max) rows (max ≤ 0:
// no bound) from each sample without replacement, seeded, and pairs them in
// draw order. The pairing is arbitrary, so HSIC measures the dependence that
// survives it: under independence it estimates zero, and the paper's
// comparisons across generators use the same m and seed.
func PairBySubsample(gen, train [][]float64, max int, seed uint64) (Pairs, error) {
	if len(gen) == 0 || len(train) == 0 {
		return Pairs{}, fmt.Errorf("measure: subsample pairing needs both samples (have %d and %d rows)", len(gen), len(train))
	}
	m := min(len(gen), len(train))
	if max > 0 {
		m = min(m, max)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a17))
	gi := rng.Perm(len(gen))[:m]
	ti := rng.Perm(len(train))[:m]
	p := Pairs{Mode: PairSubsample, X: pickRows(gen, gi), Y: pickRows(train, ti), Gen: gi}
	return p, nil
}
