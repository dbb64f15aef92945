package llm

import (
	"encoding/json"
	"fmt"

	"github.com/ggmi-dev/ggmi/internal/openaiwire"
	"github.com/openai/openai-go/v3/option"
)

// BatchDiscount is the share of the online price that the providers'
// batch APIs charge (OpenAI's Batch API and Anthropic's Message Batches
// both bill half the online price).
const BatchDiscount = 0.5

// Batch returns the price of the same tokens sent through a provider's
// batch API.
func (p Price) Batch() Price {
	return Price{InputPerMTok: p.InputPerMTok * BatchDiscount, OutputPerMTok: p.OutputPerMTok * BatchDiscount}
}

// BatchEndpoint returns the path (as OpenAI's batch input file names it,
// e.g. "/v1/chat/completions") and the JSON body of req, exactly the body
// Generate would post. req.OnDelta is ignored: a batch answer is never
// streamed.
func (b *OpenAI) BatchEndpoint(req Request) (url string, body []byte, err error) {
	chat := len(req.Messages) > 0
	switch b.opt.Mode {
	case ModeChat:
		chat = true
	case ModeCompletion:
		if chat {
			return "", nil, &RequestError{Kind: ErrInvalidRequest, Param: "messages", Message: "chat messages sent to a completion-only endpoint"}
		}
	}
	if req.N < 0 || req.N > MaxN {
		return "", nil, &RequestError{Kind: ErrInvalidRequest, Param: "n", Message: fmt.Sprintf("n = %d out of [0, %d]", req.N, MaxN)}
	}
	req.OnDelta = nil
	body, err = b.requestBody(req, chat)
	if err != nil {
		return "", nil, err
	}
	if chat {
		return "/v1/chat/completions", body, nil
	}
	return "/v1/completions", body, nil
}

// DecodeBatchBody reads the body of one answer of a batch output file
// (the body a chat completion or completion request would have returned)
// and checks that it holds n choices.
func DecodeBatchBody(url string, body []byte, n int) (Response, error) {
	var resp Response
	switch url {
	case "/v1/completions":
		var c openaiwire.Completion
		if err := json.Unmarshal(body, &c); err != nil {
			return Response{}, fmt.Errorf("%w: %v", errInvalidBody, err)
		}
		resp = completionResponse(&c, false)
	default:
		var c openaiwire.ChatCompletion
		if err := json.Unmarshal(body, &c); err != nil {
			return Response{}, fmt.Errorf("%w: %v", errInvalidBody, err)
		}
		resp = chatResponse(&c)
	}
	if err := checkChoices(&resp, Request{N: n}); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// ClientOptions returns the SDK options the backend sends its requests
// with (base URL, HTTP client, API key, no SDK retries), so that other
// services of the same endpoint (files, batches) share them.
func (b *OpenAI) ClientOptions() []option.RequestOption {
	return append([]option.RequestOption(nil), b.client.Options...)
}

// APIKeyEnv names the environment variable the key was read from.
func (b *OpenAI) APIKeyEnv() string { return b.opt.APIKeyEnv }

// BaseURL returns the endpoint's API root without credentials.
func (b *OpenAI) BaseURL() string { return b.baseURL }
