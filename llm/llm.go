package llm

import (
	"context"
	"errors"
	"fmt"
)

// Backend is a generative model M: it completes prompts or chat
// conversations and embeds texts. Implementations must be safe for
// concurrent use.
type Backend interface {
	// Generate runs one request to completion and returns its choices.
	// When req.OnDelta is set, text is also delivered token by token
	// while it is generated.
	Generate(ctx context.Context, req Request) (Response, error)
	// Embed returns one vector per input text.
	Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error)
	// Models lists the names accepted in Request.Model.
	Models() []string
}

// Chat roles understood by the chat templates.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a chat conversation.
type Message struct {
	Role    string // RoleSystem, RoleUser or RoleAssistant ("developer" is read as system)
	Content string
}

// Request asks a Backend for N continuations of a prompt or of a chat
// conversation. Exactly one of Messages and Prompt is used: Messages when it
// is not empty.
type Request struct {
	// Model names the model (one of Backend.Models()).
	Model string
	// Messages is a chat conversation; the backend renders it with its
	// chat template and generates the assistant's reply.
	Messages []Message
	// Prompt is the raw text to continue when Messages is empty.
	Prompt string

	// N is the number of independent choices (0 means 1).
	N int
	// Seed makes sampling reproducible: choice i of a request with seed s
	// always yields the same text. Nil draws a fresh seed.
	Seed *uint64
	// Temperature divides the logits; 0 is greedy decoding.
	Temperature float64
	// TopP is the nucleus-sampling mass; 0 or 1 disables it.
	TopP float64
	// MaxTokens caps the generated tokens of each choice; 0 means until
	// the context window is full.
	MaxTokens int
	// Stop ends a choice as soon as its text contains one of these
	// strings; the text is cut right before it.
	Stop []string
	// IgnoreEOS keeps generating after the end-of-sequence token (for
	// benchmarks that need a fixed length).
	IgnoreEOS bool

	// LogProbs asks for the log-probability of every generated token.
	LogProbs bool
	// TopLogProbs asks for the most likely alternatives at every position
	// (implies LogProbs when > 0).
	TopLogProbs int

	// Format asks for structured output (JSON object or JSON schema). The
	// built-in engine enforces it token by token; remote endpoints get it
	// as OpenAI's response_format. Nil means free text.
	Format *ResponseFormat
	// Sample distinguishes repeated draws of an otherwise identical
	// request (for example without a seed), so that the durable cache
	// stores each draw apart. Backends ignore it.
	Sample int

	// OnDelta, when not nil, receives the generated text piece by piece.
	// Calls are serialised (never concurrent) even when N > 1; the
	// concatenated Text of the deltas of one choice equals its final
	// Choice.Text, and its last delta carries the FinishReason. Returning
	// an error aborts the request with that error.
	OnDelta func(Delta) error
}

// Finish reasons of a Choice (OpenAI's vocabulary).
const (
	FinishStop   = "stop"   // end of sequence or a stop string
	FinishLength = "length" // MaxTokens or the context window was reached
)

// Response is the result of a Request.
type Response struct {
	// Model is the name of the model that answered.
	Model string
	// Choices holds the N continuations in order of their index.
	Choices []Choice
	// Usage counts the tokens read and written.
	Usage Usage
}

// Choice is one generated continuation.
type Choice struct {
	Index        int
	Text         string
	FinishReason string // FinishStop or FinishLength
	// LogProbs holds one entry per generated token when requested.
	LogProbs []TokenLogProb
}

// Delta is a piece of a choice delivered while it is generated.
type Delta struct {
	Index int    // the choice
	Text  string // new text (may be empty)
	// LogProbs holds the tokens generated since the previous delta of this
	// choice, when log-probabilities were requested.
	LogProbs []TokenLogProb
	// FinishReason is set on the last delta of the choice.
	FinishReason string
}

// TokenLogProb is the log-probability (natural log) of one generated token
// and, optionally, of the most likely alternatives at its position.
type TokenLogProb struct {
	Token   string
	LogProb float64
	Top     []TopLogProb
}

// TopLogProb is one alternative token at a position.
type TopLogProb struct {
	Token   string
	LogProb float64
}

// Usage counts tokens. PromptTokens counts the prompt once (including the
// begin-of-sequence token); CompletionTokens sums over all choices.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// TotalTokens is PromptTokens + CompletionTokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

// EmbedRequest asks for the embeddings of texts.
type EmbedRequest struct {
	Model string
	Input []string
}

// EmbedResponse holds one vector per input text.
type EmbedResponse struct {
	Model   string
	Vectors [][]float32
	Usage   Usage // PromptTokens: the tokens read over all inputs
}

// Kinds of request errors; test them with errors.Is.
var (
	// ErrUnknownModel: Request.Model is not served by the backend.
	ErrUnknownModel = errors.New("unknown model")
	// ErrContextLength: the prompt plus MaxTokens does not fit the
	// model's context window.
	ErrContextLength = errors.New("context length exceeded")
	// ErrInvalidRequest: a parameter is out of range or malformed.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("backend closed")
)

// RequestError is an error caused by the request rather than by the
// backend. Kind is one of ErrUnknownModel, ErrContextLength or
// ErrInvalidRequest; Param names the offending parameter when known.
type RequestError struct {
	Kind    error
	Param   string
	Message string
}

// Error implements error.
func (e *RequestError) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%v: %s: %s", e.Kind, e.Param, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

// Unwrap returns Kind, so that errors.Is(err, ErrContextLength) works.
func (e *RequestError) Unwrap() error { return e.Kind }

func reqErr(kind error, param, format string, a ...any) error {
	return &RequestError{Kind: kind, Param: param, Message: fmt.Sprintf(format, a...)}
}
