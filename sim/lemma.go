package sim

import (
	"math"

	"github.com/ggmi-dev/ggmi/gmm"
)

// DefaultLossCap is the loss bound C of the Lemma 3.1 check when
// Config.LossCap is 0.
const DefaultLossCap = 10

func (c Config) lossCap() float64 {
	if c.LossCap > 0 {
		return c.LossCap
	}
	return DefaultLossCap
}

// Lemma31 is the check of the paper's Lemma 3.1 in one round. The mapping
// to the GMM world: D is the ground truth G (the post-training target),
// D_M the generative model M, D_gen the distribution of S_gen (M restricted
// to the curation's acceptance region, renormalised; M itself without
// curation), S_gen the synthetic points the round kept, and π^{S_gen} the
// GMM π_gen fitted to them. The loss of π on a point x is the negative
// log-density clipped to [0, C], so bounded by C as the lemma assumes:
//
//	Err = |R_D(π_gen) − R̂_{S_gen}(π_gen)|
//	    ≤ C·(TV(D, D_M) + TV(D_M, D_gen)) + |R_{D_gen}(π_gen) − R̂_{S_gen}(π_gen)| = Bound.
//
// R_D and R_{D_gen} and the two TVs are Monte-Carlo estimates (the round's
// draws from G and M; no extra draws); R̂_{S_gen} is exact. The lemma holds
// for the true quantities, so a negative Slack = Bound − Err can only come
// from Monte-Carlo error: SlackSE combines the estimates' standard errors
// (treated as independent; |·| has slope ±1), and Violation is set when
// Slack < −1.96·SlackSE.
type Lemma31 struct {
	C          float64      `json:"C"`
	RD, RDGen  gmm.Estimate `json:"-"`
	RHat       float64      `json:"r_hat"`
	Err, Bound float64
	Slack      float64
	SlackSE    float64
	Violation  bool
	Ratio      float64 // Err / Bound: 1 is a tight bound
}

// CheckLemma31 evaluates both sides of Lemma 3.1 from its terms.
func CheckLemma31(c float64, rd, rdgen gmm.Estimate, rhat float64, tvDM, tvMGen gmm.Estimate) Lemma31 {
	l := Lemma31{C: c, RD: rd, RDGen: rdgen, RHat: rhat}
	l.Err = math.Abs(rd.Value - rhat)
	l.Bound = c*(tvDM.Value+tvMGen.Value) + math.Abs(rdgen.Value-rhat)
	l.Slack = l.Bound - l.Err
	l.SlackSE = math.Sqrt(rd.SE*rd.SE + rdgen.SE*rdgen.SE + c*c*(tvDM.SE*tvDM.SE+tvMGen.SE*tvMGen.SE))
	l.Violation = l.Slack < -1.96*l.SlackSE
	if l.Bound > 0 {
		l.Ratio = l.Err / l.Bound
	}
	return l
}

// clippedLoss returns clip(−log p, 0, c) for log-densities lp.
func clippedLoss(lp []float64, c float64) []float64 {
	out := make([]float64, len(lp))
	for i, v := range lp {
		out[i] = math.Min(math.Max(-v, 0), c)
	}
	return out
}
