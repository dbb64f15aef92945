package main

import (
	"os"
	"runtime"
	"strings"

	"github.com/ggmi-dev/ggmi/internal/budget"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/textlab"
)

// The estimates below are upper-bound-minded sums of the structures that
// grow with a command's flags and inputs, calibrated against the peak
// resident memory of real runs (curate on GSM8K train: about 15 bytes per
// input byte; generate's plan: about 3 KB per request).

// fileBytes is the size of the local regular files among paths (URIs and
// missing files count 0: their errors come later, with their own message).
func fileBytes(paths ...string) float64 {
	var n float64
	for _, p := range paths {
		if p == "" || strings.Contains(p, "://") {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			n += float64(st.Size())
		}
	}
	return n
}

// curateMemory: the records, their tokens, MinHash signatures and the
// ROUGE-L index grow with the input; the evaluation split's 13-gram set
// with its size.
func curateMemory(in, against, eval string) []budget.Term {
	return []budget.Term{
		{Bytes: 20 * fileBytes(in, against)},
		{Bytes: 40 * fileBytes(eval)},
		{Bytes: 64 << 20},
	}
}

// generateMemory: the plan and journal per request, the answers kept for
// curation, and, for the built-in engine, the weights plus each worker's
// key/value cache.
func generateMemory(o *generateOptions, workers int) []budget.Term {
	if o.workers > 0 {
		workers = o.workers
	}
	perPrompt := max(o.perPrompt, 1)
	prompts := float64(o.target/perPrompt + 1)
	requests := prompts * float64(max(o.samples, 1))
	anchors := fileBytes(o.anchors)
	// A prompt holds --demos anchor records; their mean size is unknown
	// before reading, so a tenth of the file (at most 4 KB each) stands in.
	demo := min(anchors/10+256, 4096)
	answer := float64(max(o.maxTokens, 256)) * 4 * float64(max(o.n, 1))
	// The answers grow with both the requests and their length: name
	// the one that is out of the ordinary.
	answerFlag := "--target"
	if o.maxTokens > 8192 || o.n > 8 {
		answerFlag = "--max-tokens or --n"
	}
	terms := []budget.Term{
		{Bytes: requests * (3072 + float64(max(o.demos, 0))*demo*2), Flag: "--target"},
		{Bytes: requests * answer * 2, Flag: answerFlag},
		{Bytes: 20 * anchors},
		{Bytes: 64 << 20},
	}
	if path, ok := strings.CutPrefix(o.model, "builtin:"); ok {
		if h, err := llama.ReadHeader(path); err == nil {
			c := h.Config
			kv := 2 * float64(c.NLayers) * float64(c.SeqLen) * float64(c.Dim/max(c.NHeads, 1)*c.NKVHeads) * 4
			act := float64(4*c.Dim+2*c.HiddenDim+2*c.VocabSize+c.NHeads*c.SeqLen) * 4
			terms = append(terms,
				budget.Term{Bytes: float64(h.Bytes), Flag: "the model's size"},
				budget.Term{Bytes: float64(workers) * (kv + act), Flag: "--workers"})
		}
	}
	return terms
}

// textlabMemory: every world's plan and result are made before training;
// each worker holds a fine-tuned M and a student with their gradients and
// Adam moments, and the activations of one batch.
func textlabMemory(opt textlab.Options, model string) []budget.Term {
	points := float64(len(opt.SweepK) + len(opt.SweepJ) + len(opt.SweepL) + 1)
	worlds := points * float64(max(opt.Seeds, 1))
	maxSrc := 0
	for _, l := range [][]int{opt.SweepK, opt.SweepJ, opt.SweepL, {opt.K + opt.J + opt.L}} {
		for _, v := range l {
			maxSrc = max(maxSrc, v)
		}
	}
	maxSrc += opt.K + opt.J + opt.L
	texts := float64(maxSrc) * float64(opt.AnchorsPerSource+opt.GeneratorPerSource+opt.HeldOutPerSource)
	perWorld := 16*texts + 64*float64(opt.Synthetic) + 16<<10
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	w := min(float64(workers), worlds)
	terms := []budget.Term{
		{Bytes: worlds * perWorld, Flag: "--seeds"},
		{Bytes: 96 << 20}, // the sources, the base model and the runtime
	}
	if h, err := llama.ReadHeader(model); err == nil {
		c := h.Config
		params := float64(c.NumParams())
		act := float64(opt.Batch) * float64(opt.SeqLen) *
			(float64(c.NLayers)*float64(12*c.Dim+3*c.HiddenDim+c.NHeads*opt.SeqLen) + 2*float64(c.VocabSize)) * 4
		terms = append(terms, budget.Term{Bytes: w * (8*4*params + act), Flag: "--workers"})
	}
	return terms
}
