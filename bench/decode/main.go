// Command decode times the built-in engine on a model file: a prompt of
// -prompt tokens processed position by position (prefill), then -tokens
// greedy decode steps, on -threads goroutines. It prints the rates so the
// side-by-side script can compare them with llama.cpp's on the same file;
// run it under /usr/bin/time -v for the peak RSS.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ggmi-dev/ggmi/llama"
)

func main() {
	model := flag.String("model", "", "GGUF or llama2.c model file")
	threads := flag.Int("threads", 0, "goroutines per sequence (0: every core)")
	prompt := flag.Int("prompt", 128, "prompt tokens")
	tokens := flag.Int("tokens", 64, "decode steps")
	flag.Parse()
	if *model == "" || *prompt < 1 || *tokens < 1 || *threads < 0 {
		fmt.Fprintln(os.Stderr, "usage: decode -model FILE [-threads N] [-prompt N] [-tokens N]")
		os.Exit(2)
	}
	m, err := llama.Load(*model)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m.SetThreads(*threads)
	n := *prompt + *tokens
	if n > m.Config.SeqLen {
		fmt.Fprintf(os.Stderr, "%d positions exceed the context of %d\n", n, m.Config.SeqLen)
		os.Exit(2)
	}
	st := m.NewStateN(n)
	t0 := time.Now()
	for pos := range *prompt {
		if err := st.ForwardNoLogits((pos*7919)%m.Config.VocabSize, pos); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	pre := time.Since(t0)
	tok := 1
	t1 := time.Now()
	for pos := *prompt; pos < n; pos++ {
		logits, err := st.Forward(tok, pos)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		tok = llama.Argmax(logits)
	}
	dec := time.Since(t1)
	fmt.Printf("model %s type %s threads %d: prefill %.1f tok/s (%d tokens), decode %.1f tok/s (%d tokens)\n",
		*model, m.WeightType(), m.Threads(), float64(*prompt)/pre.Seconds(), *prompt, float64(*tokens)/dec.Seconds(), *tokens)
}
