package llama

import "testing"

func TestGreedyMatchesReference(t *testing.T) {
	cases := loadGreedyCases(t)
	for _, format := range []struct {
		name string
		load func(testing.TB) *Model
	}{{"bin", loadBin}, {"gguf", loadGGUF}} {
		t.Run(format.name, func(t *testing.T) {
			m := format.load(t)
			for _, c := range cases {
				if c.Temperature != 0 {
					t.Fatalf("reference case %q has temperature %v, want greedy", c.Prompt, c.Temperature)
				}
				got := llama2cOutput(t, m, c.Prompt, c.Steps)
				if got != c.Output {
					t.Errorf("prompt %q steps %d:\n got: %q\nwant: %q", c.Prompt, c.Steps, got, c.Output)
				}
			}
		})
	}
}
