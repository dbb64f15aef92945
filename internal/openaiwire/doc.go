// Package openaiwire holds the JSON of OpenAI's chat completion and
// completion endpoints as ggmi speaks it on both sides: the request body
// the llm client sends, and the answers (whole or as stream chunks),
// model entries and usage that `ggmi serve` writes and the client reads.
// It holds types and small helpers only; the conversions from and to the
// llm package's requests and responses stay with the client (llm) and the
// server (serve), and so does the validation of incoming requests.
package openaiwire
