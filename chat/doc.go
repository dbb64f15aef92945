// Package chat renders chat conversations with a model's own Jinja chat
// template.
//
// In the papers' chain a generator M never sees a conversation: an encoder
// E first turns the messages (system instruction, user turns, earlier
// assistant turns) into one prompt string p, and M continues p. For an
// instruct model E is the Jinja template its authors ship in
// tokenizer_config.json (chat_template) or in a GGUF file
// (tokenizer.chat_template); a prompt rendered any other way is a different
// encoder, and the distribution of M's replies changes with it. This package
// is that encoder: Parse compiles a template, Template.Render renders
// messages exactly as Hugging Face transformers' apply_chat_template does
// (Jinja with trim_blocks and lstrip_blocks, the injected raise_exception,
// strftime_now and tojson), and FromTokenizerConfig reads the template and
// the begin/end-of-sequence strings of a Hugging Face tokenizer folder.
//
// The Jinja engine is github.com/ardanlabs/jinja: a pure-Go engine written
// for exactly this job (the chat templates of GGUF and Hugging Face models),
// with no dependencies, released often (v1.1 to v1.12 on the module proxy;
// v1.8.0 is the newest that builds with this module's Go), safe for
// concurrent renders, and supporting what chat templates use (namespace,
// loop controls, tojson, Python string methods). General Jinja ports such as
// nikolalohinski/gonja target templating at large and were not chosen.
// Whatever the engine, the test is the same: the prompts of the Qwen3,
// Llama-3.2 and SmolLM2 templates must equal Python jinja2's, byte for byte
// (chat_test.go, with Debian's python3-jinja2).
//
// Package llm's built-in backend and ggmi serve's /v1/chat/completions use
// it when the loaded model carries a template; package chat itself imports
// nothing of ggmi, so both can depend on it.
package chat
