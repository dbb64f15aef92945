// Package textlab runs the text analogue of the reverse-bottleneck paper's
// Gaussian-mixture experiment ("Towards a Theoretical Understanding of
// Synthetic Data in LLM Post-Training", §3.1, §4.4, App. B and Fig. 4;
// NOTES.md §1 describes the protocol as the public code runs it), offline,
// with the built-in Llama engine (package llama) and the stories260K model.
//
// Components are text sources instead of Gaussians:
//
//   - Task sources ([TaskSources]): GSM8K questions, GSM8K worked answers,
//     self-instruct seed-task instructions, self-instruct user-oriented
//     instructions, self-instruct reference outputs and MT-bench first
//     turns, each with a train and a held-out split.
//   - Unrelated sources ([UnrelatedSources], the task-irrelevant knowledge
//     of a pre-trained M): stories sampled from the base stories260K model
//     itself, the words of those stories shuffled across texts, generated
//     arithmetic equations and random letter strings, all built offline
//     from the run's seed.
//
// One world ([Assemble], [RunWorld]) for (K, J, L, seed) orders the
// sources (a seeded permutation per seed, the same for every sweep value),
// takes the first K+J task sources as the ground truth G and the first L
// unrelated sources as M's extra knowledge, and builds:
//
//   - S_anchor: N_k texts from the train split of each of the first K task
//     sources;
//   - the generator M: stories260K fine-tuned on texts of all K+J+L
//     sources (their train splits; the anchors are among them, as the
//     GMM's M fits its first K components to the anchors), each text after
//     a short source tag;
//   - S_gen: n texts sampled from M, n/(K+J+L) after each source's tag
//     (the GMM samples M's equally weighted components), tags removed;
//   - two students, stories260K fine-tuned on S_anchor and on S_gen with
//     the same token budget (steps × batch × sequence length, packed);
//   - the ground-truth held-out loss of each student: the mean token
//     cross-entropy on held-out texts of each of the K+J task sources,
//     averaged over the sources with equal weights (G's components are
//     equally weighted).
//
// The text KL Gap is loss(student on S_anchor) − loss(student on S_gen).
// The entropy of G cancels in the difference, so it estimates
// KL(G‖π_anchor) − KL(G‖π_gen): the GMM lab's KL Gap with the same sign
// (larger means the synthetic data helps more) in its gt-model direction,
// the only direction a held-out loss can measure. [Run] sweeps K, J and L
// one at a time with the other two fixed, several seeds per value, and
// reuses package sim for the summaries ([sim.Summarize]) and the trend
// verdicts against Fig. 4 ([sim.Trends]: bootstrap slope interval,
// Spearman's ρ).
package textlab
