package openaiwire

import "encoding/json"

// Request is the body of a chat completion (Messages) or completion
// (Prompt) request.
type Request struct {
	Model          string          `json:"model"`
	Messages       []Message       `json:"messages,omitempty"`
	Prompt         *string         `json:"prompt,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	Temperature    float64         `json:"temperature"`
	TopP           float64         `json:"top_p,omitempty"`
	N              int             `json:"n,omitempty"`
	Seed           *int64          `json:"seed,omitempty"`
	Stop           []string        `json:"stop,omitempty"`
	Logprobs       any             `json:"logprobs,omitempty"` // chat: true; completions: alternatives per token
	TopLogprobs    int             `json:"top_logprobs,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	IgnoreEOS      bool            `json:"ignore_eos,omitempty"` // vLLM's and ggmi serve's extension
	Stream         bool            `json:"stream,omitempty"`
	StreamOptions  *StreamOptions  `json:"stream_options,omitempty"`
}

// ResponseFormat is a request's response_format.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the json_schema of a response_format.
type JSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict bool            `json:"strict,omitempty"`
}

// StreamOptions is a request's stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Usage counts the tokens of an answer.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Model is one entry of /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// Message is a chat message: of a request (role and content), of an
// answer (role "assistant") or of a stream chunk's delta (content only,
// or nothing at the end).
type Message struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

// Text returns the message's content ("" when absent).
func (m *Message) Text() string {
	if m == nil || m.Content == nil {
		return ""
	}
	return *m.Content
}

// TopLogProb is one alternative of a chat answer's token.
type TopLogProb struct {
	Token   string  `json:"token"`
	LogProb float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatLogProb is the log-probability of one token of a chat answer with
// its alternatives.
type ChatLogProb struct {
	Token       string       `json:"token"`
	LogProb     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogProbs []TopLogProb `json:"top_logprobs"`
}

// ChatLogProbs is a chat choice's logprobs.
type ChatLogProbs struct {
	Content []ChatLogProb `json:"content"`
	Refusal []ChatLogProb `json:"refusal"`
}

// ChatChoice is one choice of a chat answer (Message) or stream chunk
// (Delta).
type ChatChoice struct {
	Index        int           `json:"index"`
	Message      *Message      `json:"message,omitempty"`
	Delta        *Message      `json:"delta,omitempty"`
	LogProbs     *ChatLogProbs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// ChatCompletion is a chat answer (Object "chat.completion") or one chunk
// of a streamed one ("chat.completion.chunk").
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
}

// TextLogProbs is a completion choice's logprobs (the legacy format).
type TextLogProbs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogProbs []float64            `json:"token_logprobs"`
	TopLogProbs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// TextChoice is one choice of a completion answer or stream chunk.
type TextChoice struct {
	Index        int           `json:"index"`
	Text         string        `json:"text"`
	LogProbs     *TextLogProbs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// Completion is a completion answer (Object "text_completion"), whole or
// one chunk of a stream.
type Completion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []TextChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
}

// Str returns the string a *string field points at ("" for nil).
func Str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Bytes returns the UTF-8 bytes of s as the integers of a "bytes" field.
func Bytes(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}
