package measure

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/ggmi-dev/ggmi/llama"
)

// Perplexity under a reference model (a baseline of the diversity paper,
// arXiv 2410.15226, which scores texts with GPT-2): the perplexity of text
// i is exp(−ℓ_i), with ℓ_i the mean natural-log probability of its tokens
// given the tokens before it (the first token is conditioned on BOS).

// PerplexityOptions configure Perplexity.
type PerplexityOptions struct {
	// Workers is the number of texts scored at once [2]; the result does
	// not depend on it.
	Workers int
}

// Perplexity scores each text under m (llama.Model.LogProbTokens after
// BOS; the text is tokenised like a prompt, with the dummy-prefix space)
// and returns the mean per-text perplexity (Name "perplexity") with a 95%
// Student-t interval over texts. Texts longer than the context window are
// cut to it (counted in Settings["truncated"]). Settings also hold the
// corpus perplexity exp(−Σ log p / Σ tokens), the mean token
// log-probability and the per-text perplexities and token counts.
func Perplexity(m *llama.Model, texts []string, opt PerplexityOptions) (Result, error) {
	if m == nil || m.Tokenizer == nil {
		return Result{}, errors.New("measure: perplexity needs a model with a tokenizer")
	}
	if err := checkTexts(texts, 1); err != nil {
		return Result{}, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	perToken := make([][]float64, len(texts))
	truncated := make([]bool, len(texts))
	errs := make([]error, len(texts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(texts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				toks := m.Tokenizer.Encode(texts[i], true, false)
				if len(toks) < 2 {
					errs[i] = fmt.Errorf("measure: perplexity: text %d has no tokens", i)
					continue
				}
				if len(toks) > m.Config.SeqLen {
					toks, truncated[i] = toks[:m.Config.SeqLen], true
				}
				r, err := m.LogProbTokens(toks[:1], toks[1:])
				if err != nil {
					errs[i] = fmt.Errorf("measure: perplexity of text %d: %w", i, err)
					continue
				}
				perToken[i] = r.PerToken
			}
		}()
	}
	for i := range texts {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	res, err := PerplexityFromLogProbs(perToken)
	if err != nil {
		return Result{}, err
	}
	nt := 0
	for _, t := range truncated {
		if t {
			nt++
		}
	}
	res.Settings["truncated"] = nt
	res.Settings["model_context"] = m.Config.SeqLen
	return res, nil
}

// PerplexityFromLogProbs is Perplexity from per-token log-probabilities
// already at hand, one slice per text (for example the Choice.LogProbs of
// a backend that returns them, or an external scorer's).
func PerplexityFromLogProbs(perToken [][]float64) (Result, error) {
	if len(perToken) == 0 {
		return Result{}, errors.New("measure: perplexity of no texts")
	}
	ppl := make([]float64, len(perToken))
	counts := make([]int, len(perToken))
	var sum float64
	var n int
	for i, lp := range perToken {
		if len(lp) == 0 {
			return Result{}, fmt.Errorf("measure: perplexity: text %d has no tokens", i)
		}
		var s float64
		for j, v := range lp {
			if math.IsNaN(v) || v > 0 {
				return Result{}, fmt.Errorf("measure: perplexity: text %d token %d has log-probability %g", i, j, v)
			}
			s += v
		}
		ppl[i], counts[i] = math.Exp(-s/float64(len(lp))), len(lp)
		sum += s
		n += len(lp)
	}
	set := map[string]any{"per_text": ppl, "tokens": counts, "total_tokens": n,
		"mean_token_logprob": sum / float64(n), "corpus_perplexity": math.Exp(-sum / float64(n))}
	return Result{Name: "perplexity", Value: meanOf(ppl), CI95: tCI95(ppl), N: len(perToken), Settings: set}, nil
}

// PerplexityFromMeanLogProbs is the mean per-text perplexity exp(−ℓ_i) from
// per-text mean token log-probabilities ℓ_i (Input.LogProbs).
func PerplexityFromMeanLogProbs(meanLogProbs []float64) (Result, error) {
	if len(meanLogProbs) == 0 {
		return Result{}, errors.New("measure: perplexity of no texts")
	}
	ppl := make([]float64, len(meanLogProbs))
	for i, l := range meanLogProbs {
		if math.IsNaN(l) || l > 0 || math.IsInf(l, 0) {
			return Result{}, fmt.Errorf("measure: perplexity: mean log-probability %d is %g", i, l)
		}
		ppl[i] = math.Exp(-l)
	}
	return Result{Name: "perplexity", Value: meanOf(ppl), CI95: tCI95(ppl), N: len(ppl),
		Settings: map[string]any{"per_text": ppl}}, nil
}
