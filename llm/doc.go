// Package llm is the generative model M of the reverse-bottleneck chain
// S_anchor → p = E(e_task, e_condition, e_demo) → M → S_gen ("Towards a
// Theoretical Understanding of Synthetic Data in LLM Post-Training", Gan &
// Liu, §3): whatever turns a prompt p into generated text S_gen = M(p) + ε.
//
// Backend is the small interface every model sits behind: Generate takes a
// prompt or chat messages plus sampling parameters (n, seed, temperature,
// top-p, max tokens, stop sequences, log-probabilities) and returns the
// generated choices with token counts; Embed turns texts into vectors.
// Decorators (caches, rate limiters) and remote endpoints implement the same
// interface, so the rest of ggmi treats every model alike.
//
// Builtin is the Backend over the pure-Go engine of package llama. Every
// choice of every request is one sequence of a llama.Batcher: up to Workers
// sequences are decoded together by continuous batching (one forward step
// for all of them, each weight matrix read once per step; requests join and
// leave between steps), the rest wait in arrival order. It honours context
// cancellation between tokens and streams text token by token through
// Request.OnDelta. Every sequence draws from its own random stream derived
// from the request's seed and its logits do not depend on the sequences
// beside it, so equal seeds give equal output whatever the load or the
// number of workers.
//
// ParseModelSpec reads where a model comes from as written on a command line
// ("http(s)://HOST/v1#MODEL" for an OpenAI-compatible endpoint, "builtin:PATH"
// or "hf://owner/repo/file" for the built-in engine), so that every command
// names models the same way.
//
// Base models have no chat format of their own; ChatTemplate renders chat
// messages as plain text (DefaultChatTemplate: "System: …\nUser: …\nAssistant:"
// with a stop on "\nUser:").
package llm
