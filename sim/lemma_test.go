package sim

import (
	"context"
	"testing"

	"github.com/ggmi-dev/ggmi/gmm"
)

// Lemma 3.1 holds in every round (up to Monte-Carlo error), with and
// without curation, and the check finds the violations when a term is
// deliberately mis-computed (the divergence term left out, or R_D off by
// more than the bound).
func TestLemma31Check(t *testing.T) {
	for _, q := range []float64{0, 0.2} {
		cfg := DefaultConfig()
		cfg.CurateQuantile = q
		cfg.Estimators = []Estimator{MC}
		viol, broken, wrongRD := 0, 0, 0
		const rounds = 30
		for i := range rounds {
			w, err := NewWorld(cfg, rng(uint64(100+i)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := measure(context.Background(), w, rng(uint64(200+i)))
			if err != nil {
				t.Fatal(err)
			}
			l := r.Lemma
			if l.C != DefaultLossCap || l.Err < 0 || l.Bound < 0 || l.Slack != l.Bound-l.Err || !(l.SlackSE > 0) {
				t.Fatalf("round %d: %+v", i, l)
			}
			if q == 0 && r.TVMGen.Value != 0 {
				t.Fatalf("TV(M, D_gen) = %g without curation", r.TVMGen.Value)
			}
			if l.Violation {
				viol++
			}
			// Mis-computed: the divergence term C·(TV + TV) left out.
			if CheckLemma31(l.C, l.RD, l.RDGen, l.RHat, gmm.Estimate{}, gmm.Estimate{}).Violation {
				broken++
			}
			// Mis-computed: R_D taken as R_D_gen (the risk on the wrong distribution)
			// and the generalisation term as zero.
			bad := CheckLemma31(l.C, gmm.Estimate{Value: l.RHat + 2*l.C*(r.TVGM.Value+r.TVMGen.Value) + 1, SE: l.RD.SE}, gmm.Estimate{Value: l.RHat}, l.RHat, r.TVGM, r.TVMGen)
			if bad.Violation {
				wrongRD++
			}
		}
		if viol > 2 {
			t.Errorf("curation %g: %d of %d rounds violate Lemma 3.1 beyond Monte-Carlo error", q, viol, rounds)
		}
		if broken < rounds/3 || wrongRD != rounds {
			t.Errorf("curation %g: the check found %d and %d violations of %d mis-computed rounds", q, broken, wrongRD, rounds)
		}
		t.Logf("curation %g: %d violations; without the divergence term %d of %d", q, viol, broken, rounds)
	}
}
