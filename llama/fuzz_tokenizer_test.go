package llama

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	fuzzToksOnce sync.Once
	fuzzToks     []*Tokenizer
)

// fuzzTokenizers returns the toy tokenizer of the tiny test model (all 256
// byte tokens, a few merges) and, when the reference folder is present,
// stories260K's tok512.bin.
func fuzzTokenizers(t testing.TB) []*Tokenizer {
	fuzzToksOnce.Do(func() {
		fuzzToks = append(fuzzToks, tinyModel(t, tinyConfig, 1).sp())
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "models", "stories260K", "tok512.bin"))
		if err != nil {
			return
		}
		tok, err := ParseLlama2cTokenizer(data, 512)
		if err != nil {
			t.Fatalf("tok512.bin: %v", err)
		}
		fuzzToks = append(fuzzToks, tok)
	})
	return fuzzToks
}

// idsFromBytes reads little-endian int16 token ids, so that the fuzzer
// produces negative and out-of-range ids as well as valid ones.
func idsFromBytes(b []byte) []int {
	ids := make([]int, len(b)/2)
	for i := range ids {
		ids[i] = int(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return ids
}

// FuzzTokenizer encodes arbitrary strings and decodes arbitrary id
// sequences. What the tokenizer guarantees, and is checked here:
//   - Encode never panics and returns ids inside the vocabulary, with BOS
//     and EOS where asked;
//   - the pieces of Encode (byte tokens as their byte) join to the text
//     with its dummy-prefix space, and those of EncodeRaw to the text: no
//     byte is lost, for any input, valid UTF-8 or not;
//   - Decode(Encode(s, bos, false)) == s, valid UTF-8 or not, as long as
//     no control token comes out of the merges: true for these two
//     vocabularies, whose control pieces no merge reaches (a vocabulary
//     with pieces "<s" and ">" next to a control "<s>" would break it, in
//     llama2.c as here);
//   - Decode and Piece accept any ids, skipping those outside the
//     vocabulary, without panicking.
func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{"", " ", "a", "ab the é", "Once upon a time", "  two  spaces ",
		"\x00\xff\xfe invalid \xc3", "\xe2\x82", "日本語 🙂", "<s></s><unk><0x41>", "\t\n\r", strings.Repeat("ab", 50)} {
		f.Add(s, []byte{1, 0, 5, 1, 0xff, 0xff, 0x00, 0x80, 2, 0})
	}
	f.Add("x", []byte{})
	f.Add("", []byte{0x06, 0x01, 0x07, 0x01, 0x01, 0x00, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, text string, raw []byte) {
		if len(text) > 4096 {
			return // merging is quadratic; long texts add nothing here
		}
		for _, tok := range fuzzTokenizers(t) {
			n := tok.VocabSize()
			ids := tok.Encode(text, true, true)
			if len(ids) < 2 || ids[0] != tok.BOS || ids[len(ids)-1] != tok.EOS {
				t.Fatalf("Encode(%q, true, true) = %v: want BOS ... EOS", text, ids)
			}
			for _, id := range ids {
				if id < 0 || id >= n {
					t.Fatalf("Encode(%q) produced id %d outside vocabulary of %d", text, id, n)
				}
			}
			want := text
			if text != "" {
				want = " " + text
			}
			if got := joinPieces(tok, ids[1:len(ids)-1]); got != want {
				t.Fatalf("pieces of Encode(%q) join to %q", text, got)
			}
			if got := joinPieces(tok, tok.EncodeRaw(text)); got != text {
				t.Fatalf("pieces of EncodeRaw(%q) join to %q", text, got)
			}
			ids = ids[:len(ids)-1]
			for _, id := range ids[1:] {
				if tok.Types[id] == TokenControl {
					// Possible with vocabularies whose merges reach a
					// control piece (as in llama2.c); not with these two.
					t.Fatalf("Encode(%q) produced control token %d (%q)", text, id, tok.Vocab[id])
				}
			}
			if got := tok.Decode(ids); got != text {
				t.Fatalf("Decode(Encode(%q)) = %q (ids %v), valid UTF-8 %v", text, got, ids, utf8.ValidString(text))
			}
			if got := tok.Decode(tok.Encode(text, false, false)); got != text {
				t.Fatalf("Decode(Encode(%q) without BOS) = %q", text, got)
			}

			// Arbitrary ids, in and out of range.
			arb := idsFromBytes(raw)
			dec := tok.Decode(arb)
			var valid []int
			for _, id := range arb {
				if id >= 0 && id < n {
					valid = append(valid, id)
				}
			}
			if got := tok.Decode(valid); got != dec {
				t.Fatalf("Decode(%v) = %q but %q without the out-of-range ids", arb, dec, got)
			}
			prev := tok.BOS
			for _, id := range arb {
				_ = tok.Piece(prev, id)
				prev = id
			}
		}
	})
}

// joinPieces concatenates the texts of ids, byte tokens as their byte.
func joinPieces(tok *Tokenizer, ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		if b := tok.isByte[id]; b >= 0 {
			sb.WriteByte(byte(b))
		} else {
			sb.WriteString(tok.Vocab[id])
		}
	}
	return sb.String()
}

// FuzzParseLlama2cTokenizer parses arbitrary bytes as a llama2.c tokenizer
// file of an arbitrary vocabulary size: no panic, no allocation beyond what
// the file holds, and an accepted file has exactly vocabSize tokens and
// serialises back to the same records.
func FuzzParseLlama2cTokenizer(f *testing.F) {
	valid := tokenizerToLlama2c(tinyModel(f, tinyConfig, 1).sp())
	f.Add(valid, int32(262))
	f.Add(valid, int32(263))
	f.Add(valid, int32(3))
	f.Add(valid[:len(valid)-5], int32(262))
	f.Add(append(bytes.Clone(valid), 9, 9, 9, 9, 9, 9, 9, 9), int32(262))
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0, 1, 0, 0, 0, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 'c'}, int32(3))
	f.Add([]byte{0, 0, 0, 0}, int32(1))
	f.Add([]byte{}, int32(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}, int32(-5))
	if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "models", "stories260K", "tok512.bin")); err == nil {
		f.Add(data, int32(512))
		f.Add(data, int32(32000))
	}
	f.Fuzz(func(t *testing.T, data []byte, vocab int32) {
		tok, err := ParseLlama2cTokenizer(data, int(vocab))
		if err != nil {
			if tok != nil {
				t.Fatal("tokenizer returned with an error")
			}
			return
		}
		if tok.VocabSize() != int(vocab) {
			t.Fatalf("accepted a file as %d tokens, tokenizer has %d", vocab, tok.VocabSize())
		}
		if out := tokenizerToLlama2c(tok); !bytes.Equal(out[4:], data[4:]) {
			t.Fatalf("records do not serialise back to the input")
		}
		ids := tok.Encode("ab the é\xff", true, true)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("id %d outside vocabulary of %d", id, tok.VocabSize())
			}
		}
		_ = tok.Decode(append(ids, -1, 1<<20))
	})
}
