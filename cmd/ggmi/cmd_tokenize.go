package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

type tokenizeOptions struct {
	model, tokenizer string
	decode, special  bool
}

func newTokenizeCmd(g *globals) *cobra.Command {
	o := &tokenizeOptions{}
	c := &cobra.Command{
		Use:   "tokenize (--model PATH | --tokenizer PATH) [FILE]",
		Short: "Turn JSON lines of text into token ids, or ids back into text",
		Long: `Read JSON lines from FILE (or standard input) and write one line per input line:
a JSON array of token ids for each JSON string (or object with a "text" field), or,
with --decode, a JSON string for each array of ids.

PATH is a model file (llama2.c .bin with its tokenizer beside it, GGUF), a model folder
(tokenizer.json, or GPT-2's encoder.json + vocab.bpe), or a tokenizer.json. Special tokens
in the text are encoded as plain text and no BOS is added unless --special is given.`,
		Example: `  echo '"Hello world"' | ggmi tokenize --tokenizer ../shared/tokenizers/gpt2
  ggmi tokenize --model stories260K.bin prompts.jsonl
  echo '[15496,995]' | ggmi tokenize --tokenizer ../shared/tokenizers/gpt2 --decode`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenize(g, o, cmd.InOrStdin(), args)
		},
	}
	c.Flags().StringVar(&o.model, "model", "", "model file or folder whose tokenizer to use")
	c.Flags().StringVar(&o.tokenizer, "tokenizer", "", "tokenizer.json, or a folder with tokenizer.json or encoder.json + vocab.bpe")
	c.Flags().BoolVar(&o.decode, "decode", false, "read arrays of token ids and write the texts")
	c.Flags().BoolVar(&o.special, "special", false, "recognise special tokens in the text and add BOS where the model expects it")
	return c
}

func runTokenize(g *globals, o *tokenizeOptions, stdin io.Reader, args []string) error {
	path := o.model
	switch {
	case o.model != "" && o.tokenizer != "":
		return userErr("give --model or --tokenizer, not both")
	case o.model == "" && o.tokenizer == "":
		return userErr("give --model PATH or --tokenizer PATH")
	case o.tokenizer != "":
		path = o.tokenizer
	}
	if o.decode && o.special {
		return userErr("--special applies to encoding, not to --decode")
	}
	if _, err := os.Stat(path); err != nil {
		return userErr("tokenizer %s: %v", path, errors.Unwrap(err))
	}
	codec, err := openCodec(path)
	if err != nil {
		return userErr("%v", err)
	}
	in := stdin
	if len(args) == 1 {
		f, err := os.Open(args[0])
		if err != nil {
			return userErr("input %s: %v", args[0], errors.Unwrap(err))
		}
		defer f.Close()
		in = f
	}
	if o.decode {
		err = tokenizer.DecodeLines(in, g.stdout, codec)
	} else {
		err = tokenizer.EncodeLines(in, g.stdout, codec, o.special)
	}
	var le *tokenizer.LineError
	if errors.As(err, &le) {
		return userErr("%s %v", inputName(args), le)
	}
	return err
}

func inputName(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return "standard input"
}

// openCodec opens the tokenizer of a folder, tokenizer.json, GGUF file or
// llama2.c model file.
func openCodec(path string) (tokenizer.Codec, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() || strings.EqualFold(filepath.Ext(path), ".json") {
		return tokenizer.Open(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, fmt.Errorf("%s: not a model file: %w", path, err)
	}
	if bytes.Equal(magic[:], []byte("GGUF")) {
		h, err := llama.ReadGGUFHeader(f, st.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if model, _ := h.Metadata["tokenizer.ggml.model"].(string); model == "gpt2" {
			t, err := bpeFromGGUF(h)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return t, nil
		}
	}
	m, err := llama.Load(path)
	if err != nil {
		return nil, err
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("%s: no tokenizer found beside the model (tokenizer.bin)", path)
	}
	if e, ok := m.Tokenizer.(tokenizer.Engine); ok {
		return e.BPE, nil
	}
	return spmCodec{m.Tokenizer}, nil
}

// bpeFromGGUF builds the byte-level BPE tokenizer of a GGUF file with
// tokenizer.ggml.model = "gpt2".
func bpeFromGGUF(h *llama.GGUFFile) (*tokenizer.BPE, error) {
	return tokenizer.FromGGUFMetadata(h.Metadata)
}

// spmCodec adapts the llama package's SentencePiece tokenizer.
type spmCodec struct{ t llama.TextTokenizer }

func (c spmCodec) EncodeText(text string, special bool) []int {
	return c.t.Encode(text, special, false)
}
func (c spmCodec) Decode(ids []int) string { return c.t.Decode(ids) }
func (c spmCodec) VocabSize() int          { return c.t.VocabSize() }
