// Package experiment runs ggmi's experiments end to end from one YAML file:
// the reverse-bottleneck chain S_anchor → p = E(e_task, e_condition, e_demo)
// → M → ε → S_gen (Gan & Liu, §3.2, App. G.1.1–G.1.3), the measurement of
// the theory's quantities on every S_gen (App. G.3–G.4: information gain
// proxies, entropies, divergences; the diversity paper's measures), and the
// downstream validation of App. G.1.4–G.2: students trained on the data,
// evaluated on the real held-out split and judged, with the paper's
// softmax-normalised table. Each configuration's student is also compared
// with one trained on S_anchor alone (the same seeds): the difference of
// held-out losses is the text analogue of the KL Gap of App. B.
//
// The paper leaves open whether its quantities predict the downstream
// result; the report stage answers it for the configurations of an
// experiment: the rank correlation, with a bootstrap interval, between every
// predictor and the measured gain.
//
// A Config is one experiment file; Configurations expands its sweep.
// Runner executes the stages (data, generate, curate, measure, train,
// judge, report) into a run directory:
//
//	runs/<name>/
//	  manifest.json          inputs' hashes, ggmi version, config, seeds, timings
//	  data/                  anchors.jsonl train.jsonl test.jsonl (the real data)
//	  configs/<id>/          one directory per configuration:
//	    gen/                 prompts, raw cache, synthetic.jsonl, rejects.jsonl
//	    data/                synthetic.jsonl (after ε), removed.jsonl
//	    metrics.json         every estimator's Result (divergences against the test split)
//	    students/            per mix and seed: eval.json
//	    judge.json
//	  baseline/              students on real data only (the train split's mixes and
//	                         S_anchor alone), their judging, and the untrained base
//	  report.html report.md results.json
//
// Every stage records a fingerprint of its inputs when it completes; a
// rerun skips the stages whose fingerprint is unchanged and resumes the
// others (generation never repeats a request whose answer is in the cache).
// Shards split the per-configuration work between machines (--shard i/N;
// a Kubernetes indexed job passes its JOB_COMPLETION_INDEX, a Slurm job array its SLURM_ARRAY_TASK_ID); Merge joins
// the shards' run directories (and the shared baseline) before the report.
package experiment
