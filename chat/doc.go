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
// Package llm's built-in backend and ggmi serve's /v1/chat/completions use
// it when the loaded model carries a template; package chat itself imports
// nothing of ggmi, so both can depend on it.
package chat
