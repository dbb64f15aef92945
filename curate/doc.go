// Package curate implements the curation step ε of the reverse-bottleneck
// chain (Gan & Liu, §3.2: S_gen = M(p) + ε): the revisions applied to what
// the model M produced before it becomes synthetic data. The paper keeps ε
// abstract ("a noise term for the measurement of revision, such as the data
// curation process", entering the bounds through δ_ε,p); this package makes
// it concrete with the field's baseline filters, those of Self-Instruct and
// Alpaca (see shared/papers/NOTES.md §6), and the usual deduplication and
// decontamination steps.
//
// A [Pipeline] applies [Filter]s in order. Each filter reports how many
// records it removed and why ([Report]); removed records are returned with
// the filter, the reason and details (the matched record, the score) in
// their Meta under keys starting with "curate_", ready to be written to a
// side file.
//
// Filters:
//
//   - [StartChar]: drops instructions that start with ASCII punctuation
//     (Python's string.punctuation) or a non-ASCII character.
//   - [Length]: keeps instructions with Min < words ≤ Max (3 and 150).
//   - [Keywords]: drops instructions that mention image, graph, picture,
//     file, map, draw, plot, go to, video, audio, music, flowchart or
//     diagram as whole words, case-insensitively.
//   - [ExactDedup]: drops records whose normalised text ([Normalize]: Unicode
//     NFKC, lower case, punctuation and symbols replaced by spaces,
//     whitespace collapsed) equals that of an earlier record.
//   - [NearDedup]: MinHash signatures of word or character shingles, banded
//     locality-sensitive hashing with bands and rows chosen from the Jaccard
//     threshold ([LSHParams]), candidates confirmed by the exact Jaccard
//     similarity of their shingle sets.
//   - [RougeL]: the Self-Instruct filter: drops a record whose maximum
//     ROUGE-L F1 against the anchors and the records kept so far exceeds 0.7.
//   - [Decontaminate]: drops records sharing an n-gram (13 words) with an
//     evaluation split.
//   - [Judge]: drops records a [Scorer] rates below a threshold.
//
// Every filter is deterministic: results never depend on the number of
// workers.
package curate
