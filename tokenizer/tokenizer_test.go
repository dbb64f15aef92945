package tokenizer

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// TestRoundTrip: Decode(Encode(s)) == s for both vocabularies (Qwen3's
// normalizer is NFC, so its texts are NFC already).
func TestRoundTrip(t *testing.T) {
	gpt2, qwen3 := shared(t)
	texts := []string{"", "Hello, world!", "  spaces   and\ttabs\n\n", "naïve 日本語 👨‍👩‍👧‍👦 ½", "<|endoftext|> <|im_start|>", strings.Repeat("ab ", 300), "x\u0085y\ufeffz"}
	for _, tok := range []*BPE{gpt2, qwen3} {
		for _, s := range texts {
			for _, ids := range [][]int{tok.Encode(s), tok.EncodeSpecial(s)} {
				if got := tok.Decode(ids); got != s {
					t.Errorf("Decode(Encode(%q)) = %q", s, got)
				}
				var b []byte
				for _, id := range ids {
					b = append(b, tok.DecodeBytes(id)...)
				}
				if string(b) != s {
					t.Errorf("DecodeBytes concatenation of %q = %q", s, b)
				}
			}
		}
	}
}

// TestSpecialAPI checks the accessors on the real vocabularies against
// values read off the files.
func TestSpecialAPI(t *testing.T) {
	gpt2, qwen3 := shared(t)
	for _, tc := range []struct {
		name             string
		tok              *BPE
		size, bos, eos   int
		special, regular int
	}{
		{"gpt2", gpt2, 50257, 50256, 50256, 50256, 15496},
		{"qwen3", qwen3, 151669, -1, 151645, 151644, 9707},
	} {
		if tc.tok.VocabSize() != tc.size || tc.tok.BOS() != tc.bos || tc.tok.EOS() != tc.eos {
			t.Errorf("%s: size %d bos %d eos %d", tc.name, tc.tok.VocabSize(), tc.tok.BOS(), tc.tok.EOS())
		}
		if !tc.tok.IsSpecial(tc.special) || tc.tok.IsSpecial(tc.regular) || tc.tok.IsSpecial(-1) {
			t.Errorf("%s: IsSpecial wrong", tc.name)
		}
		if id, ok := tc.tok.Lookup(tc.tok.Token(tc.regular)); !ok || id != tc.regular {
			t.Errorf("%s: Lookup(Token(%d)) = %d, %v", tc.name, tc.regular, id, ok)
		}
	}
	if !strings.Contains(qwen3.ChatTemplate(), "<|im_start|>") {
		t.Error("qwen3: chat template not read from tokenizer_config.json")
	}
	if got := gpt2.Token(15496); got != "Hello" {
		t.Errorf("gpt2 Token(15496) = %q", got)
	}
	// "<think>" is a non-special added token of Qwen3: Encode recognises
	// it, as Hugging Face tokenizers does; "<|im_end|>" only EncodeSpecial.
	if ids := qwen3.Encode("<think>"); len(ids) != 1 || ids[0] != 151667 {
		t.Errorf("qwen3 Encode(<think>) = %v, want [151667]", ids)
	}
	if ids := qwen3.Encode("<|im_end|>"); len(ids) == 1 {
		t.Errorf("qwen3 Encode(<|im_end|>) = %v, want it spelled out", ids)
	}
}

// TestFromGGUF rebuilds the Qwen3 and GPT-2 tokenizers from the slices a
// GGUF file holds (tokens by id, "a b" merges, token types, pre-tokenizer
// name) and checks every reference case against them.
func TestFromGGUF(t *testing.T) {
	gpt2, qwen3 := shared(t)
	ggufLike := func(tok *BPE, mergesFrom func() []string, pre string) *BPE {
		types := make([]int32, tok.VocabSize())
		for id := range types {
			types[id] = ggufNormal
			if tok.IsSpecial(id) {
				types[id] = ggufControl
			}
		}
		for _, a := range tok.added {
			if !a.special {
				types[a.id] = ggufUserDefined
			}
		}
		g, err := FromGGUF(tok.vocab, mergesFrom(), types, pre, tok.bos, tok.eos)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	qwenMerges := func() []string {
		var tj struct {
			Model struct{ Merges [][]string }
		}
		data, err := os.ReadFile(testshared.Path(t, "tokenizers", "qwen3", "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &tj); err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(tj.Model.Merges))
		for i, m := range tj.Model.Merges {
			out[i] = m[0] + " " + m[1]
		}
		return out
	}
	gptMerges := func() []string {
		data, err := os.ReadFile(testshared.Path(t, "tokenizers", "gpt2", "vocab.bpe"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		return lines[1:]
	}
	g2 := ggufLike(gpt2, gptMerges, "gpt-2")
	q3 := ggufLike(qwen3, qwenMerges, "qwen2")
	q3.normalize = qwen3.normalize // GGUF has no normalizer; the reference texts are NFC
	for _, c := range readRef(t, "testdata/reference_encodings.json") {
		if got := g2.Encode(c.Text); !equalIDs(got, c.GPT2) {
			t.Errorf("gguf gpt2 %q: got %v want %v", c.Text, got, c.GPT2)
		}
		if got := q3.EncodeSpecial(c.Text); !equalIDs(got, c.Qwen3) {
			t.Errorf("gguf qwen2 %q: got %v want %v", c.Text, got, c.Qwen3)
		}
	}
	if _, err := FromGGUF(gpt2.vocab, nil, nil, "falcon", -1, -1); err == nil || !strings.Contains(err.Error(), "tokenizer.ggml.pre") {
		t.Errorf("unknown pre-tokenizer: %v", err)
	}
}

// TestScanners checks the hand-written regex scanners on cases worked out
// by hand from the regexes' semantics (alternation order, greedy runs,
// the \s+(?!\S) backtrack).
func TestScanners(t *testing.T) {
	split := func(sc scanner, s string) []string {
		var out []string
		for i := 0; i < len(s); {
			j := sc(s, i)
			out = append(out, s[i:j])
			i = j
		}
		return out
	}
	for _, tc := range []struct {
		pattern, in string
		want        []string
	}{
		{PatternGPT2, "a  b", []string{"a", " ", " b"}},
		{PatternGPT2, "x   ", []string{"x", "   "}},
		{PatternGPT2, "it's IT'S", []string{"it", "'s", " IT", "'", "S"}},
		{PatternGPT2, "12345 !!x", []string{"12345", " !!", "x"}},
		{PatternGPT2, "\n\n hi", []string{"\n\n", " hi"}},
		{PatternQwen2, "it's IT'S", []string{"it", "'s", " IT", "'S"}},
		{PatternQwen2, "12345", []string{"1", "2", "3", "4", "5"}},
		{PatternLlama3, "12345", []string{"123", "45"}},
		{PatternQwen2, "(hello) !!\n\nx", []string{"(hello", ")", " !!\n\n", "x"}},
		{PatternQwen2, "a \n \n b", []string{"a", " \n \n", " b"}},
		{PatternQwen2, "x  \t", []string{"x", "  \t"}},
		{PatternQwen2, "\tword", []string{"\tword"}},
	} {
		got := split(scannerFor(tc.pattern), tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%.12s… on %q: got %q want %q", tc.pattern, tc.in, got, tc.want)
		}
	}
}

// TestSplitBehaviors checks the Split behaviors on a literal pattern with
// the outputs of Hugging Face tokenizers' documentation example
// ("the-final--countdown" split on "-").
func TestSplitBehaviors(t *testing.T) {
	for _, tc := range []struct {
		b    splitBehavior
		want string
	}{
		{behaviorRemoved, "the|final|countdown"},
		{behaviorIsolated, "the|-|final|-|-|countdown"},
		{behaviorMergedWithPrevious, "the-|final-|-|countdown"},
		{behaviorMergedWithNext, "the|-final|-|-countdown"},
		{behaviorContiguous, "the|-|final|--|countdown"},
	} {
		st := &splitStep{literal: "-", behavior: tc.b}
		if got := strings.Join(st.split("the-final--countdown", nil), "|"); got != tc.want {
			t.Errorf("behavior %d: %q want %q", tc.b, got, tc.want)
		}
	}
}

// TestBadTokenizerJSON: an unknown or malformed component gives one error
// naming the file and the JSON field.
func TestBadTokenizerJSON(t *testing.T) {
	base := func(model, norm, pre, dec string) string {
		return `{"added_tokens":[],"normalizer":` + norm + `,"pre_tokenizer":` + pre + `,"decoder":` + dec + `,"model":` + model + `}`
	}
	okModel := `{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}`
	okPre := `{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}`
	okDec := `{"type":"ByteLevel"}`
	for _, tc := range []struct{ name, json, field string }{
		{"model type", base(`{"type":"WordPiece","vocab":{"a":0}}`, "null", okPre, okDec), `model.type: "WordPiece"`},
		{"normalizer", base(okModel, `{"type":"Sequence","normalizers":[{"type":"Lowercase"}]}`, okPre, okDec), `normalizer.normalizers[0].type: "Lowercase"`},
		{"pre-tokenizer", base(okModel, "null", `{"type":"Sequence","pretokenizers":[{"type":"Metaspace"}]}`, okDec), `pre_tokenizer.pretokenizers[0].type: "Metaspace"`},
		{"regex", base(okModel, "null", `{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated"}`, okDec), `pre_tokenizer.pattern.Regex: "\\w+"`},
		{"decoder", base(okModel, "null", okPre, `{"type":"WordPiece"}`), `decoder.type: "WordPiece"`},
		{"merge", base(`{"type":"BPE","vocab":{"a":0},"merges":["a b"]}`, "null", okPre, okDec), `model.merges[0]: "b" is not in the vocabulary`},
		{"huge id", base(`{"type":"BPE","vocab":{"a":999999999}}`, "null", okPre, okDec), `model.vocab: id 999999999`},
		{"not json", `{"model":`, ""},
	} {
		_, err := Parse([]byte(tc.json), "dir/tokenizer.json")
		if err == nil || !strings.HasPrefix(err.Error(), "dir/tokenizer.json: ") || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want one naming dir/tokenizer.json and %q", tc.name, err, tc.field)
		}
	}
	if _, err := Parse([]byte(base(okModel, `{"type":"NFC"}`, okPre, okDec)), "x"); err != nil {
		t.Errorf("valid minimal tokenizer.json: %v", err)
	}
}

// FuzzEncodeDecode: Decode(Encode(s)) == s for valid UTF-8, for both
// vocabularies and both entry points.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"", "Hello world", "it's  \n\n", "日本語 👍🏽 123456", "<|im_start|>x<|endoftext|>", "\u00a0\u3000\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		gpt2, qwen3 := shared(t)
		for _, tok := range []*BPE{gpt2, qwen3} {
			if tok == qwen3 && !isNFC(s) {
				continue
			}
			if got := tok.Decode(tok.Encode(s)); got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
			if got := tok.Decode(tok.EncodeSpecial(s)); got != s {
				t.Fatalf("Decode(EncodeSpecial(%q)) = %q", s, got)
			}
		}
	})
}

// FuzzLoad: arbitrary tokenizer.json bytes never panic; whatever loads
// encodes and decodes without panicking.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"added_tokens":[{"id":3,"content":"<s>","special":true,"lstrip":true,"rstrip":true,"single_word":true}],"normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"}]},"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]],"ignore_merges":true,"byte_fallback":true},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"Split","pattern":{"String":"b"},"behavior":"MergedWithNext","invert":true},{"type":"ByteLevel","use_regex":false}]},"decoder":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":-1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab <s> 12 ab", "\xff\xfe", "b b b"} {
			tok.Decode(tok.EncodeSpecial(s))
			tok.Decode(tok.Encode(s))
		}
	})
}

func isNFC(s string) bool { return norm.NFC.IsNormalString(s) }
