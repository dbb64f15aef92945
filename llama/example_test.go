package llama_test

import (
	"fmt"
	"log"

	"github.com/ggmi-dev/ggmi/llama"
)

// Load a model (a local file or folder; hf:// references are downloaded
// first with package llm's ResolveModel) and sample a continuation.
// (Compiled, not run.)
func Example_generate() {
	m, err := llama.Load("stories260K.bin")
	if err != nil {
		log.Fatal(err)
	}
	g, err := m.Generate("Once upon a time", llama.GenerateOptions{
		SampleOptions: llama.SampleOptions{Temperature: 0.8, TopP: 0.9, Seed: 1},
		MaxTokens:     64,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Text)
}

// Fine-tune a model on prompt/response records with the loss on the
// responses only, then save it. (Compiled, not run.)
func Example_fineTune() {
	m, err := llama.Load("stories260K.bin")
	if err != nil {
		log.Fatal(err)
	}
	seqs, err := llama.EncodeExamples(m.Tokenizer, []llama.Example{{Prompt: "Q: ...", Response: " A: ..."}}, true)
	if err != nil {
		log.Fatal(err)
	}
	heldOut := seqs
	tr, err := llama.NewTrainer(m, seqs, heldOut, llama.TrainConfig{
		BatchSize: 8, SeqLen: 256, Steps: 500, LR: 1e-3, MinLR: 1e-4, WarmupSteps: 50,
		WeightDecay: 0.1, ClipNorm: 1, EvalEvery: 100, Seed: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	last, err := tr.Run()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(last)
	if err := m.SaveGGUF("student.gguf"); err != nil {
		log.Fatal(err)
	}
}
