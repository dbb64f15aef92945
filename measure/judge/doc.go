// Package judge holds the metrics that ask a generative model for
// judgements: the LLM Cluster-agent diversity 𝒟 (NOTES §5, [ClusterAgent])
// and semantic entropy with an LLM entailment judge (NOTES §4,
// [LLMEntailer] with measure.GroupedSemanticEntropy). Importing it
// registers them with measure.RegisterLLM as "cluster-agent" and "se-llm",
// so that measure.Run runs them when a Suite has an LLM backend.
//
// Every request goes through an llm.Backend; wrap it with llm.Cached so
// that each answer is paid for once (requests carry explicit seeds, so a
// rerun asks the same requests). JSON answers are requested with a JSON
// schema and parsed robustly from free text when a backend rejects
// schemas.
package judge
