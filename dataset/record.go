package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Record is one example of S_anchor or S_gen.
type Record struct {
	// ID is stable: the source's identifier, or ContentID when it has none.
	ID string `json:"id"`
	// Instruction is the task (the user's request).
	Instruction string `json:"instruction,omitempty"`
	// Input is the optional context of the task.
	Input string `json:"input,omitempty"`
	// Output is the reference response.
	Output string `json:"output,omitempty"`
	// Category is the task category when the source has one.
	Category string `json:"category,omitempty"`
	// Messages holds chat data (system, user and assistant turns).
	Messages []Message `json:"messages,omitempty"`
	// Meta keeps every source field that no other field holds.
	Meta map[string]any `json:"meta,omitempty"`
	// Provenance says how a synthetic record was made.
	Provenance Provenance `json:"provenance,omitzero"`
}

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Provenance links a synthetic record to the prompt p, the anchors and the
// model M that produced it.
type Provenance struct {
	// PromptID identifies the prompt p.
	PromptID string `json:"prompt_id,omitempty"`
	// DemoIDs are the IDs of the anchor records shown in the prompt.
	DemoIDs []string `json:"demo_ids,omitempty"`
	// Model names the generator M.
	Model string `json:"model,omitempty"`
	// Params are the sampling parameters (temperature, top_p, ...).
	Params map[string]any `json:"params,omitempty"`
	// Seed is the sampling seed.
	Seed int64 `json:"seed,omitempty"`
	// Time is when the response was received.
	Time time.Time `json:"time,omitzero"`
	// RawKey is the key of the raw response in the cache or raw store.
	RawKey string `json:"raw_key,omitempty"`
	// Attributes are the prompt's attributes (persona, topic, difficulty,
	// …: name → value) that the records were generated under.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// IsZero reports whether p holds nothing.
func (p Provenance) IsZero() bool {
	return p.PromptID == "" && len(p.DemoIDs) == 0 && p.Model == "" && len(p.Params) == 0 &&
		p.Seed == 0 && p.Time.IsZero() && p.RawKey == "" && len(p.Attributes) == 0
}

// ContentID returns the content hash used as the ID of a record whose source
// has none: the first 16 bytes, in hex, of SHA-256 over the instruction,
// input and output and the messages' roles and contents, each terminated by
// a NUL byte.
func ContentID(r Record) string {
	h := sha256.New()
	for _, s := range []string{r.Instruction, r.Input, r.Output} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, m := range r.Messages {
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.Content))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Field returns a record's value by name: id, instruction, input (or
// context), output (or response), category, messages (the contents joined by
// newlines), or meta.PATH for a value inside Meta (see MapPath). Unknown
// names and missing values give "".
func (r Record) Field(name string) string {
	switch name {
	case "id":
		return r.ID
	case "instruction":
		return r.Instruction
	case "input", "context":
		return r.Input
	case "output", "response":
		return r.Output
	case "category":
		return r.Category
	case "messages":
		parts := make([]string, len(r.Messages))
		for i, m := range r.Messages {
			parts[i] = m.Content
		}
		return strings.Join(parts, "\n")
	}
	if p, ok := strings.CutPrefix(name, "meta."); ok {
		v, err := MapPath(map[string]any(r.Meta), p)
		if err != nil {
			return ""
		}
		return stringOf(v)
	}
	return ""
}

// stringOf turns a decoded JSON value into text: strings as they are,
// numbers and booleans in JSON notation, null as "", objects and arrays as
// compact JSON.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
