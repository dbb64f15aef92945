package llm

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kinds of remote-endpoint errors; test them with errors.Is. Every error
// returned by OpenAI (and by Limited around it) is an *APIError whose Kind
// is one of these (or ErrUnknownModel, ErrContextLength, ErrInvalidRequest
// for the request errors a server reports with 404 or 400).
var (
	// ErrRateLimited: the endpoint answered 429 Too Many Requests.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: the endpoint answered with a 5xx status.
	ErrServer = errors.New("server error")
	// ErrTimeout: the request did not finish within its timeout.
	ErrTimeout = errors.New("request timed out")
	// ErrConnection: the connection failed or was reset before a complete
	// answer arrived.
	ErrConnection = errors.New("connection error")
	// ErrBadResponse: the endpoint's answer was truncated or not valid JSON.
	ErrBadResponse = errors.New("invalid response")
	// ErrAuth: the endpoint refused the credentials (401 or 403).
	ErrAuth = errors.New("authentication failed")
	// ErrClient: any other 4xx status.
	ErrClient = errors.New("client error")
)

// APIError is an error of a remote endpoint. It carries the HTTP status
// (0 when no response arrived), the typed Kind, the delay the server asked
// for (Retry-After) and, once Limited has given up, the number of attempts.
// Its message never contains the API key.
type APIError struct {
	// Kind is ErrRateLimited, ErrServer, ErrTimeout, ErrConnection,
	// ErrBadResponse, ErrAuth, ErrClient, ErrUnknownModel,
	// ErrContextLength or ErrInvalidRequest.
	Kind error
	// StatusCode is the HTTP status, 0 when there was no response.
	StatusCode int
	// RetryAfter is the delay advertised by the server (0 when none).
	RetryAfter time.Duration
	// Attempts is the number of attempts made (set by Limited).
	Attempts int
	// Op names the operation ("chat completion", "completion", "embeddings").
	Op string
	// Message is the redacted detail.
	Message string
	// ctxErr is the context error behind a cancellation or timeout, if any.
	ctxErr error
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("llm")
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	b.WriteString(": " + e.Kind.Error())
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (status %d)", e.StatusCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap returns Kind and, for cancellations and timeouts, the context
// error, so that errors.Is(err, ErrRateLimited) and
// errors.Is(err, context.DeadlineExceeded) work.
func (e *APIError) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.Kind, e.ctxErr}
	}
	return []error{e.Kind}
}

// Retryable reports whether a later identical request may succeed:
// rate limits, server errors, timeouts, connection failures and invalid
// bodies.
func (e *APIError) Retryable() bool {
	switch e.Kind {
	case ErrRateLimited, ErrServer, ErrTimeout, ErrConnection, ErrBadResponse:
		return true
	}
	return false
}

// kindOfStatus maps an HTTP error status to an error kind.
func kindOfStatus(status int, code string) error {
	switch {
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrServer
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrAuth
	case status == http.StatusNotFound && code == "model_not_found":
		return ErrUnknownModel
	case status == http.StatusBadRequest && code == "context_length_exceeded":
		return ErrContextLength
	case status == http.StatusBadRequest:
		return ErrInvalidRequest
	case status == http.StatusRequestTimeout:
		return ErrTimeout
	}
	return ErrClient
}

// ParseRetryAfter reads a Retry-After header value: a number of seconds
// (fractions accepted) or an HTTP date, relative to now. It returns 0 and
// false when the value is absent or malformed; dates in the past give 0
// and true.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s != s || s > 1e9 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// retryAfterOf reads the delay a response asks for: retry-after-ms (as
// sent by OpenAI) or Retry-After.
func retryAfterOf(h http.Header, now time.Time) time.Duration {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if v, err := strconv.ParseFloat(ms, 64); err == nil && v >= 0 && v < 1e12 {
			return time.Duration(v * float64(time.Millisecond))
		}
	}
	d, _ := ParseRetryAfter(h.Get("Retry-After"), now)
	return d
}
