package train

import (
	"errors"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

func TestPromptTemplates(t *testing.T) {
	cases := []struct {
		name string
		tmpl PromptTemplate
		rec  dataset.Record
		want string
	}{
		{"alpaca with context", AlpacaTemplate(), dataset.Record{Instruction: "Sum.", Input: "2 and 3"},
			"Below is an instruction that describes a task, paired with an input that provides further context. " +
				"Write a response that appropriately completes the request.\n\n### Instruction:\nSum.\n\n### Input:\n2 and 3\n\n### Response:\n"},
		{"alpaca without context", AlpacaTemplate(), dataset.Record{Instruction: "Say hi.", Input: "  "},
			"Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
				"### Instruction:\nSay hi.\n\n### Response:\n"},
		{"compact", CompactTemplate(), dataset.Record{Instruction: "Sum.", Input: "2 and 3"},
			"### Instruction:\nSum.\n\n### Input:\n2 and 3\n\n### Response:\n"},
		{"chat record", CompactTemplate(), dataset.Record{Messages: []dataset.Message{
			{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi?"}, {Role: "assistant", Content: "Hello."}}},
			"### Instruction:\nHi?\n\n### Response:\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.tmpl.Prompt(c.rec); got != c.want {
				t.Fatalf("prompt\n%q\nwant\n%q", got, c.want)
			}
		})
	}
	ex, err := CompactTemplate().Example(cases[3].rec)
	if err != nil || ex.Response != "Hello." {
		t.Fatalf("chat example %+v, %v", ex, err)
	}
	if _, err := CompactTemplate().Example(dataset.Record{ID: "x", Instruction: "No answer"}); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("record without response: %v", err)
	}
	if _, err := TemplateByName("nope"); err == nil {
		t.Fatal("unknown template accepted")
	}
	if tm, err := TemplateByName("compact"); err != nil || tm.Name != "compact" {
		t.Fatalf("compact: %+v %v", tm, err)
	}
}

// The default mask puts the loss on the response and EOS only; FullLoss
// on every token after BOS. Token counts match TokenCounter.
func TestEncodeMask(t *testing.T) {
	tok := byteTokenizer(t)
	rec := dataset.Record{Instruction: "Hi", Output: "Yo"}
	tm := CompactTemplate()
	seqs, err := tm.Encode(tok, []dataset.Record{rec}, true)
	if err != nil {
		t.Fatal(err)
	}
	s := seqs[0]
	prompt := len(tok.Encode(tm.Prompt(rec), true, false))
	if len(s.Tokens) != prompt+2+1 || tm.TokenCounter(tok)(rec) != len(s.Tokens) {
		t.Fatalf("%d tokens, prompt %d, counter %d", len(s.Tokens), prompt, tm.TokenCounter(tok)(rec))
	}
	for i, on := range s.Loss {
		if on != (i >= prompt) {
			t.Fatalf("loss flag %d = %v (prompt has %d tokens)", i, on, prompt)
		}
	}
	if s.Tokens[len(s.Tokens)-1] != tok.EOS {
		t.Fatal("sequence does not end with EOS")
	}
	full, err := tm.Encode(tok, []dataset.Record{rec}, false)
	if err != nil || full[0].Loss != nil {
		t.Fatalf("full loss: %+v %v", full, err)
	}
	if WordCount(dataset.Record{Instruction: "a b", Input: "c", Output: "d e f"}) != 6 {
		t.Fatal("word count")
	}
}
