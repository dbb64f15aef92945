// Package serve exposes any llm.Backend — the generative model M of the
// reverse-bottleneck chain S_anchor → p → M → S_gen — as an OpenAI-compatible
// HTTP API, so that the same synthetic-data pipelines and third-party clients
// can drive the built-in engine and remote endpoints alike.
//
// Endpoints:
//
//	GET  /v1/models            the backend's models
//	GET  /v1/models/{id}       one model
//	POST /v1/completions       prompt completion (prompt: string or array of strings)
//	POST /v1/chat/completions  chat completion
//	POST /v1/embeddings        embeddings (input: string or array of strings)
//
// Both completion endpoints accept model, n, seed, temperature (default 1,
// range [0, 2]), top_p (default 1), max_tokens (≥ 1; chat also
// max_completion_tokens; completions default to 16, chat to the rest of the
// context), stop (string or up to 16 strings), stream with
// stream_options.include_usage (server-sent events in OpenAI's chunk format,
// ending with "data: [DONE]"), and log-probabilities (chat: logprobs and
// top_logprobs ≤ 20; completions: logprobs ≤ 5). The extension ignore_eos
// (as in vLLM) keeps generating past the end-of-sequence token. Parameters
// the server cannot honour (echo, suffix, tools, token-id prompts) are
// rejected rather than ignored; other unknown fields are ignored.
//
// Errors use OpenAI's body {"error": {"message", "type", "param", "code"}}:
//
//	status  type                   code
//	400     invalid_request_error  invalid_json, invalid_type, invalid_value,
//	                               missing_required_parameter, unsupported_parameter,
//	                               context_length_exceeded
//	404     invalid_request_error  model_not_found, not_found (unknown path)
//	405     invalid_request_error  method_not_allowed
//	413     invalid_request_error  request_too_large
//	500     server_error           server_error
//	503     server_error           unavailable (backend closed)
//
// Server.Serve shuts down gracefully when its context ends: the listener is
// closed at once (new connections are refused), requests in flight —
// streaming ones included — run to completion.
package serve
