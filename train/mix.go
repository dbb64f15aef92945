package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ggmi-dev/ggmi/dataset"
)

// MixOptions control Mix.
type MixOptions struct {
	// Real and Synthetic are the ratio of real to synthetic tokens, e.g.
	// 4 and 1 for 4:1; 1 and 0 is real data only, 0 and 1 synthetic only.
	Real, Synthetic float64
	// Budget is the total number of tokens of the mix. 0 means the largest
	// budget both pools can fill at the ratio.
	Budget int
	// Seed selects the records and their order.
	Seed uint64
	// Count returns a record's number of tokens (PromptTemplate.TokenCounter
	// for the built-in engine); WordCount when nil.
	Count func(dataset.Record) int
}

// MixReport describes a mix.
type MixReport struct {
	// Budget is the total token budget used (the computed one when
	// MixOptions.Budget was 0).
	Budget int `json:"budget"`
	// RealTarget and SyntheticTarget are the token quotas of each pool:
	// RealTarget = round(Budget·Real/(Real+Synthetic)), SyntheticTarget the
	// rest.
	RealTarget      int `json:"real_target"`
	SyntheticTarget int `json:"synthetic_target"`
	// RealTokens and SyntheticTokens are the tokens taken (at most the
	// targets).
	RealTokens      int `json:"real_tokens"`
	SyntheticTokens int `json:"synthetic_tokens"`
	// RealRecords and SyntheticRecords count the records taken.
	RealRecords      int `json:"real_records"`
	SyntheticRecords int `json:"synthetic_records"`
}

// ErrNotEnoughData is returned by Mix when a pool holds fewer tokens than
// its quota.
var ErrNotEnoughData = errors.New("not enough data for the token budget")

// Mix draws a training set from real and synthetic records so that their
// token counts follow the ratio Real:Synthetic within a fixed total
// budget.
//
// Each pool is shuffled with its own stream of the seed and scanned once
// in that order; a record is taken when its tokens fit in what remains of
// the pool's quota (first fit), so a pool's tokens never exceed its quota
// and fall short of it by less than the size of its smallest remaining
// record. The records taken from both pools are then shuffled together.
// A pool whose total is below its quota gives ErrNotEnoughData.
func Mix(real, synthetic []dataset.Record, opt MixOptions) ([]dataset.Record, MixReport, error) {
	var rep MixReport
	r, s := opt.Real, opt.Synthetic
	if math.IsNaN(r) || math.IsNaN(s) || math.IsInf(r, 0) || math.IsInf(s, 0) || r < 0 || s < 0 || r+s <= 0 {
		return nil, rep, fmt.Errorf("mix: invalid ratio %g:%g (want non-negative parts, not both zero)", r, s)
	}
	if opt.Budget < 0 {
		return nil, rep, fmt.Errorf("mix: negative token budget %d", opt.Budget)
	}
	count := opt.Count
	if count == nil {
		count = WordCount
	}
	realCounts, realTotal, err := counts(real, count, "real")
	if err != nil {
		return nil, rep, err
	}
	synCounts, synTotal, err := counts(synthetic, count, "synthetic")
	if err != nil {
		return nil, rep, err
	}
	fr := r / (r + s)
	budget := opt.Budget
	if budget == 0 {
		b := math.Inf(1)
		if r > 0 {
			b = math.Min(b, float64(realTotal)/fr)
		}
		if s > 0 {
			b = math.Min(b, float64(synTotal)/(1-fr))
		}
		// The floor can round the real quota up past the pool: step down.
		budget = int(math.Floor(b + 1e-9))
		for budget > 0 && (int(math.Round(float64(budget)*fr)) > realTotal || budget-int(math.Round(float64(budget)*fr)) > synTotal) {
			budget--
		}
	}
	rep.Budget = budget
	rep.RealTarget = int(math.Round(float64(budget) * fr))
	rep.SyntheticTarget = budget - rep.RealTarget
	if rep.RealTarget > realTotal {
		return nil, rep, fmt.Errorf("mix: real quota %d tokens, pool has %d: %w", rep.RealTarget, realTotal, ErrNotEnoughData)
	}
	if rep.SyntheticTarget > synTotal {
		return nil, rep, fmt.Errorf("mix: synthetic quota %d tokens, pool has %d: %w", rep.SyntheticTarget, synTotal, ErrNotEnoughData)
	}
	realIdx, realTok := firstFit(realCounts, rep.RealTarget, rand.New(rand.NewPCG(opt.Seed, 0x7265616c)))
	synIdx, synTok := firstFit(synCounts, rep.SyntheticTarget, rand.New(rand.NewPCG(opt.Seed, 0x73796e)))
	rep.RealTokens, rep.SyntheticTokens = realTok, synTok
	rep.RealRecords, rep.SyntheticRecords = len(realIdx), len(synIdx)
	out := make([]dataset.Record, 0, len(realIdx)+len(synIdx))
	for _, i := range realIdx {
		out = append(out, real[i])
	}
	for _, i := range synIdx {
		out = append(out, synthetic[i])
	}
	rand.New(rand.NewPCG(opt.Seed, 0x6d6978)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, rep, nil
}

// counts returns the token count of every record and their sum.
func counts(recs []dataset.Record, count func(dataset.Record) int, pool string) ([]int, int, error) {
	c := make([]int, len(recs))
	total := 0
	for i, r := range recs {
		c[i] = count(r)
		if c[i] < 0 {
			return nil, 0, fmt.Errorf("mix: %s record %d: negative token count %d", pool, i, c[i])
		}
		total += c[i]
	}
	return c, total, nil
}

// firstFit shuffles the indices of counts with rng and takes, in that
// order, every record that fits in the remaining quota. It returns the
// indices taken (in the shuffled order) and their tokens.
func firstFit(counts []int, quota int, rng *rand.Rand) ([]int, int) {
	if quota <= 0 {
		return nil, 0
	}
	order := rng.Perm(len(counts))
	var idx []int
	used := 0
	for _, i := range order {
		if used+counts[i] <= quota && counts[i] > 0 {
			idx = append(idx, i)
			used += counts[i]
			if used == quota {
				break
			}
		}
	}
	return idx, used
}
