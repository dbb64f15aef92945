// Package measure holds the estimators of the measurement suite: the
// quantities of the reverse-bottleneck theory ("Towards a Theoretical
// Understanding of Synthetic Data in LLM Post-Training", Gan & Liu) estimated
// on embeddings and texts of S_anchor and S_gen. Section numbers refer to
// /work/shared/papers/NOTES.md ("NOTES") and to the papers.
//
//   - HSIC (NOTES §3; Gretton et al. 2005, Song et al. 2012; the paper's
//     App. G, Tables 2 and 4): biased tr(KHLH)/(m−1)² and unbiased
//     estimators, Gaussian kernel with the median heuristic
//     σ² = 0.5·median‖x_i − x_j‖² or linear kernel, normalised HSIC, a seeded
//     permutation p-value and a random-Fourier-feature approximation in
//     O(m·D²). The paper does not say how synthetic and anchor records are
//     paired (NOTES §2): the caller pairs rows of X and Y.
//   - Mutual information (the paper's §4, information gain and GGMI,
//     Thm 4.10): the KSG estimator 1 (Kraskov, Stögbauer & Grassberger 2004,
//     eq. 8; max-norm, k = 3) in nats, optionally on PCA-reduced inputs, and
//     the Kozachenko–Leonenko k-NN differential entropy (Kraskov et al. eq. 20,
//     Euclidean norm).
//   - Semantic entropy (NOTES §4; Farquhar et al. 2024; the paper's Tables 3
//     and 4): greedy clustering under strict or non-strict bidirectional
//     entailment, discrete and log-probability-weighted SE, and an offline
//     approximation in which equivalence is cosine similarity of embeddings
//     above a threshold (an approximation: similarity is not entailment).
//   - Diversity (NOTES §5; the diversity paper arXiv 2410.15226, Sec. 2.1 and
//     its baselines): n-gram diversity, self-repetition, gzip compression
//     ratio, K-means cluster entropy, self-BLEU, homogenization (mean pairwise
//     ROUGE-L F1) and the Vendi score (Friedman & Dieng 2023).
//   - Estimators on a generative model (an llm.Backend; wrap it with
//     llm.Cached so that every request is paid for once): the LLM
//     Cluster-agent (NOTES §5, [ClusterAgent]: metadata and metrics,
//     summaries, criteria, clustering, self-verification, 𝒟 with the
//     definition of 𝒮_i as an option), the LLM entailment judge of semantic
//     entropy ([LLMEntailer], [GroupedSemanticEntropy]) and perplexity under
//     a reference model ([Perplexity], the diversity paper's baseline).
//     JSON answers are requested with a JSON schema (Request.Format) and
//     parsed robustly from free text when a backend rejects schemas.
//   - Divergences (the paper's Lemma 3.1 bounds generalisation by the
//     divergences between D, M and D_gen): unbiased MMD² with a Gaussian
//     kernel and permutation p-value (Gretton et al. 2012), a classifier
//     two-sample test (logistic regression, k-fold accuracy, and the lower
//     bound TV ≥ 2·acc − 1), and the k-NN KL divergence estimator of Wang,
//     Kulkarni & Verdú (2009), by default their bias-reduced variant.
//
// # Intervals and their coverage
//
// The k-NN estimators (KSG, entropy, KL) take their intervals from
// half-samples ([KNNInterval]); entropy and KL extend them by the bias
// extrapolated from n/4, n/2 and n rows. [CoverageCases] and [RunCoverage]
// measure every interval's coverage on distributions with a known truth
// (go run ./bench/coverage; docs/metrics.md says which intervals are known
// to be approximate). Duplicate rows are dropped and counted by the k-NN
// estimators, never read as zero distances.
//
// # The suite
//
// [Run] measures a data set in one call ([Suite]: S_gen, optional anchors and
// training set, an embed.Embedder, metrics by name — [SelectMetrics],
// "all" or a comma list — a seed and a progress.Reporter) and returns a
// [Report] with one Result per metric, its settings and a 95% interval. All
// texts are embedded in one call, so batch-fitted embedders put them in one
// space. HSIC and KSG need paired rows: [PairByProvenance] pairs each
// synthetic record with the mean embedding of the anchors its prompt showed
// (dataset.Provenance.DemoIDs), [PairBySubsample] draws equal-size seeded
// subsamples of S_gen and T (the paper's "HSIC with the train set"); the
// mode is in Settings["pairing"]. Estimators without an interval get one
// from [Bootstrap] (seeded, independent of the number of workers); the
// suite resamples half-samples without replacement because its statistics
// (distinct n-grams, compression, Vendi, kernel sums) are biased by the
// repeated rows of the classical bootstrap. O(n²) estimators run on seeded
// subsamples (Suite.MaxPairs, Suite.MaxTextPairs), stated in Settings.
// The divergences compare S_gen with Suite.Reference (e.g. the real
// held-out split), else the training set, else the anchors. The offline
// semantic entropy is taken per prompt (dataset.Provenance.PromptID, the
// answers to one question, as Farquhar et al. cluster them) when at least
// two prompts produced two records or more, and over the whole set
// otherwise; Settings["note"] says when every text is its own cluster.
// Metrics that need a generative model (LLM entailment, the Cluster-agent)
// plug in with [RegisterLLM] and run when Suite.LLM is set. Result encodes
// to JSON with non-finite numbers as null.
//
// The plain biased HSIC is computed without kernel matrices (O(n) memory,
// pairs visited once in fixed blocks, AVX2/FMA inner products where the CPU
// has them); kernel matrices are built only for the unbiased and normalised
// estimators and for permutation tests.
//
// Every estimator returns a [Result]; [Lookup] finds one by name in the
// registry so that experiment files can select them. Inputs are rows of
// float64 ([embed.Float64s] converts embeddings); empty inputs, ragged rows,
// NaN or infinite values and too few points for k neighbours are errors,
// never panics. All randomness takes an explicit seed. CI95 is [NaN, NaN]
// where an estimator has no cheap interval (documented per estimator).
package measure
