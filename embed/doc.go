// Package embed maps texts to vectors, the space in which package measure
// estimates the quantities of the reverse-bottleneck theory ("Towards a
// Theoretical Understanding of Synthetic Data in LLM Post-Training", Gan &
// Liu, §4 and App. G: HSIC between S_gen and S_anchor, entropies, diversity).
//
// Every embedder implements [Embedder]: Embed returns one vector per text and
// ID names the embedder and all of its settings, so that a cache key made of
// the ID and the texts identifies a result.
//
// # LSA
//
// [LSA] builds TF-IDF vectors over word unigrams and bigrams and character
// 3–5-grams (taken inside the lower-cased text with its spaces), L2-normalises
// them and reduces them to k dimensions by a randomized SVD (Halko, Martinsson
// & Tropp 2011, Alg. 4.4 with 5.1: Gaussian sketch, power iterations with QR
// re-orthonormalisation, small exact SVD with gonum). Features are hashed:
// each n-gram is mapped by 64-bit FNV-1a into 2^22 buckets (collisions are
// possible and are accepted, as in scikit-learn's HashingVectorizer), and only
// the MaxFeatures buckets with the highest document frequency are kept. The
// model is fitted on the texts of each Embed call ("the data at hand"), so
// the coordinates of a text depend on the batch it is embedded with; the
// result is deterministic for a seed. Beyond FitSample texts (10,000 by
// default) the SVD is fitted on a seeded sample and every text is projected
// on its right singular vectors.
//
// # Static vectors with SIF
//
// [SIF] averages static word vectors (GloVe or word2vec text format, read by
// [LoadVectors], gzip detected from its magic bytes) with the smooth inverse
// frequency weight a/(a + p(w)), a = 1e-3, and removes the projection on the
// first principal component (first right singular vector, uncentred) of the
// batch (Arora, Liang & Ma 2017). The word probabilities p(w) come either
// from the texts being embedded (FreqFromData) or, by default, from a Zipf
// estimate on the rank of the word in the vector file (files are sorted by
// corpus frequency): p(w) = 1/(r·H_V), r the 1-based rank and H_V the V-th
// harmonic number. Words absent from the vocabulary are skipped; a text with
// no known word gets the zero vector before the principal-component removal.
//
// # Model hidden states and remote endpoints
//
// [Backend] embeds through an llm.Backend: [NewEngine] loads a model into the
// built-in engine (mean-pooled final hidden states; ID "engine-v1:" and a
// hash of the weights and tokenizer), [NewRemote] calls an OpenAI-compatible
// /v1/embeddings endpoint (ID "remote-v1:URL#MODEL"). [Open] builds any
// embedder from a spec: lsa, glove:PATH, builtin:PATH or
// http(s)://HOST/v1#MODEL.
//
// # Cache
//
// [Cached] wraps any embedder and stores each batch's result in one file
// named by the SHA-256 of the embedder's ID and the texts, written to a
// temporary file and renamed into place (atomic on POSIX file systems).
// Caching whole batches is exact even for batch-dependent embedders (LSA,
// SIF's principal-component removal).
package embed
