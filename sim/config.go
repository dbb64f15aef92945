package sim

import (
	"fmt"
	"math"
	"strings"
)

// Estimator names a KL estimator of the KL Gap.
type Estimator string

const (
	// MC is the exact Monte-Carlo estimator E_P[log p − log q] on the fitted
	// and true densities, with a standard error. The default.
	MC Estimator = "mc"
	// Hist is the paper-compatible estimator of the public reference code: a
	// 50-bin-per-axis histogram of each sample set on bin edges taken from
	// that set's own range, cells clipped at 1e-10, renormalised, compared
	// cell by cell. The two histograms do not share cells, so the estimate is
	// biased (a sample and its shifted copy get KL ≈ 0).
	Hist Estimator = "hist"
	// HistShared is the histogram estimator with one set of bin edges, taken
	// from the union of both samples, so that cells correspond.
	HistShared Estimator = "hist-shared"
)

// Estimators lists every estimator name.
var Estimators = []Estimator{MC, Hist, HistShared}

// ParseEstimators parses a comma-separated list of estimator names ("all"
// for every one). The first listed is the primary estimator.
func ParseEstimators(s string) ([]Estimator, error) {
	if strings.TrimSpace(s) == "all" {
		return append([]Estimator(nil), Estimators...), nil
	}
	var out []Estimator
	seen := map[Estimator]bool{}
	for _, f := range strings.Split(s, ",") {
		e := Estimator(strings.TrimSpace(f))
		ok := false
		for _, k := range Estimators {
			ok = ok || e == k
		}
		if !ok {
			return nil, fmt.Errorf("unknown estimator %q (want mc, hist, hist-shared or all)", string(e))
		}
		if !seen[e] {
			out = append(out, e)
			seen[e] = true
		}
	}
	return out, nil
}

// Direction selects which KL the KL Gap uses.
type Direction string

const (
	// ModelGT is the paper's direction: KL(π‖G), fitted model against the
	// ground truth, so the gap is KL(π_anchor‖G) − KL(π_gen‖G).
	ModelGT Direction = "model-gt"
	// GTModel is the reverse: KL(G‖π_anchor) − KL(G‖π_gen), the excess
	// cross-entropy of each fitted model on data from the task.
	GTModel Direction = "gt-model"
)

// ParseDirection parses a direction name.
func ParseDirection(s string) (Direction, error) {
	switch Direction(s) {
	case ModelGT, GTModel:
		return Direction(s), nil
	}
	return "", fmt.Errorf("unknown direction %q (want model-gt or gt-model)", s)
}

// CovRecipe selects how random covariance matrices are drawn.
type CovRecipe string

const (
	// CovSPD draws A with entries uniform in [0,1) and uses A·Aᵀ + ridge·I:
	// symmetric positive definite by construction. The default.
	CovSPD CovRecipe = "spd"
	// CovReference reproduces the public reference code: A·Bᵀ with two
	// independent uniform matrices, which is not symmetric and may be
	// indefinite. NumPy samples from it through an SVD (x = z·√s·V), i.e.
	// from the covariance V·diag(s)·Vᵀ; this recipe uses exactly that
	// repaired matrix (plus ridge·I so that densities exist).
	CovReference CovRecipe = "reference"
)

// Config describes the App. B world and the protocol of one sweep point.
type Config struct {
	K   int `json:"K"`   // anchor components
	J   int `json:"J"`   // unsampled components of the target
	L   int `json:"L"`   // task-irrelevant components of M
	Dim int `json:"dim"` // dimension d

	AnchorPerComp    int `json:"anchor_per_comp"`   // N_k anchor points per anchor component (50)
	Synthetic        int `json:"synthetic"`         // synthetic points drawn from M (200)
	AnchorComponents int `json:"anchor_components"` // components of π_anchor: 0 means K (the reference code), AnchorKJL means K+J+L (the paper's text), > 0 a fixed number
	GenComponents    int `json:"gen_components"`    // components of π_gen; 0 means K+J+L

	MeanLow        float64   `json:"mean_low"` // means uniform in [MeanLow, MeanHigh)^d (0, 10)
	MeanHigh       float64   `json:"mean_high"`
	Covariance     CovRecipe `json:"covariance"`       // random covariance recipe (spd)
	CovRidge       float64   `json:"cov_ridge"`        // ridge added to random covariances (1e-3)
	AnchorCovRidge float64   `json:"anchor_cov_ridge"` // ridge added to M's per-label sample covariances (1e-6)

	// CurateQuantile models curation ε: synthetic points whose density under
	// G is below this quantile of their batch are rejected (0: no curation).
	CurateQuantile float64 `json:"curate_quantile"`

	// LossCap is the bound C of the loss in the Lemma 3.1 check (the
	// negative log-density of π_gen clipped to [0, C]); 0 means
	// DefaultLossCap.
	LossCap float64 `json:"loss_cap,omitempty"`

	Estimators  []Estimator `json:"estimators"`   // estimators to compute; the first is primary
	Direction   Direction   `json:"direction"`    // direction of the primary KL Gap
	MCSamples   int         `json:"mc_samples"`   // draws per Monte-Carlo estimate (2000)
	HistSamples int         `json:"hist_samples"` // draws per histogram (1000)
	HistRounds  int         `json:"hist_rounds"`  // inner resampling rounds of the histogram estimators (100)
	HistBins    int         `json:"hist_bins"`    // bins per axis (50)

	// EM settings for π_anchor and π_gen (scikit-learn defaults).
	EMTol      float64 `json:"em_tol"`       // 1e-3
	EMMaxIter  int     `json:"em_max_iter"`  // 100
	EMNInit    int     `json:"em_n_init"`    // 1
	EMRegCovar float64 `json:"em_reg_covar"` // 1e-6
}

// DefaultConfig is App. B's default world (K = J = L = 2, d = 2, N_k = 50,
// 200 synthetic points) with the MC estimator in the paper's direction.
func DefaultConfig() Config {
	return Config{
		K: 2, J: 2, L: 2, Dim: 2,
		AnchorPerComp: 50, Synthetic: 200,
		MeanLow: 0, MeanHigh: 10,
		Covariance: CovSPD, CovRidge: 1e-3, AnchorCovRidge: 1e-6,
		Estimators: []Estimator{MC}, Direction: ModelGT,
		MCSamples: 2000, HistSamples: 1000, HistRounds: 100, HistBins: 50,
		EMTol: 1e-3, EMMaxIter: 100, EMNInit: 1, EMRegCovar: 1e-6,
	}
}

// Validate reports the first invalid setting as a sentence fit for a user.
func (c *Config) Validate() error {
	switch {
	case c.K < 1:
		//lint:ignore ST1005 K is the simulation's parameter, written as in the paper
		return fmt.Errorf("K must be at least 1 (got %d)", c.K)
	case c.J < 0:
		//lint:ignore ST1005 J is the simulation's parameter, written as in the paper
		return fmt.Errorf("J must be at least 0 (got %d)", c.J)
	case c.L < 0:
		//lint:ignore ST1005 L is the simulation's parameter, written as in the paper
		return fmt.Errorf("L must be at least 0 (got %d)", c.L)
	case c.Dim < 1:
		return fmt.Errorf("dim must be at least 1 (got %d)", c.Dim)
	case c.AnchorPerComp < 2:
		return fmt.Errorf("anchor-per-comp must be at least 2 to estimate a covariance (got %d)", c.AnchorPerComp)
	case c.Synthetic < 1:
		return fmt.Errorf("synthetic must be at least 1 (got %d)", c.Synthetic)
	case !(c.MeanHigh > c.MeanLow):
		return fmt.Errorf("the mean range [%v, %v) is empty", c.MeanLow, c.MeanHigh)
	case c.Covariance != CovSPD && c.Covariance != CovReference:
		return fmt.Errorf("unknown covariance recipe %q (want spd or reference)", string(c.Covariance))
	case !(c.CovRidge > 0):
		return fmt.Errorf("cov-ridge must be positive (got %v)", c.CovRidge)
	case c.AnchorCovRidge < 0:
		return fmt.Errorf("the anchor covariance ridge must be non-negative (got %v)", c.AnchorCovRidge)
	case !(c.CurateQuantile >= 0 && c.CurateQuantile < 1):
		return fmt.Errorf("curate-quantile must be in [0, 1) (got %v)", c.CurateQuantile)
	case len(c.Estimators) == 0:
		return fmt.Errorf("at least one estimator is needed")
	case c.LossCap < 0 || math.IsNaN(c.LossCap) || math.IsInf(c.LossCap, 0):
		return fmt.Errorf("loss-cap must be a positive number, or 0 for %d (got %v)", DefaultLossCap, c.LossCap)
	case c.MCSamples < 2:
		return fmt.Errorf("mc-samples must be at least 2 (got %d)", c.MCSamples)
	case c.EMMaxIter < 1:
		return fmt.Errorf("EM max-iter must be at least 1 (got %d)", c.EMMaxIter)
	case c.EMNInit < 1:
		return fmt.Errorf("EM n-init must be at least 1 (got %d)", c.EMNInit)
	case !(c.EMTol >= 0):
		return fmt.Errorf("EM tol must be non-negative (got %v)", c.EMTol)
	case !(c.EMRegCovar > 0):
		return fmt.Errorf("EM reg-covar must be positive (got %v)", c.EMRegCovar)
	}
	if _, err := ParseDirection(string(c.Direction)); err != nil {
		return err
	}
	for _, e := range c.Estimators {
		if _, err := ParseEstimators(string(e)); err != nil {
			return err
		}
		if e != MC {
			if c.Dim > 3 {
				return fmt.Errorf("the %s estimator needs dim ≤ 3 (a %d-dimensional grid of %d bins per axis is too large); use mc", e, c.Dim, c.HistBins)
			}
			if c.HistSamples < 2 || c.HistRounds < 1 || c.HistBins < 1 {
				return fmt.Errorf("histogram settings must be positive (samples %d, rounds %d, bins %d)", c.HistSamples, c.HistRounds, c.HistBins)
			}
			if cells := math.Pow(float64(c.HistBins), float64(c.Dim)); cells > maxHistCells {
				return fmt.Errorf("hist-bins %d in %d dimensions makes %.3g cells, more than %d; lower --hist-bins", c.HistBins, c.Dim, cells, maxHistCells)
			}
		}
	}
	if ac := c.anchorComponents(); ac < 1 || ac > c.K*c.AnchorPerComp {
		return fmt.Errorf("π_anchor cannot have %d components with %d anchor points", ac, c.K*c.AnchorPerComp)
	}
	if gc := c.genComponents(); gc < 1 {
		return fmt.Errorf("π_gen needs at least one component (got %d)", gc)
	}
	if c.keptSynthetic() < c.genComponents() {
		return fmt.Errorf("π_gen cannot have %d components with %d synthetic points left after curation", c.genComponents(), c.keptSynthetic())
	}
	return nil
}

// maxHistCells bounds the cells of one histogram (bins^dim).
const maxHistCells = 1 << 31

// AnchorKJL as Config.AnchorComponents fits π_anchor with K+J+L components,
// as the paper's §4.4 text says.
const AnchorKJL = -1

func (c *Config) anchorComponents() int {
	switch {
	case c.AnchorComponents > 0:
		return c.AnchorComponents
	case c.AnchorComponents == AnchorKJL:
		return c.K + c.J + c.L
	}
	return c.K
}

func (c *Config) genComponents() int {
	if c.GenComponents > 0 {
		return c.GenComponents
	}
	return c.K + c.J + c.L
}

// keptSynthetic is the number of synthetic points left after curation.
func (c *Config) keptSynthetic() int {
	if c.CurateQuantile == 0 {
		return c.Synthetic
	}
	return c.Synthetic - int(c.CurateQuantile*float64(c.Synthetic))
}

func (c *Config) has(e Estimator) bool {
	for _, x := range c.Estimators {
		if x == e {
			return true
		}
	}
	return false
}
