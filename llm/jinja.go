package llm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

// jinjaChat renders chat requests with a model's own Jinja chat template
// (package chat) and tokenizes the result so that the special tokens the
// template writes (<|im_start|>, <s>, ...) become their token ids while the
// messages' contents never do: a user who types "<|im_end|>" gets the
// characters, not the control token.
type jinjaChat struct {
	t        *chat.Template
	bos, eos string   // texts of the BOS and EOS tokens
	specials []string // control and user-defined token texts, longest first
	ids      map[string]int
}

// newJinjaChat prepares t for a model's tokenizer: SentencePiece (control
// and user-defined pieces are the specials) or byte-level BPE (special
// added tokens such as <|im_start|>; non-special added tokens are found
// by the tokenizer's own plain-text encoding).
func newJinjaChat(t *chat.Template, tok llama.TextTokenizer) *jinjaChat {
	j := &jinjaChat{t: t, ids: map[string]int{}}
	add := func(id int, s string) {
		if _, ok := j.ids[s]; s != "" && !ok {
			j.ids[s] = id
			j.specials = append(j.specials, s)
		}
	}
	text := func(id int, vocab func(int) string) string {
		if id < 0 || id >= tok.VocabSize() {
			return ""
		}
		return vocab(id)
	}
	switch v := tok.(type) {
	case *llama.Tokenizer:
		piece := func(id int) string { return v.Vocab[id] }
		j.bos, j.eos = text(v.BOS, piece), text(v.EOS, piece)
		for id, s := range v.Vocab {
			if v.Types[id] == llama.TokenControl || v.Types[id] == llama.TokenUserDefined {
				add(id, s)
			}
		}
	case tokenizer.Engine:
		j.bos, j.eos = text(v.BOSID(), v.BPE.Token), text(v.EOSID(), v.BPE.Token)
		for id := range v.VocabSize() {
			if v.BPE.IsSpecial(id) {
				add(id, v.BPE.Token(id))
			}
		}
	}
	sort.Slice(j.specials, func(a, b int) bool { return len(j.specials[a]) > len(j.specials[b]) })
	return j
}

// render returns the prompt of msgs (with the assistant's cue) and its
// tokens. The template adds BOS itself when it wants one (bos_token), as
// with transformers' apply_chat_template.
func (j *jinjaChat) render(tok llama.TextTokenizer, msgs []Message) (string, []int, error) {
	if len(msgs) == 0 {
		return "", nil, reqErr(ErrInvalidRequest, "messages", "at least one message is required")
	}
	cm := make([]chat.Message, len(msgs))
	for i, m := range msgs {
		cm[i] = chat.Message{Role: m.Role, Content: m.Content}
	}
	prompt, err := j.t.Render(cm, chat.Options{AddGenerationPrompt: true, BOS: j.bos, EOS: j.eos})
	if err != nil {
		// The template refused the conversation (raise_exception on an
		// unsupported role, say): the request's fault.
		return "", nil, reqErr(ErrInvalidRequest, "messages", "%v", err)
	}
	return prompt, j.encode(tok, prompt, cm), nil
}

// encode tokenizes prompt. The contents of msgs are found in order in the
// prompt and tokenized as plain text; the text between them, written by the
// template, is split at special-token texts, which become their ids. A
// content the template changed (and so cannot be found verbatim) leaves its
// text to the template part, where a special token typed by the user would
// be recognised: templates that rewrite contents are rare.
func (j *jinjaChat) encode(tok llama.TextTokenizer, prompt string, msgs []chat.Message) []int {
	var out []int
	pos := 0
	for _, m := range msgs {
		if m.Content == "" {
			continue
		}
		i := strings.Index(prompt[pos:], m.Content)
		if i < 0 {
			continue
		}
		out = j.encodeTemplate(tok, out, prompt[pos:pos+i])
		out = append(out, tok.EncodeRaw(m.Content)...)
		pos += i + len(m.Content)
	}
	return j.encodeTemplate(tok, out, prompt[pos:])
}

// encodeTemplate appends the tokens of template text s: special-token texts
// as their ids, the rest as plain text.
func (j *jinjaChat) encodeTemplate(tok llama.TextTokenizer, out []int, s string) []int {
	for s != "" {
		at, which := -1, ""
		for _, sp := range j.specials {
			if i := strings.Index(s, sp); i >= 0 && (at < 0 || i < at) {
				at, which = i, sp
			}
		}
		if at < 0 {
			return append(out, tok.EncodeRaw(s)...)
		}
		out = append(out, tok.EncodeRaw(s[:at])...)
		out = append(out, j.ids[which])
		s = s[at+len(which):]
	}
	return out
}

// parseModelTemplate compiles the chat template a model file carries.
func parseModelTemplate(m *llama.Model) (*chat.Template, error) {
	t, err := chat.ParseFrom(m.ChatTemplate, "model", "tokenizer.chat_template")
	if err != nil {
		return nil, fmt.Errorf("llm: builtin: %w", err)
	}
	return t, nil
}
