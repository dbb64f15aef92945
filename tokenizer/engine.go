package tokenizer

// Engine adapts a BPE to the text interface of the built-in inference
// engine (llama.TextTokenizer), so that GPT-2, Llama 3 and Qwen2 models
// generate and train with their byte-level BPE vocabularies. Text given to
// Encode is user text: special tokens in it are encoded as plain text.
type Engine struct{ BPE *BPE }

// Encode tokenizes text, with BOS first when bos is set and the model
// expects one (AddBOS), and EOS last when eos is set and the vocabulary
// has one.
func (e Engine) Encode(text string, bos, eos bool) []int {
	ids := e.BPE.Encode(text)
	if bos && e.BPE.AddBOS() {
		ids = append([]int{e.BPE.BOS()}, ids...)
	}
	if eos && e.BPE.EOS() >= 0 {
		ids = append(ids, e.BPE.EOS())
	}
	return ids
}

// EncodeRaw tokenizes a continuation of earlier text.
func (e Engine) EncodeRaw(text string) []int { return e.BPE.Encode(text) }

// Decode returns the text of a token sequence.
func (e Engine) Decode(ids []int) string { return e.BPE.Decode(ids) }

// Piece returns the text of token (byte-level BPE pieces do not depend on
// the previous token).
func (e Engine) Piece(prev, token int) string { return string(e.BPE.DecodeBytes(token)) }

// TokenBytes returns the bytes of a normal token, nil for a special one.
func (e Engine) TokenBytes(token int) []byte {
	if e.BPE.IsSpecial(token) {
		return nil
	}
	return e.BPE.DecodeBytes(token)
}

// VocabSize returns the number of token ids.
func (e Engine) VocabSize() int { return e.BPE.VocabSize() }

// Lookup returns the id of a vocabulary entry.
func (e Engine) Lookup(piece string) (int, bool) { return e.BPE.Lookup(piece) }

// BOSID returns the begin-of-sequence id, or -1.
func (e Engine) BOSID() int { return e.BPE.BOS() }

// EOSID returns the end-of-sequence id, or -1.
func (e Engine) EOSID() int { return e.BPE.EOS() }

// ChatTemplate returns the Jinja chat template of tokenizer_config.json
// or of the GGUF file ("" when none).
func (e Engine) ChatTemplate() string { return e.BPE.ChatTemplate() }

// GGUFMetadata returns the tokenizer.* GGUF metadata of the vocabulary for
// a model with vocabSize embedding rows (see [BPE.GGUFMetadata]).
func (e Engine) GGUFMetadata(vocabSize int) (map[string]any, error) {
	return e.BPE.GGUFMetadata(vocabSize)
}
