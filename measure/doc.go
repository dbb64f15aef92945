// Package measure estimates, from embeddings and texts, the quantities the
// reverse-bottleneck theory of synthetic data ("Towards a Theoretical
// Understanding of Synthetic Data in LLM Post-Training", Gan & Liu) and its
// companion papers relate to post-training gains: dependence (HSIC, KSG
// mutual information), entropy (k-NN, semantic entropy), diversity
// (n-grams, compression, self-BLEU, Vendi, …) and divergence (MMD, C2ST,
// k-NN KL). Every estimator is a plain function returning a [Result] with a
// 95% [Interval]; [Run] measures a whole data set ([Suite]) with the metrics
// it names. Section numbers refer to /work/shared/papers/NOTES.md ("NOTES").
// In up to 3 dimensions the k-NN entropy and KL default to the weighted
// k-ensemble of Berrett, Samworth & Yuan (Ann. Statist. 2019); results whose
// interval the coverage harness ([CoverageCases]) has not shown to hold
// carry Settings[[CIApproximate]].
//
// Inputs are rows of float64 ([embed.Float64s] converts embeddings); empty
// inputs, ragged rows, NaN or infinite values and too few points for k
// neighbours are errors, never panics. All randomness takes an explicit
// seed. Metrics that ask a generative model (the Cluster-agent, semantic
// entropy with LLM entailment) live in package measure/judge, which plugs
// them into the suite with [RegisterLLM].
package measure
