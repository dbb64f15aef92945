// Package synth implements the reverse-bottleneck paper's model of
// generation ("Towards a Theoretical Understanding of Synthetic Data in LLM
// Post-Training", Gan & Liu, §3.2 and App. G.1.2): the prompt
// p = E(e_task, e_condition, e_demo) built from the anchor data S_anchor, and
// the parsing of the model's output M(p) into the records of S_gen, each with
// its provenance, so that every link of the chain (see package dataset)
// stays traceable.
//
// # Prompts
//
// A [Template] is the map E: a Go text/template rendered with [TemplateData]
// (the task element e_task, a [Condition] e_condition made of the diversity
// factors topic, style, persona and length, the demonstrations e_demo drawn
// from the anchors, the number N of records asked for and an optional JSON
// schema). [DefaultTemplate] asks an instruction-tuned model for a JSON array
// of N tasks with "instruction", "context" and "response", in the spirit of
// App. G.1.2; [CompletionTemplate] lays the demonstrations out as JSON lines
// for a base model to continue.
//
// Demonstrations are chosen by a [Selector]: [RandomSelector] (seeded),
// [StratifiedSelector] (proportional to the strata of a field such as the
// category) and [DiverseSelector] (greedy farthest-point over embedding
// vectors given by a function, so no embedding package is needed). Every
// choice depends only on the seed.
//
// Conditions come from a [ConditionSpace]: every combination of the factor
// lists once per block in a seeded order (cartesian), the product in order,
// or independent seeded draws (random).
//
// A [Plan] turns anchors, k, the records per prompt, the target number of
// records, a [ConditionSpace] and a seed into the list of [Prompt]s. A
// prompt's ID hashes the template, the task, the schema, the demonstrations'
// IDs, the condition, N and the index, so a resumed run regenerates identical
// prompts with identical IDs. [Plan.DryRun] counts the requests and
// estimates the prompt tokens before anything is sent.
//
// # Parsing
//
// [Parse] (and [Parser.Parse]) finds the JSON in a model's output whatever
// its shape: one object, an array, JSON lines, fenced code blocks, numbered
// lists, objects wrapped in {"tasks": [...]}, text before and after. It
// repairs what is safe to repair (trailing commas, typographic double quotes
// used as JSON quotes, raw newlines inside strings), maps field-name variants
// onto [dataset.Record] ("instruction", "task", "question", "prompt";
// "context", "input"; "reference response", "response", "output", "answer")
// and counts every failure by reason ([ReasonNoJSON], [ReasonInvalidJSON],
// [ReasonTruncated], [ReasonMissingInstruction], [ReasonEmptyResponse], …)
// keeping the offending text for a rejects file. It never panics.
package synth
