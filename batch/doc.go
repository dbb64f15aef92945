// Package batch sends the requests of a generation run through a
// provider's batch API instead of one HTTP request each: OpenAI's Batch API
// (a JSONL file of {custom_id, method, url, body} uploaded with purpose
// "batch", a batch created with a 24-hour completion window, output and
// error files matched on custom_id) and Anthropic's Message Batches
// (requests[{custom_id, params}], results streamed as JSONL). Both bill
// half the online price (llm.BatchDiscount) and answer within 24 hours.
//
// It is a transport of the model M of the generation chain (package
// dataset explains it): the answers it brings back land in the same
// durable cache (llm.Cached) under the same keys as online answers, so the
// rest of the chain, and any later online run, cannot tell them apart.
//
// # The ledger
//
// Run keeps an append-only JSONL ledger (fsync'ed line by line) of every
// batch it creates: an "intent" line with the batch's tag and the custom
// ids it holds is written before the provider is asked to create it, a
// "submitted" line with the provider's batch id after, an "ingested" line
// once its results are in the cache (with the ids that failed and why).
// A run killed at any point (kill -9 included) and started again reads the
// ledger and resumes: batches already submitted are polled, not created
// again; a batch whose creation was cut between the provider's answer and
// the "submitted" line is found again by its tag (OpenAI: the batch's
// metadata) or by its size and creation time (Anthropic, whose batches
// carry no metadata); results downloaded but not marked ingested are
// downloaded again (storing an answer twice is harmless). Only requests of
// no batch are submitted; requests that failed or expired in their batch
// are submitted again only when Options.Resubmit is set.
package batch
