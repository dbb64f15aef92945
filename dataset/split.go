package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// SplitOptions control Split.
type SplitOptions struct {
	// TestFraction is the share of records in the test set (0.2 when 0).
	TestFraction float64
	// Seed selects the split.
	Seed uint64
	// StratifyBy, when set, names a field (see Record.Field) whose values
	// are strata: each stratum is split in the same ratio.
	StratifyBy string
}

// Split divides records into a train and a test set, deterministically.
//
// Every record gets the key SHA-256(seed as 8 little-endian bytes ‖ ID); in
// each stratum (the whole set without StratifyBy) the round(n·TestFraction)
// records with the smallest keys form the test set. Membership therefore
// depends only on the seed, the IDs and the strata, not on the input order
// (records that share an ID are ordered by their position). Both outputs
// keep the input order.
func Split(recs []Record, opt SplitOptions) (train, test []Record, err error) {
	frac := opt.TestFraction
	if frac == 0 {
		frac = 0.2
	}
	if math.IsNaN(frac) || frac < 0 || frac > 1 {
		return nil, nil, fmt.Errorf("split: test fraction %v is not in [0, 1]", frac)
	}
	type item struct {
		key [32]byte
		idx int
	}
	strata := map[string][]item{}
	var names []string
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], opt.Seed)
	for i, r := range recs {
		s := ""
		if opt.StratifyBy != "" {
			s = r.Field(opt.StratifyBy)
		}
		if _, ok := strata[s]; !ok {
			names = append(names, s)
		}
		h := sha256.New()
		h.Write(seed[:])
		h.Write([]byte(r.ID))
		var it item
		copy(it.key[:], h.Sum(nil))
		it.idx = i
		strata[s] = append(strata[s], it)
	}
	inTest := make([]bool, len(recs))
	for _, s := range names {
		items := strata[s]
		sort.Slice(items, func(a, b int) bool {
			if c := compareKeys(items[a].key, items[b].key); c != 0 {
				return c < 0
			}
			return items[a].idx < items[b].idx
		})
		n := int(math.Round(float64(len(items)) * frac))
		for _, it := range items[:n] {
			inTest[it.idx] = true
		}
	}
	for i, r := range recs {
		if inTest[i] {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return train, test, nil
}

func compareKeys(a, b [32]byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
