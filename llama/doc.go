// Package llama is the built-in generative model M of the reverse-bottleneck
// pipeline (S_anchor → p → M → S_gen): the student engine that turns a prompt
// p into generated text S_gen. It is a self-contained, pure-Go (no cgo)
// inference and fine-tuning engine for Llama-architecture transformers
// (RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU).
//
// Supported inputs:
//
//   - llama2.c "legacy" checkpoints (a header of seven int32 values followed
//     by float32 weights; a negative vocabulary size marks a separate
//     classifier) together with the llama2.c tokenizer file
//     (tokenizer.bin / tok512.bin style);
//   - GGUF files (versions 2 and 3, little endian) of the architectures
//     "llama", "gpt2" and "qwen2" (llama.cpp's tensor names and metadata
//     keys) with f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K or q6_K
//     tensors, memory-mapped where the platform allows; the weight
//     matrices stay in their file encoding and the forward pass multiplies
//     by them in place (package quant: activations quantised to 8 bits per
//     block where the weight type calls for it, AVX2 kernels). Training,
//     [Model.Params] and the writers first expand such a model to float32
//     ([Model.Dequantize]). The SentencePiece vocabulary, scores, token
//     types and BOS/EOS ids come from the tokenizer.ggml.* metadata
//     (byte-level BPE vocabularies, tokenizer.ggml.model "gpt2", through
//     [GGUFTokenizerLoader]), the chat template from tokenizer.chat_template;
//   - Hugging Face checkpoint folders ([LoadHF]).
//
// Only local paths are read: hf://owner/repo[@revision]/path references
// are downloaded by the caller first (package llm's ResolveModel).
//
// [Load] picks the format from the file magic. Malformed files yield
// wrapped errors; sizes and offsets are checked against the file size
// before anything is allocated.
//
// A loaded [Model] offers a forward pass with a key/value cache ([State]),
// sampling-based generation with temperature, top-k, top-p, seeds and stop
// sequences ([Model.Generate], [Model.GenerateBatch]), continuation
// log-probabilities ([Model.LogProb]) and mean-pooled hidden-state
// embeddings ([Model.Embed]). All generation runs one loop ([Model.Decode]:
// a context checked before every step and a per-token callback); a
// [Batcher] runs it for many sequences at once by continuous batching (one
// batched forward step for every active sequence, requests joining and
// leaving between steps, the same tokens as alone). Each State splits its matrix–vector products
// by output rows over a persistent team of goroutines ([Model.SetThreads]);
// the results do not depend on the number. The tokenizer ([Tokenizer]) reproduces
// SentencePiece BPE with byte fallback the way llama2.c does, and the
// arithmetic follows the reference order of operations, so greedy output
// matches llama2.c byte for byte.
//
// Full-parameter training (the student of the paper's App. G.1.4) has two
// paths. The reference is an exact float64 single-sequence backward pass
// ([Model.LossAndGrad], [AdamW], [Model.TrainStep]). The fast path is a
// float32 forward and backward pass over batches of B sequences of T
// positions ([Model.NewTrainWorkspace], [Batch]) with a per-position loss
// mask, parallel over a fixed pool of goroutines with results that do not
// depend on their number, and no allocation per step; on amd64 its matrix
// products, attention and exponentials use AVX2/FMA kernels (the purego
// build tag selects the portable loops). [Trainer] drives it: records
// ([Example], [EncodeExamples]) or token sequences ([Sequence]) are packed
// or padded into seeded batches, optionally with the loss on responses
// only; [AdamW32] (no weight decay on RMSNorm weights), global-norm
// clipping ([ClipGradNorm]), linear warm-up and cosine decay
// ([CosineSchedule]), held-out loss and perplexity every N steps and a
// per-step callback. Models start from a checkpoint or from a seeded
// random initialisation ([NewRandomModel], [Model.InitRandom]).
//
// Trained models are saved as llama2.c checkpoints with their tokenizer
// file ([Model.SaveLlama2c], [Tokenizer.WriteLlama2c]) or as GGUF files
// with f32 tensors and the tokenizer embedded ([Model.SaveGGUF]); both
// load back with [Load] and give identical logits. [Model.SaveGGUFAs]
// writes the matrices in another encoding (f16, q8_0, q4_K, ...); every
// GGUF file written records general.file_type, which llama.cpp's tools
// require.
package llama
