// Package gmm implements Gaussian mixture models in any dimension: exact
// log-densities (Cholesky factors, log-sum-exp), sampling, closed-form
// Gaussian entropy and Gaussian–Gaussian KL divergence, EM fitting with
// k-means++ initialisation, and Monte-Carlo estimators of KL divergence,
// total variation and differential entropy with standard errors.
//
// It is the numerical core of the reverse-bottleneck paper's simulation
// (§3.1, §4.4 and App. B of "Towards a Theoretical Understanding of
// Synthetic Data in LLM Post-Training"): the ground truth G, the generative
// model M and the fitted models π_anchor and π_gen of that world are all
// [Mixture] values, and the paper's KL Gap is a difference of two
// [KL] estimates.
//
// Conventions. Points are stored row-major in flat []float64 slices: n points
// of dimension d occupy n·d values. Every random choice takes an explicit
// *rand.Rand (math/rand/v2) or seed, so results are reproducible.
//
// EM follows scikit-learn's GaussianMixture semantics (the estimator the
// paper's public code uses): the convergence test compares successive mean
// per-sample log-likelihoods against Tol, reg_covar is added to every
// covariance diagonal, and the default initialisation runs k-means (seeded
// by greedy k-means++) and starts EM from its hard assignment. Unlike
// scikit-learn, a component that loses all its points is re-seeded at the
// worst-explained point instead of collapsing, and covariances that are not
// numerically positive definite get a growing ridge before Fit gives up with
// an error; NaN never leaves this package.
package gmm
