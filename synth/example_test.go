package synth_test

import (
	"fmt"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/synth"
)

func ExampleParse() {
	out := "Sure! Here are the tasks:\n```json\n[\n" +
		`  {"instruction": "Name a primary colour.", "context": "", "response": "Red."},` + "\n" +
		`  {"task": "Add the numbers.", "input": "2, 3", "answer": "5"},` + "\n" +
		`  {"instruction": "Say nothing.", "response": ""},` + "\n" +
		"]\n```\nHope this helps."
	p := synth.Prompt{ID: "p0", DemoIDs: []string{"seed_task_1"}}
	res := synth.Parse(out, func(int) dataset.Provenance { return p.Provenance("m", nil, "", dataset.Provenance{}.Time) })
	for _, r := range res.Records {
		fmt.Printf("%q | %q | %q | prompt %s\n", r.Instruction, r.Input, r.Output, r.Provenance.PromptID)
	}
	fmt.Println(res.Reasons)
	// Output:
	// "Name a primary colour." | "" | "Red." | prompt p0
	// "Add the numbers." | "2, 3" | "5" | prompt p0
	// map[empty response:1]
}

func ExamplePlan_DryRun() {
	anchors := []dataset.Record{
		{ID: "a", Instruction: "Give a synonym of happy.", Output: "Glad."},
		{ID: "b", Instruction: "What is 2+2?", Output: "4"},
		{ID: "c", Instruction: "Summarise the text.", Input: "Cats sleep a lot.", Output: "Cats sleep much."},
	}
	plan := synth.Plan{Anchors: anchors, K: 2, PerPrompt: 20, Target: 50, Seed: 1,
		Conditions: synth.ConditionSpace{Topics: []string{"science", "history"}}}
	s, err := plan.DryRun(nil, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Requests, s.Records, s.TokenMethod)
	// Output: 3 50 chars/4
}
