// Command greedyids prints, one per line, the token ids that ggmi's Go
// engine generates greedily from BOS with a llama2.c checkpoint, for
// comparison with the C reference in bench/c/run.c.
//
//	go run ./bench/c/greedyids [-n 200] MODEL.bin
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ggmi-dev/ggmi/llama"
)

func main() {
	steps := flag.Int("n", 200, "number of tokens to generate")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: greedyids [-n STEPS] MODEL.bin")
		os.Exit(2)
	}
	m, err := llama.LoadLlama2c(flag.Arg(0), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "greedyids:", err)
		os.Exit(1)
	}
	const bos = 1 // llama2.c convention, as in run.c
	g, err := m.GenerateTokens([]int{bos}, llama.GenerateOptions{MaxTokens: *steps, IgnoreEOS: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "greedyids:", err)
		os.Exit(1)
	}
	for _, t := range g.Tokens {
		fmt.Println(t)
	}
}
