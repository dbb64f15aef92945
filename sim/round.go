package sim

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/ggmi-dev/ggmi/gmm"
)

// Round holds the measurements of one outer round: one world, its fits and
// every quantity of the theory this world makes computable. Estimates carry
// Monte-Carlo standard errors; histogram values are NaN when their
// estimator was not requested.
type Round struct {
	Sweep   string `json:"sweep"` // swept variable (K, J, L) or "" for a single point
	Value   int    `json:"value"` // its value
	Index   int    `json:"round"` // outer round index
	K, J, L int

	// KL(π_anchor‖G) and KL(π_gen‖G) (the paper's direction), and the
	// reverse KL(G‖π_anchor), KL(G‖π_gen).
	KLAnchorG, KLGenG gmm.Estimate
	KLGAnchor, KLGGen gmm.Estimate
	// KL Gap by the Monte-Carlo estimator in both directions.
	GapModelGT, GapGTModel gmm.Estimate
	// KL Gap by the histogram estimators, averaged over the inner rounds.
	HistModelGT, HistGTModel             float64
	HistSharedModelGT, HistSharedGTModel float64

	// Lemma 3.1's divergences: task divergence TV(G, M) (the target D is G)
	// and generation divergence TV(M, D_gen), D_gen being M after curation
	// (exactly 0 without curation).
	TVGM, TVMGen gmm.Estimate
	// Thm 4.10's entropies: H(S_anchor) of the anchor distribution, H(S_gen)
	// of D_gen, and ΔH = H(S_anchor) − H(S_gen), in nats.
	HAnchor, HGen, DeltaH gmm.Estimate

	// Lemma 3.1 checked with the bounded loss ℓ(x) = clip(−log π_gen(x), 0, C).
	Lemma Lemma31

	// Sizes and EM diagnostics.
	AnchorN, SyntheticN     int
	EMIterAnchor, EMIterGen int
	EMConverged             bool
}

// Gap returns the round's KL Gap under an estimator and direction.
func (r *Round) Gap(e Estimator, d Direction) float64 {
	switch {
	case e == MC && d == ModelGT:
		return r.GapModelGT.Value
	case e == MC && d == GTModel:
		return r.GapGTModel.Value
	case e == Hist && d == ModelGT:
		return r.HistModelGT
	case e == Hist && d == GTModel:
		return r.HistGTModel
	case e == HistShared && d == ModelGT:
		return r.HistSharedModelGT
	case e == HistShared && d == GTModel:
		return r.HistSharedGTModel
	}
	return math.NaN()
}

func diffEstimate(a, b gmm.Estimate) gmm.Estimate {
	return gmm.Estimate{Value: a.Value - b.Value, SE: math.Hypot(a.SE, b.SE), N: a.N}
}

// measure computes every quantity of a round on world w.
func measure(ctx context.Context, w *World, rng *rand.Rand) (Round, error) {
	cfg := w.Config
	n := cfg.MCSamples
	pa, pg := w.PiAnchor.Model, w.PiGen.Model
	r := Round{
		K: cfg.K, J: cfg.J, L: cfg.L,
		AnchorN: len(w.AnchorLabels), SyntheticN: len(w.SynthLabels),
		EMIterAnchor: w.PiAnchor.Iterations, EMIterGen: w.PiGen.Iterations,
		EMConverged: w.PiAnchor.Converged && w.PiGen.Converged,
		HistModelGT: math.NaN(), HistGTModel: math.NaN(),
		HistSharedModelGT: math.NaN(), HistSharedGTModel: math.NaN(),
	}
	d := cfg.Dim
	x := make([]float64, n*d)
	l1 := make([]float64, n)
	l2 := make([]float64, n)
	l3 := make([]float64, n)
	l4 := make([]float64, n)
	klFrom := func(p, q *gmm.Mixture) gmm.Estimate {
		p.SampleInto(rng, x, nil)
		return gmm.MeanSE(gmm.KLTerms(p.LogProbs(x, l1), q.LogProbs(x, l2)))
	}
	// Paper's direction: draws from each fitted model.
	r.KLAnchorG = klFrom(pa, w.G)
	r.KLGenG = klFrom(pg, w.G)
	r.GapModelGT = diffEstimate(r.KLAnchorG, r.KLGenG)
	if err := ctx.Err(); err != nil {
		return r, err
	}

	// Draws from G serve the reverse KLs (paired) and TV(G, M).
	w.G.SampleInto(rng, x, nil)
	lg := w.G.LogProbs(x, l1)
	la := pa.LogProbs(x, l2)
	lgen := pg.LogProbs(x, l3)
	lm := w.M.LogProbs(x, l4)
	r.KLGAnchor = gmm.MeanSE(gmm.KLTerms(lg, la))
	r.KLGGen = gmm.MeanSE(gmm.KLTerms(lg, lgen))
	r.GapGTModel = gmm.MeanSE(gmm.KLTerms(lgen, la)) // KL(G‖πa) − KL(G‖πgen), paired
	r.TVGM = gmm.MeanSE(gmm.TVTerms(lg, lm))
	c := cfg.lossCap()
	rd := gmm.MeanSE(clippedLoss(lgen, c))
	if err := ctx.Err(); err != nil {
		return r, err
	}

	// H(S_anchor).
	w.AnchorDist.SampleInto(rng, x, nil)
	r.HAnchor = gmm.MeanSE(gmm.EntropyTerms(w.AnchorDist.LogProbs(x, l1)))

	// D_gen = M restricted to {log g > threshold}, renormalised.
	w.M.SampleInto(rng, x, nil)
	lmm := w.M.LogProbs(x, l1)
	lossM := clippedLoss(pg.LogProbs(x, l3), c)
	var rdgen gmm.Estimate
	var keptLoss []float64
	if math.IsInf(w.LogGThreshold, -1) {
		r.TVMGen = gmm.Estimate{Value: 0, SE: 0, N: n}
		r.HGen = gmm.MeanSE(gmm.EntropyTerms(lmm))
		rdgen = gmm.MeanSE(lossM)
	} else {
		lgm := w.G.LogProbs(x, l2)
		rejected := make([]float64, n)
		var kept []float64
		for i := range n {
			if lgm[i] > w.LogGThreshold {
				kept = append(kept, -lmm[i])
				keptLoss = append(keptLoss, lossM[i])
			} else {
				rejected[i] = 1
			}
		}
		// TV(M, M|A) = M(Aᶜ), the rejected mass.
		r.TVMGen = gmm.MeanSE(rejected)
		if len(kept) > 1 {
			h := gmm.MeanSE(kept)
			// −E[log(m/Z)] = −E[log m] + log Z with Z = M(A).
			h.Value += math.Log(float64(len(kept)) / float64(n))
			r.HGen = h
		} else {
			r.HGen = gmm.Estimate{Value: math.NaN(), SE: math.NaN(), N: len(kept)}
		}
	}
	r.DeltaH = diffEstimate(r.HAnchor, r.HGen)
	if !math.IsInf(w.LogGThreshold, -1) {
		rdgen = gmm.MeanSE(keptLoss) // self-normalised over the accepted draws of M
	}
	rhat := gmm.MeanSE(clippedLoss(pg.LogProbs(w.Synthetic, nil), c)).Value
	r.Lemma = CheckLemma31(c, rd, rdgen, rhat, r.TVGM, r.TVMGen)

	if err := ctx.Err(); err != nil {
		return r, err
	}
	if cfg.has(Hist) || cfg.has(HistShared) {
		if err := histRound(ctx, w, rng, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// histRound runs the histogram estimators' inner resampling rounds, as the
// reference code does: each inner round draws HistSamples points from G,
// π_anchor and π_gen and compares histograms.
func histRound(ctx context.Context, w *World, rng *rand.Rand, r *Round) error {
	cfg := w.Config
	d, m, bins := cfg.Dim, cfg.HistSamples, cfg.HistBins
	xg := make([]float64, m*d)
	xa := make([]float64, m*d)
	xs := make([]float64, m*d)
	var hg, ha, hs, h1, h2 histogram
	lo, hi := make([]float64, d), make([]float64, d)
	cells := 1
	for range d {
		cells *= bins
	}
	mark := make([]bool, cells)
	own, shared := cfg.has(Hist), cfg.has(HistShared)
	var sumMG, sumGM, sumSMG, sumSGM float64
	for range cfg.HistRounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.G.SampleInto(rng, xg, nil)
		w.PiAnchor.Model.SampleInto(rng, xa, nil)
		w.PiGen.Model.SampleInto(rng, xs, nil)
		if own {
			histEdges(xg, d, lo, hi)
			hg.build(xg, d, bins, lo, hi)
			histEdges(xa, d, lo, hi)
			ha.build(xa, d, bins, lo, hi)
			histEdges(xs, d, lo, hi)
			hs.build(xs, d, bins, lo, hi)
			sumMG += histKL(&ha, &hg, mark) - histKL(&hs, &hg, mark)
			sumGM += histKL(&hg, &ha, mark) - histKL(&hg, &hs, mark)
		}
		if shared {
			l, h := sharedEdges(xa, xg, d)
			h1.build(xa, d, bins, l, h)
			h2.build(xg, d, bins, l, h)
			amg, agm := histKL(&h1, &h2, mark), histKL(&h2, &h1, mark)
			l, h = sharedEdges(xs, xg, d)
			h1.build(xs, d, bins, l, h)
			h2.build(xg, d, bins, l, h)
			sumSMG += amg - histKL(&h1, &h2, mark)
			sumSGM += agm - histKL(&h2, &h1, mark)
		}
	}
	k := float64(cfg.HistRounds)
	if own {
		r.HistModelGT, r.HistGTModel = sumMG/k, sumGM/k
	}
	if shared {
		r.HistSharedModelGT, r.HistSharedGTModel = sumSMG/k, sumSGM/k
	}
	return nil
}
