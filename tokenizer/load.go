package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// maxFileSize bounds the tokenizer files read (the largest real
// tokenizer.json files are around 20 MB).
const maxFileSize = 256 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is more than a tokenizer file can be (%d)", path, st.Size(), maxFileSize)
	}
	var b bytes.Buffer
	b.Grow(int(st.Size()) + 1)
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b.Bytes(), nil
}

// LoadFile loads a Hugging Face tokenizer.json. BOS and EOS are unknown
// (-1) unless a tokenizer_config.json beside it names them; use LoadDir
// for a model folder.
func LoadFile(path string) (*BPE, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Open loads a tokenizer from a tokenizer.json file or from a folder
// (see LoadDir).
func Open(path string) (*BPE, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return LoadDir(path)
	}
	t, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if _, err := os.Stat(cfg); err == nil {
		if err := t.readConfig(cfg); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// LoadDir loads the tokenizer of a model folder: tokenizer.json, or
// GPT-2's encoder.json + vocab.bpe; tokenizer_config.json, when present,
// names BOS, EOS, add_bos_token and the chat template.
func LoadDir(dir string) (*BPE, error) {
	var t *BPE
	var err error
	tj := filepath.Join(dir, "tokenizer.json")
	enc, voc := filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe")
	if _, e := os.Stat(tj); e == nil {
		t, err = LoadFile(tj)
	} else if _, e := os.Stat(enc); e == nil {
		t, err = LoadGPT2(enc, voc)
	} else {
		return nil, fmt.Errorf("%s: no tokenizer.json nor encoder.json + vocab.bpe in the folder", dir)
	}
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "tokenizer_config.json")
	if _, e := os.Stat(cfg); e == nil {
		if err := t.readConfig(cfg); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readConfig applies tokenizer_config.json: bos_token, eos_token,
// add_bos_token, chat_template.
func (t *BPE) readConfig(path string) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	var c struct {
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
		AddBOS       *bool           `json:"add_bos_token"`
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{{"bos_token", c.BOS, &t.bos}, {"eos_token", c.EOS, &t.eos}} {
		s, err := tokenString(f.raw)
		if err != nil {
			return errField(path, f.name, "%v", err)
		}
		if s == "" {
			continue
		}
		id, ok := t.ids[s]
		if !ok {
			return errField(path, f.name, "%q is not in the vocabulary", s)
		}
		*f.dst = id
	}
	if c.AddBOS != nil {
		t.addBOS = *c.AddBOS
	}
	if len(c.ChatTemplate) > 0 && string(c.ChatTemplate) != "null" {
		var s string
		if err := json.Unmarshal(c.ChatTemplate, &s); err != nil {
			// A list of named templates: take "default".
			var named []struct{ Name, Template string }
			if err := json.Unmarshal(c.ChatTemplate, &named); err != nil {
				return errField(path, "chat_template", "neither a string nor a list of named templates")
			}
			for _, n := range named {
				if n.Name == "default" {
					s = n.Template
				}
			}
		}
		t.chatTemplate = s
	}
	return nil
}

// tokenString reads a token given as a string, an AddedToken object
// ({"content": ...}) or null.
func tokenString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var o struct{ Content string }
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", errors.New("neither a string nor an object with content")
	}
	return o.Content, nil
}

// component is any typed part of tokenizer.json.
type component struct {
	Type string `json:"type"`
	// Sequence
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	// Split
	Pattern  *struct{ Regex, String *string } `json:"pattern"`
	Behavior string                           `json:"behavior"`
	Invert   bool                             `json:"invert"`
	// ByteLevel
	AddPrefixSpace bool  `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// Digits
	IndividualDigits bool `json:"individual_digits"`
}

type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		Dropout                 *float64        `json:"dropout"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		ByteFallback            bool            `json:"byte_fallback"`
		IgnoreMerges            bool            `json:"ignore_merges"`
	} `json:"model"`
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// Parse builds a tokenizer from the bytes of a tokenizer.json; name (the
// file) is used in errors.
func Parse(data []byte, name string) (*BPE, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("%s: not a tokenizer.json: %w", name, err)
	}
	m := &tj.Model
	if m.Type != "BPE" {
		if m.Type == "" {
			return nil, errField(name, "model.type", "missing (only BPE models are supported)")
		}
		return nil, errField(name, "model.type", "%q is not supported (only BPE)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, errField(name, "model.dropout", "%v is not supported (only null or 0)", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, errField(name, "model.continuing_subword_prefix", "%q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, errField(name, "model.end_of_word_suffix", "%q is not supported", *m.EndOfWordSuffix)
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil || len(vocab) == 0 {
		return nil, errField(name, "model.vocab", "not a non-empty object of token ids")
	}
	limit := len(vocab) + len(tj.AddedTokens)
	t := newBPE(limit)
	for s, id := range vocab {
		if err := t.setToken(id, s, limit); err != nil {
			return nil, errField(name, "model.vocab", "%v", err)
		}
	}
	for i, a := range tj.AddedTokens {
		if a.Content == "" {
			return nil, errField(name, fmt.Sprintf("added_tokens[%d].content", i), "empty")
		}
		if err := t.setToken(a.ID, a.Content, limit); err != nil {
			return nil, errField(name, fmt.Sprintf("added_tokens[%d].id", i), "%v", err)
		}
		t.added = append(t.added, addedToken{id: a.ID, content: a.Content, special: a.Special,
			lstrip: a.LStrip, rstrip: a.RStrip, singleWrd: a.SingleWord})
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, errField(name, "model.merges", "%v", err)
	}
	for i, mg := range merges {
		if err := t.addMerge(i, mg[0], mg[1]); err != nil {
			return nil, errField(name, fmt.Sprintf("model.merges[%d]", i), "%v", err)
		}
	}
	t.byteFallback = m.ByteFallback
	t.ignoreMerges = m.IgnoreMerges
	if m.UnkToken != nil && *m.UnkToken != "" {
		id, ok := t.ids[*m.UnkToken]
		if !ok {
			return nil, errField(name, "model.unk_token", "%q is not in the vocabulary", *m.UnkToken)
		}
		t.unk = id
	}
	if err := t.parseNormalizer(tj.Normalizer, name, "normalizer"); err != nil {
		return nil, err
	}
	if err := t.parsePre(tj.PreTokenizer, name, "pre_tokenizer", 0); err != nil {
		return nil, err
	}
	for k, st := range t.pre {
		if _, ok := st.(byteLevelStep); ok {
			if k != len(t.pre)-1 {
				return nil, errField(name, "pre_tokenizer", "ByteLevel must be the last pre-tokenizer")
			}
			t.byteLevel = true
		}
	}
	if err := t.parseDecoder(tj.Decoder, name); err != nil {
		return nil, err
	}
	t.parsePost(tj.PostProcessor)
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

func newBPE(n int) *BPE {
	t := &BPE{
		vocab:  make([]string, 0, n),
		ids:    make(map[string]int, n),
		merges: make(map[uint64]merge, n),
		unk:    -1, bos: -1, eos: -1,
		cache: make(map[string][]int),
	}
	for i := range t.byteTok {
		t.byteTok[i] = -1
	}
	return t
}

// setToken records token s with id; ids must lie below limit.
func (t *BPE) setToken(id int, s string, limit int) error {
	if id < 0 || id >= limit {
		return fmt.Errorf("id %d of %q outside 0..%d", id, s, limit-1)
	}
	for len(t.vocab) <= id {
		t.vocab = append(t.vocab, "")
	}
	if old := t.vocab[id]; old != "" && old != s {
		return fmt.Errorf("id %d is both %q and %q", id, old, s)
	}
	t.vocab[id] = s
	if _, ok := t.ids[s]; !ok {
		t.ids[s] = id
	}
	return nil
}

func (t *BPE) addMerge(rank int, a, b string) error {
	ia, ok := t.ids[a]
	if !ok {
		return fmt.Errorf("%q is not in the vocabulary", a)
	}
	ib, ok := t.ids[b]
	if !ok {
		return fmt.Errorf("%q is not in the vocabulary", b)
	}
	ic, ok := t.ids[a+b]
	if !ok {
		return fmt.Errorf("%q is not in the vocabulary", a+b)
	}
	t.merges[pairKey(ia, ib)] = merge{int32(rank), int32(ic)}
	return nil
}

// parseMerges reads merges as "a b" strings or [a, b] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("entry %d (%q) is not two tokens separated by a space", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, errors.New(`neither a list of "a b" strings nor a list of [a, b] pairs`)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("entry %d has %d parts, not 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

func (t *BPE) parseNormalizer(raw json.RawMessage, file, field string) error {
	if isNull(raw) {
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return errField(file, field, "not a normalizer object")
	}
	switch c.Type {
	case "NFC":
		t.normalize = append(t.normalize, norm.NFC)
	case "NFD":
		t.normalize = append(t.normalize, norm.NFD)
	case "NFKC":
		t.normalize = append(t.normalize, norm.NFKC)
	case "NFKD":
		t.normalize = append(t.normalize, norm.NFKD)
	case "Sequence":
		for i, n := range c.Normalizers {
			if err := t.parseNormalizer(n, file, fmt.Sprintf("%s.normalizers[%d]", field, i)); err != nil {
				return err
			}
		}
	default:
		return errField(file, field+".type", "%q is not supported (NFC, NFD, NFKC, NFKD, Sequence or null)", c.Type)
	}
	return nil
}

func (t *BPE) parsePre(raw json.RawMessage, file, field string, depth int) error {
	if isNull(raw) {
		return nil
	}
	if depth > 8 {
		return errField(file, field, "nested too deeply")
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return errField(file, field, "not a pre-tokenizer object")
	}
	switch c.Type {
	case "Sequence":
		for i, p := range c.Pretokenizers {
			if err := t.parsePre(p, file, fmt.Sprintf("%s.pretokenizers[%d]", field, i), depth+1); err != nil {
				return err
			}
		}
	case "Split":
		b, ok := parseBehavior(c.Behavior)
		if !ok {
			return errField(file, field+".behavior", "%q is not a split behavior", c.Behavior)
		}
		st := &splitStep{behavior: b, invert: c.Invert}
		switch {
		case c.Pattern != nil && c.Pattern.Regex != nil:
			st.scan, st.pattern = scannerFor(*c.Pattern.Regex), *c.Pattern.Regex
			if st.scan == nil {
				return errField(file, field+".pattern.Regex", "%q is not a supported pattern (GPT-2's, Llama 3's or Qwen2's)", *c.Pattern.Regex)
			}
		case c.Pattern != nil && c.Pattern.String != nil:
			st.literal = *c.Pattern.String
		default:
			return errField(file, field+".pattern", "missing Regex or String")
		}
		t.pre = append(t.pre, st)
	case "ByteLevel":
		useRegex := c.UseRegex == nil || *c.UseRegex
		t.pre = append(t.pre, byteLevelStep{addPrefixSpace: c.AddPrefixSpace, useRegex: useRegex})
	case "Digits":
		t.pre = append(t.pre, digitsStep{individual: c.IndividualDigits})
	default:
		return errField(file, field+".type", "%q is not supported (Sequence, Split, ByteLevel, Digits or null)", c.Type)
	}
	return nil
}

func (t *BPE) parseDecoder(raw json.RawMessage, file string) error {
	if isNull(raw) {
		return errField(file, "decoder", "missing (a ByteLevel decoder is needed)")
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return errField(file, "decoder", "not a decoder object")
	}
	if c.Type != "ByteLevel" {
		return errField(file, "decoder.type", "%q is not supported (only ByteLevel)", c.Type)
	}
	if !t.byteLevel {
		return errField(file, "pre_tokenizer", "no ByteLevel pre-tokenizer for the ByteLevel decoder")
	}
	return nil
}

// parsePost notes whether the post-processor adds BOS (TemplateProcessing
// whose single template starts with a special token). Other
// post-processors do not change the ids this package returns.
func (t *BPE) parsePost(raw json.RawMessage) {
	var p struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
		} `json:"single"`
	}
	if json.Unmarshal(raw, &p) != nil || p.Type != "TemplateProcessing" || len(p.Single) == 0 || p.Single[0].SpecialToken == nil {
		return
	}
	if id, ok := t.ids[p.Single[0].SpecialToken.ID]; ok {
		t.bos, t.addBOS = id, true
	}
}

// finish builds the lookup tables once the vocabulary is known.
func (t *BPE) finish() error {
	n := len(t.vocab)
	t.special = make([]bool, n)
	for _, a := range t.added {
		if a.special {
			t.special[a.id] = true
		}
	}
	// Longest first, so that findAdded prefers the longer of two tokens
	// starting at the same place (it also compares lengths).
	for i := 1; i < len(t.added); i++ {
		for j := i; j > 0 && len(t.added[j].content) > len(t.added[j-1].content); j-- {
			t.added[j], t.added[j-1] = t.added[j-1], t.added[j]
		}
	}
	if t.byteLevel {
		for b, r := range byteEnc {
			if id, ok := t.ids[string(r)]; ok {
				t.byteTok[b] = id
			}
		}
	} else if t.byteFallback {
		for b := range t.byteTok {
			if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteTok[b] = id
			}
		}
	}
	t.decoded = make([][]byte, n)
	for id, s := range t.vocab {
		t.decoded[id] = t.decodeToken(s)
	}
	return nil
}

// decodeToken turns a vocabulary entry into bytes the way the ByteLevel
// decoder does: every character mapped back to its byte, or, when some
// character has no byte (added tokens such as "<|im_start|>" usually map;
// others may not), the token's own UTF-8.
func (t *BPE) decodeToken(s string) []byte {
	if t.byteFallback && len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
		var b byte
		if _, err := fmt.Sscanf(s, "<0x%02X>", &b); err == nil {
			return []byte{b}
		}
	}
	if !t.byteLevel {
		return []byte(s)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := byteDec[r]
		if !ok {
			return []byte(s)
		}
		out = append(out, b)
	}
	return out
}
