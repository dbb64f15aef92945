// Package generate runs the reverse-bottleneck paper's generation chain
// ("Towards a Theoretical Understanding of Synthetic Data in LLM
// Post-Training", Gan & Liu, §3.2, Eq. 1 and App. G.1.2) end to end:
// S_anchor → prompt p = E(e_task, e_condition, e_demo) (a [synth.Plan]) →
// model M (an [llm.Backend]) → parsing ([synth.Parser]) → curation ε
// ([curate.Default]) → S_gen, with every record traceable to its prompt,
// demonstrations, model, parameters, seed and raw response.
//
// [Run] is built for large paid runs: requests are deterministic functions
// of (plan seed, prompt index, sample index), every answer is committed to a
// durable cache ([llm.Cached]) before it is used, and a run killed at any
// point (kill -9 included) and started again with the same options sends no
// request twice for completed work and ends with the same output as a run
// that was never interrupted.
//
// # Output directory
//
//	run.json         the run's fingerprint (model, parameters, request keys); a resume must match it
//	prompts.jsonl    every prompt with its ID, demonstrations, condition, seed and request keys
//	journal.jsonl    one line per completed request: the source of truth of a resume
//	synthetic.jsonl  S_gen before curation, in prompt order
//	rejects.jsonl    the pieces of output that gave no record, with the reason
//	curated.jsonl    S_gen after ε (unless curation is off)
//	removed.jsonl    the records ε removed, with the filter and the reason
//	curation.json    ε's report per filter
//	summary.json     counts, rejects by reason, tokens, cost, failures
//	cache.db         the durable request/response cache (Options.CachePath)
//
// # How a resume stays exact
//
// A request's cache key (llm.CacheKey) is a pure function of the plan and
// the options, and the records and rejects of a request are a pure function
// of its cached response and the time recorded in the journal. Completing a
// request is, in this order: the response is committed to the cache (fsync),
// its record and reject lines are appended to synthetic.jsonl and
// rejects.jsonl (whole lines, one write, fsync), and one line is appended to
// journal.jsonl (fsync). A journal line therefore proves that everything
// before it is on disk. When a run starts in a directory that already holds
// a run with the same fingerprint, it drops a torn last journal line, keeps
// only the journal entries whose response is still in the cache, keeps only
// the record and reject lines of those requests (lines of a request that
// was killed before its journal line are removed), and sends only the
// requests without a journal line; a request whose response reached the
// cache before the kill is answered from the cache. When every request is
// done, synthetic.jsonl and rejects.jsonl are rewritten from the cache in
// prompt, sample and choice order, so the final files are the same
// whatever the order in which answers arrived and however often the run was
// interrupted.
package generate
