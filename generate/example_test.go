package generate_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/generate"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/synth"
)

// echoModel stands for M: it answers every prompt with one task.
type echoModel struct{}

func (echoModel) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	text := fmt.Sprintf(`{"tasks":[{"instruction":"Write a poem about seed %d.","context":"","response":"A poem."}]}`, *req.Seed%100)
	return llm.Response{Model: "echo", Choices: []llm.Choice{{Text: text, FinishReason: llm.FinishStop}},
		Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 20}}, nil
}

func (echoModel) Embed(context.Context, llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{}, nil
}

func (echoModel) Models() []string { return []string{"echo"} }

// A run of four prompts asking for one record each; running it again in
// the same directory would send nothing.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "generate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	anchors := []dataset.Record{
		{ID: "a", Instruction: "Name a colour.", Output: "Blue."},
		{ID: "b", Instruction: "Name a fruit.", Output: "An apple."},
	}
	sum, err := generate.Run(context.Background(), generate.Options{
		Plan:    synth.Plan{Anchors: anchors, K: 1, PerPrompt: 1, Target: 4, Seed: 1},
		Backend: llm.Limited(echoModel{}, llm.LimitOptions{Concurrency: 2}),
		Model:   "echo",
		Params:  generate.Params{Temperature: 0.7, MaxTokens: 256},
		Price:   llm.Price{InputPerMTok: 0.15, OutputPerMTok: 0.60},
		OutDir:  dir,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d requests, %d records, %d tokens, cost %.6f\n", sum.Done, sum.Records, sum.PromptTokens+sum.CompletionTokens, sum.Cost)
	// Output: 4 requests, 4 records, 480 tokens, cost 0.000108
}
