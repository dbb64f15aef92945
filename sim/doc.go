// Package sim reproduces the Gaussian-mixture world in which the
// reverse-bottleneck paper checks its theory (§3.1, §4.4, App. B, Fig. 2,
// 4 and 5), with correct estimators and uncertainty.
//
// One outer round draws a world ([NewWorld]): a ground truth G with K+J
// equally weighted components (the post-training target D), anchors
// S_anchor of N_k points from each of G's first K components, a generative
// model M with K+J+L components (K fitted per label from the anchors, J
// copied from G, L random: the task-irrelevant knowledge of a pre-trained
// model), synthetic data S_gen of n points from M, optionally curated (ε:
// points whose density under G falls below a quantile of their batch are
// rejected), and GMMs π_anchor and π_gen fitted by EM to each. It then
// measures the KL Gap KL(π_anchor‖G) − KL(π_gen‖G) and the other terms the
// theory names that this world makes computable: Lemma 3.1's divergences
// TV(G, M) and TV(M, D_gen), Theorem 4.10's entropies H(S_anchor), H(S_gen)
// and ΔH, and the KL in both directions.
//
// Lemma 3.1 ([Lemma31]) is checked in every round with a loss bounded by
// C (Config.LossCap, `ggmi simulate --loss-cap`): ℓ(π, x) = −log π(x)
// clipped to [0, C]. The lemma's objects map to the world as follows: D,
// the post-training target, is G; D_M is the generative model M; D_gen is
// the distribution of S_gen, M restricted to the curation's acceptance
// region and renormalised (M itself without curation); S_gen is the
// round's kept synthetic sample; π^{S_gen} is π_gen, the GMM fitted to it.
// Err = |R_G(π_gen) − R̂_{S_gen}(π_gen)| is compared with
// C·(TV(G, M) + TV(M, D_gen)) + |R_{D_gen}(π_gen) − R̂_{S_gen}(π_gen)|,
// the risks under G and D_gen estimated on the round's Monte-Carlo draws
// (no extra draws, so the other quantities keep their values); the slack,
// its Monte-Carlo SE, the ratio Err/bound and significant violations are
// columns of rounds.csv and summary.csv, per sweep value.
//
// Estimators. [MC] (the default) is the exact Monte-Carlo KL on the known
// and fitted densities, with standard errors. [Hist] reproduces the public
// reference code's histogram estimator, which bins each sample on its own
// range so that the two histograms do not share cells; it is biased (a
// sample and its shifted copy get KL ≈ 0) and kept only for comparison.
// [HistShared] bins both samples on one grid.
//
// Faithfulness. The defaults follow the reference code (d = 2, N_k = 50,
// n = 200, means uniform in [0,10)^d, π_anchor with K components, EM with
// scikit-learn's defaults). Two departures are deliberate and switchable:
// random covariances are A·Aᵀ plus a ridge (the reference code multiplies
// two independent random matrices, which is neither symmetric nor always
// positive semi-definite; [CovReference] reproduces what NumPy then samples
// from), and π_anchor may have K+J+L components as the paper's text says
// ([AnchorKJL]).
//
// Sweeps ([Run]) vary K, J or L with the others fixed, R rounds per value,
// on every core; each round's random stream depends only on (seed, swept
// variable, value, round), so results are identical whatever the number of
// workers. [Result.Summarise] gives per-value means, standard deviations
// and 95% intervals, and [Trends] fits each quantity against the swept
// variable and says whether the paper's Fig. 4 trend holds.
package sim
