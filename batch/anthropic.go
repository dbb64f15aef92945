package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ggmi-dev/ggmi/llm"
)

// DefaultAnthropicKeyEnv is the variable the Anthropic key is read from.
const DefaultAnthropicKeyEnv = "ANTHROPIC_API_KEY"

// anthropicMaxTokens is max_tokens when the run sets none (Anthropic
// requires it).
const anthropicMaxTokens = 4096

// Anthropic is Anthropic's Message Batches API through the official Go
// SDK. Anthropic answers one choice per request and takes no seed and no
// response format: a request with N > 1 is refused, the seed and format
// stay in the cache key only.
type Anthropic struct {
	client anthropic.Client
	model  string
}

// AnthropicOptions configure NewAnthropic.
type AnthropicOptions struct {
	// BaseURL is the API root ("https://api.anthropic.com"; a trailing
	// /v1 is dropped).
	BaseURL string
	// Model is used when a request names none.
	Model string
	// APIKeyEnv names the variable holding the key (DefaultAnthropicKeyEnv
	// when empty).
	APIKeyEnv string
	// HTTPClient performs the requests (http.DefaultClient when nil).
	HTTPClient *http.Client
}

// NewAnthropic returns the Message Batches API of an endpoint.
func NewAnthropic(opt AnthropicOptions) *Anthropic {
	if opt.APIKeyEnv == "" {
		opt.APIKeyEnv = DefaultAnthropicKeyEnv
	}
	base := strings.TrimSuffix(strings.TrimRight(opt.BaseURL, "/"), "/v1") + "/"
	opts := []option.RequestOption{option.WithoutEnvironmentDefaults(), option.WithBaseURL(base), option.WithMaxRetries(0)}
	if k := os.Getenv(opt.APIKeyEnv); k != "" {
		opts = append(opts, option.WithAPIKey(k))
	}
	if opt.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(opt.HTTPClient))
	}
	return &Anthropic{client: anthropic.NewClient(opts...), model: opt.Model}
}

// Name implements Provider.
func (a *Anthropic) Name() string { return "anthropic" }

// Limits implements Provider.
func (a *Anthropic) Limits() Limits { return AnthropicLimits }

type anthropicMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type anthropicParams struct {
	Model         string             `json:"model"`
	MaxTokens     int                `json:"max_tokens"`
	System        string             `json:"system,omitempty"`
	Messages      []anthropicMessage `json:"messages"`
	Temperature   float64            `json:"temperature"`
	TopP          float64            `json:"top_p,omitempty"`
	StopSequences []string           `json:"stop_sequences,omitempty"`
}

// Encode implements Provider: one element of the create request's
// "requests".
func (a *Anthropic) Encode(it Item) ([]byte, error) {
	req := it.Req
	if req.N > 1 {
		return nil, fmt.Errorf("%w: Anthropic answers one choice per request (n = %d); use --samples", llm.ErrInvalidRequest, req.N)
	}
	p := anthropicParams{Model: req.Model, MaxTokens: req.MaxTokens, Temperature: min(req.Temperature, 1), StopSequences: req.Stop}
	if p.Model == "" {
		p.Model = a.model
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = anthropicMaxTokens
	}
	if req.TopP > 0 && req.TopP < 1 {
		p.TopP = req.TopP
	}
	msgs := req.Messages
	if len(msgs) == 0 {
		msgs = []llm.Message{{Role: llm.RoleUser, Content: req.Prompt}}
	}
	for _, m := range msgs {
		switch m.Role {
		case llm.RoleSystem, "developer":
			p.System += m.Content
		default:
			p.Messages = append(p.Messages, anthropicMessage{m.Role, m.Content})
		}
	}
	return json.Marshal(struct {
		CustomID string          `json:"custom_id"`
		Params   anthropicParams `json:"params"`
	}{it.ID, p})
}

// Create implements Provider (Anthropic's batches carry no metadata: the
// tag is not sent).
func (a *Anthropic) Create(ctx context.Context, _ string, lines [][]byte) (string, error) {
	var b strings.Builder
	b.WriteString(`{"requests":[`)
	for i, l := range lines {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(l)
	}
	b.WriteString("]}")
	res, err := a.client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{}, option.WithRequestBody("application/json", []byte(b.String())))
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// Find implements Provider: the newest batch since the intent that holds
// n requests and that the ledger does not know.
func (a *Anthropic) Find(ctx context.Context, _ string, n int, since time.Time, claimed map[string]bool) (string, bool, error) {
	it := a.client.Messages.Batches.ListAutoPaging(ctx, anthropic.MessageBatchListParams{Limit: anthropic.Int(100)})
	for it.Next() {
		b := it.Current()
		if b.CreatedAt.Before(since) {
			break
		}
		c := b.RequestCounts
		if int(c.Processing+c.Succeeded+c.Errored+c.Canceled+c.Expired) == n && !claimed[b.ID] {
			return b.ID, true, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", false, err
	}
	return "", false, nil
}

// Poll implements Provider.
func (a *Anthropic) Poll(ctx context.Context, id string) (Status, error) {
	b, err := a.client.Messages.Batches.Get(ctx, id, anthropic.MessageBatchGetParams{})
	if err != nil {
		return Status{}, err
	}
	c := b.RequestCounts
	return Status{State: string(b.ProcessingStatus), Ended: b.ProcessingStatus == anthropic.MessageBatchProcessingStatusEnded,
		Total: int(c.Processing + c.Succeeded + c.Errored + c.Canceled + c.Expired), Done: int(c.Succeeded),
		Failed: int(c.Errored + c.Canceled + c.Expired)}, nil
}

// anthropicResult is one line of a batch's results.
type anthropicResult struct {
	CustomID string `json:"custom_id"`
	Result   struct {
		Type    string `json:"type"`
		Message *struct {
			Model   string `json:"model"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
			StopReason string `json:"stop_reason"`
			Usage      struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		} `json:"message"`
		Error *struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"error"`
	} `json:"result"`
}

// Results implements Provider: the batch's results stream, line by line.
func (a *Anthropic) Results(ctx context.Context, id string, choices func(string) (int, bool), fn func(Outcome) error, bad func(string)) error {
	var hr *http.Response
	if err := a.client.Get(ctx, "v1/messages/batches/"+id+"/results", nil, &hr); err != nil {
		return err
	}
	defer hr.Body.Close()
	return scanLines(hr.Body, func(n int, line []byte) error {
		var r anthropicResult
		if err := json.Unmarshal(line, &r); err != nil || r.CustomID == "" {
			bad(fmt.Sprintf("results line %d is not a batch result (%s)", n, short(line)))
			return nil
		}
		if _, ours := choices(r.CustomID); !ours {
			bad(fmt.Sprintf("results line %d names custom id %q, which is not a request of this batch", n, r.CustomID))
			return nil
		}
		out := Outcome{ID: r.CustomID}
		switch {
		case r.Result.Type == "succeeded" && r.Result.Message != nil:
			m := r.Result.Message
			var text strings.Builder
			for _, c := range m.Content {
				if c.Type == "text" {
					text.WriteString(c.Text)
				}
			}
			finish := llm.FinishStop
			if m.StopReason == "max_tokens" {
				finish = llm.FinishLength
			}
			out.Resp = llm.Response{Model: m.Model, Choices: []llm.Choice{{Text: text.String(), FinishReason: finish}},
				Usage: llm.Usage{PromptTokens: m.Usage.InputTokens, CompletionTokens: m.Usage.OutputTokens}}
		case r.Result.Type == "errored" && r.Result.Error != nil:
			out.Kind, out.Err = "errored", r.Result.Error.Error.Type+": "+r.Result.Error.Error.Message
		case r.Result.Type == "expired" || r.Result.Type == "canceled":
			out.Kind = r.Result.Type
		default:
			out.Kind, out.Err = "errored", "result of type "+r.Result.Type
		}
		return fn(out)
	})
}
