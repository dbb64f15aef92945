package llama

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// toyTokenizer builds a vocabulary with the llama2.c layout: <unk>, <s>,
// </s>, 256 byte tokens, then the given pieces with their scores.
func toyTokenizer(t *testing.T, pieces []string, scores []float32) *Tokenizer {
	t.Helper()
	vocab := []string{"<unk>", "<s>", "</s>"}
	sc := []float32{0, 0, 0}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
		sc = append(sc, 0)
	}
	vocab = append(vocab, pieces...)
	sc = append(sc, scores...)
	tok, err := NewTokenizer(vocab, sc, nil, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncodeMergeOrder(t *testing.T) {
	pieces := []string{" ", "a", "b", " a", "ab", "c"}
	cases := []struct {
		name   string
		scores []float32 // scores of pieces, in order
		text   string
		want   []string // expected token texts
	}{
		{"pair ' a' wins", []float32{0, 0, 0, 5, 1, 0}, "ab", []string{" a", "b"}},
		{"pair 'ab' wins", []float32{0, 0, 0, 1, 5, 0}, "ab", []string{" ", "ab"}},
		{"tie keeps first pair", []float32{0, 0, 0, 3, 3, 0}, "ab", []string{" a", "b"}},
		{"unknown char falls back to bytes", []float32{0, 0, 0, 1, 2, 0}, "aé", []string{" a", "<0xC3>", "<0xA9>"}},
		{"empty text has no prefix", []float32{0, 0, 0, 1, 2, 0}, "", nil},
		{"known chars only", []float32{0, 0, 0, 1, 2, 0}, "cc", []string{" ", "c", "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := toyTokenizer(t, pieces, c.scores)
			ids := tok.Encode(c.text, false, false)
			var got []string
			for _, id := range ids {
				got = append(got, tok.Vocab[id])
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %q, want %q", c.text, got, c.want)
			}
			withBOS := tok.Encode(c.text, true, true)
			if withBOS[0] != tok.BOS || withBOS[len(withBOS)-1] != tok.EOS || !slices.Equal(withBOS[1:len(withBOS)-1], ids) {
				t.Errorf("Encode with BOS/EOS = %v, want BOS %v EOS", withBOS, ids)
			}
			if dec := tok.Decode(withBOS); dec != c.text {
				t.Errorf("Decode = %q, want %q", dec, c.text)
			}
		})
	}
}

var roundTripTexts = []string{
	"Once upon a time",
	"Lily and Ben went to the park. They saw a big dog!",
	"  two leading spaces and trailing  ",
	"tabs\tand\nnewlines\r\n",
	"héllo wörld — ça va?",
	"日本語のテキスト",
	"emoji 🙂🚀 mixed",
	"\x01control\x7f bytes",
	"Zürich 123 + 456 = 579",
}

func TestTokenizerRoundTrip(t *testing.T) {
	for _, load := range []struct {
		name string
		fn   func(testing.TB) *Model
	}{{"bin", loadBin}, {"gguf", loadGGUF}} {
		t.Run(load.name, func(t *testing.T) {
			tok := load.fn(t).sp()
			for _, s := range roundTripTexts {
				ids := tok.Encode(s, true, false)
				if ids[0] != tok.BOS {
					t.Fatalf("Encode(%q) does not start with BOS: %v", s, ids)
				}
				if got := tok.Decode(ids); got != s {
					t.Errorf("Decode(Encode(%q)) = %q", s, got)
				}
				// The concatenated pieces are the text with its dummy prefix.
				var sb strings.Builder
				bytesUsed := false
				for _, id := range ids[1:] {
					if b := tok.isByte[id]; b >= 0 {
						bytesUsed = true
						sb.WriteByte(byte(b))
					} else {
						sb.WriteString(tok.Vocab[id])
					}
				}
				if sb.String() != " "+s {
					t.Errorf("pieces of %q join to %q", s, sb.String())
				}
				// Non-ASCII letters absent from the 512-token vocabulary
				// must use byte fallback.
				nonASCII := false
				for _, r := range s {
					if r >= utf8.RuneSelf {
						if _, ok := tok.Lookup(string(r)); !ok {
							nonASCII = true
						}
					}
				}
				if nonASCII && !bytesUsed {
					t.Errorf("Encode(%q) used no byte tokens although some code points are not in the vocabulary", s)
				}
			}
		})
	}
}

func TestTokenizersAgree(t *testing.T) {
	a := loadBin(t).sp()
	b := loadGGUF(t).sp()
	for _, s := range roundTripTexts {
		if x, y := a.Encode(s, true, true), b.Encode(s, true, true); !slices.Equal(x, y) {
			t.Errorf("Encode(%q): llama2c tokenizer %v, gguf tokenizer %v", s, x, y)
		}
	}
	for _, s := range []string{" there was", "Hello", " a big dog"} {
		raw := a.EncodeRaw(s)
		if got := strings.Join(pieces(a, raw), ""); got != s {
			t.Errorf("EncodeRaw(%q) pieces join to %q", s, got)
		}
	}
}

func pieces(tok *Tokenizer, ids []int) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tok.Piece(-1, id))
	}
	return out
}

func TestPieceAndPrintable(t *testing.T) {
	tok := toyTokenizer(t, []string{" x"}, []float32{0})
	x, _ := tok.Lookup(" x")
	cases := []struct {
		prev, tok int
		want      string
		printable bool
	}{
		{tok.BOS, x, "x", true},
		{x, x, " x", true},
		{x, tok.byteID['\n'], "\n", true},
		{x, tok.byteID[0x01], "\x01", false},
		{x, tok.byteID[0xC3], "\xc3", false},
		{x, -5, "", false},
	}
	for _, c := range cases {
		got := tok.Piece(c.prev, c.tok)
		if got != c.want || PrintablePiece(got) != c.printable {
			t.Errorf("Piece(%d, %d) = %q (printable %v), want %q (%v)", c.prev, c.tok, got, PrintablePiece(got), c.want, c.printable)
		}
	}
}

func TestNewTokenizerErrors(t *testing.T) {
	cases := []struct {
		name     string
		vocab    []string
		scores   []float32
		types    []int32
		bos, eos int
	}{
		{"empty", nil, nil, nil, 0, 0},
		{"score count", []string{"a", "b"}, []float32{0}, nil, 0, 1},
		{"type count", []string{"a", "b"}, []float32{0, 0}, []int32{1}, 0, 1},
		{"bos out of range", []string{"a", "b"}, []float32{0, 0}, nil, 2, 1},
		{"eos negative", []string{"a", "b"}, []float32{0, 0}, nil, 0, -1},
	}
	for _, c := range cases {
		if _, err := NewTokenizer(c.vocab, c.scores, c.types, c.bos, c.eos); err == nil {
			t.Errorf("%s: expected an error", c.name)
		}
	}
}
