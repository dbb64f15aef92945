package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

// pool returns records whose token count (by lenCount) is given.
func pool(prefix string, sizes ...int) []dataset.Record {
	recs := make([]dataset.Record, len(sizes))
	for i, n := range sizes {
		recs[i] = dataset.Record{ID: fmt.Sprintf("%s%d", prefix, i), Output: strings.Repeat("x", n)}
	}
	return recs
}

func lenCount(r dataset.Record) int { return len(r.Output) }

func repeat(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

// Hand-checked mixes: ten real and ten synthetic records of 10 tokens each.
func TestMixTokenRatios(t *testing.T) {
	real, syn := pool("r", repeat(10, 10)...), pool("s", repeat(10, 10)...)
	cases := []struct {
		name       string
		r, s       float64
		budget     int
		want       MixReport
		realRecs   int
		synthRecs  int
		realSample bool
	}{
		// 100 tokens at 4:1: quotas 80 and 20, met exactly by 8 + 2 records.
		{"4:1 budget 100", 4, 1, 100, MixReport{Budget: 100, RealTarget: 80, SyntheticTarget: 20, RealTokens: 80, SyntheticTokens: 20, RealRecords: 8, SyntheticRecords: 2}, 8, 2, true},
		// Budget 0 at 1:1: both pools have 100 tokens, so the budget is 200.
		{"1:1 largest budget", 1, 1, 0, MixReport{Budget: 200, RealTarget: 100, SyntheticTarget: 100, RealTokens: 100, SyntheticTokens: 100, RealRecords: 10, SyntheticRecords: 10}, 10, 10, true},
		// 1:0 is real data only: the budget is the real pool.
		{"1:0", 1, 0, 0, MixReport{Budget: 100, RealTarget: 100, RealTokens: 100, RealRecords: 10}, 10, 0, true},
		// 0:1 with 50 tokens: five synthetic records.
		{"0:1 budget 50", 0, 1, 50, MixReport{Budget: 50, SyntheticTarget: 50, SyntheticTokens: 50, SyntheticRecords: 5}, 0, 5, false},
		// 4:1 with budget 0: min(100/0.8, 100/0.2) = 125 → quotas 100 and
		// 25; first fit takes two synthetic records (20 tokens), short by
		// less than one record.
		{"4:1 largest budget", 4, 1, 0, MixReport{Budget: 125, RealTarget: 100, SyntheticTarget: 25, RealTokens: 100, SyntheticTokens: 20, RealRecords: 10, SyntheticRecords: 2}, 10, 2, true},
		// 1:1 at 35 tokens: quotas round(17.5) = 18 and 17, one record each.
		{"1:1 budget 35", 1, 1, 35, MixReport{Budget: 35, RealTarget: 18, SyntheticTarget: 17, RealTokens: 10, SyntheticTokens: 10, RealRecords: 1, SyntheticRecords: 1}, 1, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rep, err := Mix(real, syn, MixOptions{Real: c.r, Synthetic: c.s, Budget: c.budget, Seed: 7, Count: lenCount})
			if err != nil {
				t.Fatal(err)
			}
			if rep != c.want {
				t.Fatalf("report %+v\nwant   %+v", rep, c.want)
			}
			nr, ns := 0, 0
			seen := map[string]bool{}
			for _, r := range got {
				if seen[r.ID] {
					t.Fatalf("record %s taken twice", r.ID)
				}
				seen[r.ID] = true
				if r.ID[0] == 'r' {
					nr++
				} else {
					ns++
				}
			}
			if nr != c.realRecs || ns != c.synthRecs {
				t.Fatalf("%d real and %d synthetic records, want %d and %d", nr, ns, c.realRecs, c.synthRecs)
			}
		})
	}
}

// First fit never exceeds a quota: three records of 6 tokens against a
// quota of 13 give two records (12 tokens) whatever the order.
func TestMixFirstFit(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		_, rep, err := Mix(pool("r", 6, 6, 6), nil, MixOptions{Real: 1, Budget: 13, Seed: seed, Count: lenCount})
		if err != nil {
			t.Fatal(err)
		}
		if rep.RealTokens != 12 || rep.RealRecords != 2 {
			t.Fatalf("seed %d: %+v", seed, rep)
		}
	}
	// Mixed sizes: the quota of 12 is met exactly in some orders (7+5,
	// 9+3), never exceeded, and what is left is smaller than every record
	// not taken.
	exact := 0
	for seed := uint64(0); seed < 20; seed++ {
		got, rep, err := Mix(pool("r", 7, 5, 3, 9), nil, MixOptions{Real: 1, Budget: 12, Seed: seed, Count: lenCount})
		if err != nil {
			t.Fatal(err)
		}
		if rep.RealTokens > 12 {
			t.Fatalf("seed %d: %d tokens for a quota of 12", seed, rep.RealTokens)
		}
		taken := map[int]bool{}
		for _, r := range got {
			taken[len(r.Output)] = true
		}
		for _, n := range []int{7, 5, 3, 9} {
			if !taken[n] && n <= 12-rep.RealTokens {
				t.Fatalf("seed %d: record of %d tokens left out with %d tokens of quota left", seed, n, 12-rep.RealTokens)
			}
		}
		if rep.RealTokens == 12 {
			exact++
		}
	}
	if exact == 0 {
		t.Fatal("no order met the quota exactly")
	}
}

func TestMixSeedsAndErrors(t *testing.T) {
	real, syn := pool("r", repeat(10, 10)...), pool("s", repeat(10, 10)...)
	ids := func(seed uint64) []string {
		got, _, err := Mix(real, syn, MixOptions{Real: 4, Synthetic: 1, Budget: 100, Seed: seed, Count: lenCount})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, r := range got {
			s = append(s, r.ID)
		}
		return s
	}
	if !slices.Equal(ids(3), ids(3)) {
		t.Fatal("equal seeds gave different mixes")
	}
	differ := false
	for seed := uint64(4); seed < 8 && !differ; seed++ {
		differ = !slices.Equal(ids(3), ids(seed))
	}
	if !differ {
		t.Fatal("different seeds always gave the same mix")
	}
	if _, _, err := Mix(real, syn, MixOptions{Real: 1, Synthetic: 1, Budget: 300, Count: lenCount}); !errors.Is(err, ErrNotEnoughData) {
		t.Fatalf("over budget: %v", err)
	}
	for _, bad := range []MixOptions{{Real: 0, Synthetic: 0}, {Real: -1, Synthetic: 1}, {Real: math.NaN(), Synthetic: 1}, {Real: 1, Budget: -5}} {
		if _, _, err := Mix(real, syn, bad); err == nil {
			t.Fatalf("options %+v accepted", bad)
		}
	}
	// The default counter counts words.
	_, rep, err := Mix([]dataset.Record{{ID: "a", Instruction: "one two", Output: "three"}}, nil, MixOptions{Real: 1})
	if err != nil || rep.RealTokens != 3 {
		t.Fatalf("word counts: %+v %v", rep, err)
	}
}
