package sim

import (
	"context"
	"testing"
)

// BenchmarkRound times one outer round at K=J=L=2 under each estimator:
// world, two EM fits and every Monte-Carlo term (mc), plus the reference's
// 100 inner histogram rounds (hist).
func BenchmarkRound(b *testing.B) {
	for _, e := range []Estimator{MC, Hist} {
		b.Run(string(e), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Estimators = []Estimator{e}
			for i := 0; i < b.N; i++ {
				if _, _, err := RunRound(cfg, 1, 0, 2, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFig4Protocol runs the whole Fig. 4 protocol (3 sweeps × 14 values
// × 100 rounds, mc with 2,000 draws) on every core. The goal is ≤ 20 s.
func BenchmarkFig4Protocol(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark")
	}
	for i := 0; i < b.N; i++ {
		_, err := Run(context.Background(), Options{Config: DefaultConfig(), Sweeps: []Var{VarK, VarJ, VarL}, From: 2, To: 15, Rounds: 100, Seed: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
	}
}
