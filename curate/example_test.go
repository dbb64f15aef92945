package curate_test

import (
	"context"
	"fmt"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/dataset"
)

func ExampleRougeLF1() {
	a := curate.Tokenize("The cat sat on the mat.")
	b := curate.Tokenize("the cat on the mat")
	fmt.Printf("LCS %d, F1 %.4f\n", curate.LCS(a, b), curate.RougeLF1(a, b))
	// Output: LCS 5, F1 0.9091
}

func ExamplePipeline() {
	anchors := []dataset.Record{{ID: "seed-1", Instruction: "Write a short poem about the sea."}}
	gen := []dataset.Record{
		{ID: "g1", Instruction: "Write a short poem about the sea, please."},
		{ID: "g2", Instruction: "Describe the image of a sunset over the hills."},
		{ID: "g3", Instruction: "List three uses of baking soda at home."},
	}
	res, err := curate.Default(anchors, nil).Run(context.Background(), gen)
	if err != nil {
		panic(err)
	}
	for _, r := range res.Removed {
		fmt.Println(r.ID, r.Meta["curate_filter"], r.Meta["curate_reason"])
	}
	for _, r := range res.Kept {
		fmt.Println("kept", r.ID)
	}
	// Output:
	// g2 keywords keyword image
	// g1 rouge-l rouge-l > 0.7
	// kept g3
}
