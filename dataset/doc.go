// Package dataset holds the two ends of the reverse-bottleneck chain of
// "Towards a Theoretical Understanding of Synthetic Data in LLM
// Post-Training" (Gan & Liu, §3.2): the anchor data S_anchor, drawn from the
// task distribution D, and the synthetic data S_gen, produced from S_anchor
// through a prompt p and a model M (S_anchor → p → M → S_gen = M(p) + ε).
//
// This is the one place in the code that explains the chain (the README
// does for users). The anchors S_anchor are sampled from D; package synth
// builds each prompt p = E(e_task, e_condition, e_demo) from a task
// description, a condition (topic, style, persona, length) and anchor
// demonstrations; a model M (package llm: the built-in engine of package
// llama or a remote endpoint) answers it; the answer is parsed into records
// and curated (the noise ε, package curate), giving S_gen. Package generate
// runs the chain, package measure estimates the theory's quantities on its
// ends, and every synthetic record's Provenance names the link of each
// step.
// Both are sets of [Record]s; a synthetic record carries its [Provenance]
// (the prompt, the anchor demonstrations, the model and its sampling
// parameters, the seed, the time and the key of the raw response), so every
// link of the chain can be traced and measured.
//
// # Formats
//
// [ReadFile] and [WriteFile] handle JSON Lines (.jsonl, .ndjson), JSON arrays
// (.json), CSV with a header row (.csv) and Apache Parquet (.parquet). The
// format comes from the extension unless [ReadOptions.Format] says otherwise;
// a trailing .gz is decompressed transparently on reading and compressed on
// writing. Parquet uses github.com/parquet-go/parquet-go, the maintained
// pure-Go successor of segmentio/parquet-go.
//
// Written records keep the layout of [Record]: JSON and JSONL use its JSON
// tags; CSV and Parquet have the flat columns id, instruction, input, output,
// category, messages, meta and provenance, where the last three hold JSON
// text. Reading such a file back (schema "record", found by "auto") gives the
// same records, so JSONL → Parquet → CSV → JSON is lossless. Numbers inside
// Meta and Provenance.Params are kept as [encoding/json.Number].
//
// JSONL is written line by line: each record is one write call on a file
// opened with O_APPEND ([JSONLWriter], or [WriteOptions.Append]), optionally
// followed by fsync, so concurrent appenders never interleave and a crash
// loses at most the line being written. Whole files (every other format, and
// JSONL without Append) are written to a temporary file in the destination
// directory and renamed into place.
//
// # Schemas
//
// A [Schema] maps the rows of a source onto records: "alpaca", "dolly",
// "self-instruct", "gsm8k", "chat", "sharegpt", "mt-bench", "record" (this
// package's own layout), "auto" (detected from the first row of each file)
// and custom mappings "field=path" where path is a dotted path into nested
// JSON with list indices ("output=answers.0.text", see [MapPath]). Source
// fields that the schema does not map are kept in Meta. A record's ID is the
// source's id when it has one, otherwise a hash of its content ([ContentID]).
//
// # Splits
//
// [Split] divides records into train and test sets (8:2 by default). Each
// record's side is decided by ranking the records by SHA-256(seed, ID): the
// membership therefore depends only on the seed and the IDs (and strata),
// never on the input order, and both outputs keep the input order. With
// [SplitOptions.StratifyBy] every stratum is split in the same ratio.
//
// # The Hugging Face hub
//
// [Hub] resolves hf://owner/name[@revision][/path] to the files of a dataset
// repository through the hub API (the repository tree, or the auto-converted
// Parquet listing when the repository holds no file this package reads),
// downloads them into the hub cache ($HF_HUB_CACHE, $HF_HOME/hub or
// ~/.cache/huggingface/hub) with an atomic rename, and sends $HF_TOKEN as a
// bearer token.
package dataset
