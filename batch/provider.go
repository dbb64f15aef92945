package batch

import (
	"context"
	"time"

	"github.com/ggmi-dev/ggmi/llm"
)

// Item is one request of a batch. ID is its custom id: the request's
// cache key (64 hex digits, which both providers accept).
type Item struct {
	ID  string
	Req llm.Request
}

// Limits bound one batch.
type Limits struct {
	// MaxRequests is the most requests in one batch.
	MaxRequests int
	// MaxBytes is the largest input (OpenAI: the uploaded file; Anthropic:
	// the create request's body).
	MaxBytes int
}

// The providers' documented limits.
var (
	OpenAILimits    = Limits{MaxRequests: 50_000, MaxBytes: 200 << 20}
	AnthropicLimits = Limits{MaxRequests: 100_000, MaxBytes: 256 << 20}
)

// Status is what a poll tells about a batch.
type Status struct {
	// State is the provider's own word (validating, in_progress,
	// finalizing, completed, failed, expired, cancelled, cancelling;
	// in_progress, canceling, ended).
	State string
	// Ended tells whether the batch will not change any more and its
	// results can be read.
	Ended bool
	// Total, Done and Failed count requests as the provider reports them.
	Total, Done, Failed int
	// Message is the provider's explanation of a failed batch.
	Message string
}

// Outcome is the result of one request of an ended batch.
type Outcome struct {
	ID string
	// Resp is the answer when Err is empty.
	Resp llm.Response
	// Kind tells why there is no answer: "errored" (the provider's error,
	// in Err), "expired", "canceled"; empty when Resp holds the answer.
	Kind string
	Err  string
}

// Provider is one provider's batch API.
type Provider interface {
	// Name is "openai" or "anthropic".
	Name() string
	// Limits returns the provider's limits of one batch.
	Limits() Limits
	// Encode returns the input line of it (its size counts against
	// MaxBytes).
	Encode(it Item) ([]byte, error)
	// Create submits the encoded lines as one batch marked with tag and
	// returns the provider's batch id.
	Create(ctx context.Context, tag string, lines [][]byte) (string, error)
	// Find looks for a batch created with tag, holding n requests, created
	// at or after since, whose id is not in claimed: the batch of a run
	// killed after the provider created it and before the ledger said so.
	Find(ctx context.Context, tag string, n int, since time.Time, claimed map[string]bool) (id string, found bool, err error)
	// Poll returns the batch's status.
	Poll(ctx context.Context, id string) (Status, error)
	// Results calls fn for each request of an ended batch. choices
	// returns the number of choices asked of a custom id (ok false: not a
	// request of this batch). A line that cannot be read, or that names a
	// custom id not in the batch, is passed to bad with the reason, and the
	// reading goes on.
	Results(ctx context.Context, id string, choices func(id string) (n int, ok bool), fn func(Outcome) error, bad func(string)) error
}
