// Package train makes the downstream side of the reverse-bottleneck paper
// ("Towards a Theoretical Understanding of Synthetic Data in LLM
// Post-Training", Gan & Liu) measurable: it trains student models on
// S_gen, S_anchor, the real train split or real:synthetic mixes, evaluates
// them on the real held-out split, and rates their answers with an LLM
// judge. It implements App. G.1.4 (training on synthetic data), App. G.1.5
// (evaluation by a judge comparing with the reference answer), App. G.2
// and Table 1 (softmax-normalised ratings per configuration), and the
// empirical side of Lemma 3.1 (§3.3): the generalization error
// Err(π^S) = |R_D(π^S) − R̂_S(π^S)|, estimated as the gap between the mean
// token loss on the real test split and on the training set.
//
// # Training text
//
// A record becomes a prompt and a response with a PromptTemplate:
// AlpacaTemplate (Alpaca's instruction / input / response format, whose
// generation template the paper adapts in App. G.1.2) or CompactTemplate
// (the same sections without the opening sentence, for small context
// windows). The built-in engine encodes BOS, the prompt, the response and
// EOS; by default the loss covers only the response and EOS (the prompt is
// context, the usual instruction-tuning mask), Options.FullLoss puts it on
// every token. Test losses use the same mask, so R_test and R̂_train are
// comparable.
//
// # Students with the built-in engine
//
// Train copies a pretrained checkpoint (Options.Base) or builds a model of
// a given Shape from scratch with the base's tokenizer, trains it with the
// engine's batched float32 trainer (AdamW, warm-up and cosine decay,
// gradient clipping; one record per row, truncated to SeqLen), and
// reports the test loss before training, R̂_train and R_test after it
// (mean loss per predicted token and perplexity, each record scored on its
// own), and the gap. The paper fine-tunes GPT-2 for 20 epochs
// (Options.Epochs = 20). RunSeeds runs a Configuration over several seeds
// and reports Student-t 95% intervals over the seeds (MeanCI). Mix draws
// real:synthetic training sets whose token counts follow a ratio (1:0,
// 4:1, 1:1, 0:1, …) within a fixed budget; the diversity paper
// (arXiv 2410.15226) studies this ratio.
//
// # External trainers
//
// RunExternal lets any trainer (TRL, axolotl, a script around
// transformers) play the student. In a working directory ggmi writes
//
//	train.alpaca.jsonl, eval.alpaca.jsonl   {"id", "instruction", "input", "output"} per line
//	train.chat.jsonl,   eval.chat.jsonl     {"id", "messages": [{"role": "user", "content"},
//	                                        {"role": "assistant", "content"}]} per line
//	out/                                    empty, for the trainer
//
// (the user turn is the instruction, then a blank line and the context
// when there is one), runs the command template with its placeholders
// replaced — {train} and {eval} (the files of ExternalOptions.Format,
// Alpaca by default), {train_alpaca}, {eval_alpaca}, {train_chat},
// {eval_chat}, {out}, {dir}, {seed} — in that directory, with GGMI_SEED
// set, standard output and error in train.log, and an optional timeout
// that kills the trainer's process group. The command is split into words
// like a shell does (quotes, backslashes), but no shell runs it. For
// example:
//
//	python train.py --train {train} --eval {eval} --out {out} --seed {seed}
//
// The trainer must exit with status 0 after writing out/eval.json:
//
//	{
//	  "train_loss": 1.92,        // optional: mean loss per token on the training file (R̂_train)
//	  "eval_loss": 2.31,         // optional: the same on the eval file (R_test)
//	  "eval_perplexity": 10.07,  // optional: exp(eval_loss) is filled in when absent
//	  "train_tokens": 51234,     // optional: predicted tokens behind each loss
//	  "eval_tokens": 12040,
//	  "predictions": [           // optional: generated answers, for the judge
//	    {"id": "<id of an eval line>", "response": "…"}
//	  ]
//	}
//
// At least eval_loss or one prediction must be present; losses are finite
// and non-negative nats per token (ideally over the response tokens only,
// as ggmi's students); each prediction names a distinct eval record.
// PredictionItems turns the predictions into judge items.
//
// # Judge
//
// Judge rates each answer against the reference answer with an LLM, using
// DefaultJudgePrompt: our own prompt in the style of MT-bench's
// single-answer grading with a reference (Zheng et al., 2023), as the
// paper's App. G.1.5 adapts it — the judge explains briefly and ends with
// "[[rating]]" on a 1–10 scale. ParseRating reads "[[7]]", "[[7.5]]",
// "Rating: [[8]]" (the last such mark wins), then MT-bench's single-bracket
// fallback "[7]", then "Rating: 7"; replies without a valid rating are
// counted by reason (empty, no rating, not a number, outside 1–10, invalid
// JSON, prompt too long). With Judge.Schema the judge is asked instead for
// {"explanation", "rating"} under a JSON schema (rating an integer from 1
// to 10) through llm.Request.Format; a backend that rejects the format
// with llm.ErrInvalidRequest is asked again for free text.
//
// BuildRatingTable gives the mean rating of every configuration with its
// Student-t 95% interval over the rated items, per benchmark or category
// and over all items, and the softmax of the mean ratings over the
// configurations of each row: Table 1 of App. G.2 reports
// softmax_c(mean rating_c) over {Base, 3-ins, 10-ins, 20-ins, Real}
// (0.1409, 0.1863, 0.1965, 0.2015, 0.2745), so a difference of d in mean
// rating is a factor e^d between the normalised entries.
package train
