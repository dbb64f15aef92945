// Package tokenizer implements the byte-level BPE tokenizers of the model
// families the built-in engine runs (GPT-2, Llama 3, Qwen2/2.5/3,
// SmolLM2): loaded from a Hugging Face tokenizer.json, from GPT-2's
// encoder.json + vocab.bpe, or from GGUF metadata (tokenizer.ggml.model =
// "gpt2"). It serves the papers' App. G setup, where GPT-2 students are
// fine-tuned on synthetic data and Llama-3.x models generate it: the
// tokens are what the students' held-out loss and the generators' prompts
// are measured in.
//
// Encoding follows the Hugging Face tokenizers pipeline: added tokens are
// split out first (special ones only by EncodeSpecial, so user text cannot
// inject control tokens), then the text is normalized (NFC, ...),
// pre-tokenized (Split with the GPT-2, Llama-3 or Qwen2 regex, Digits,
// ByteLevel) and every pre-token is merged by rank. The pre-tokenizer
// regexes use lookahead (\s+(?!\S)), which Go's regexp lacks, so they are
// reproduced by hand-written scanners (pretok.go) chosen by the pattern
// string; an unknown pattern is refused with an error naming the file and
// the field.
package tokenizer
