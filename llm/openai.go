package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ggmi-dev/ggmi/internal/openaiwire"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// DefaultAPIKeyEnv is the environment variable OpenAI reads the API key
// from when OpenAIOptions.APIKeyEnv is empty.
const DefaultAPIKeyEnv = "OPENAI_API_KEY"

// Modes of an OpenAI backend.
const (
	// ModeAuto uses /chat/completions for requests with Messages and
	// /completions for requests with a Prompt.
	ModeAuto = ""
	// ModeChat sends every request to /chat/completions; a Prompt becomes
	// one user message.
	ModeChat = "chat"
	// ModeCompletion sends every request to /completions; requests with
	// Messages are rejected.
	ModeCompletion = "completion"
)

// OpenAIOptions configure NewOpenAI.
type OpenAIOptions struct {
	// BaseURL is the endpoint's API root, e.g. "https://api.openai.com/v1"
	// or "http://localhost:8080/v1" (required).
	BaseURL string
	// Model is the model used when Request.Model is empty (required).
	Model string
	// Models lists further model names the endpoint accepts (Models()
	// returns Model followed by these).
	Models []string
	// APIKeyEnv names the environment variable holding the API key
	// (DefaultAPIKeyEnv when empty). The key itself is never taken as an
	// option so that it cannot end up in configuration dumps or logs. An
	// unset variable sends no key (fine for local servers).
	APIKeyEnv string
	// Mode is ModeAuto, ModeChat or ModeCompletion.
	Mode string
	// HTTPClient performs the requests (a client with a tuned transport
	// when nil).
	HTTPClient *http.Client
}

// OpenAI is a Backend over an OpenAI-compatible HTTP endpoint (OpenAI,
// vLLM, llama.cpp, ggmi serve, …). It makes exactly one HTTP request per
// Generate or Embed call: wrap it in Limited for retries, rate limits and
// timeouts. Errors are *APIError values with the API key redacted. It is
// safe for concurrent use.
type OpenAI struct {
	// The services are built without openai.NewClient, whose defaults read
	// OPENAI_API_KEY, OPENAI_ADMIN_KEY, OPENAI_ORG_ID and other variables:
	// only the variable named by APIKeyEnv is ever read.
	chatSvc openai.ChatService
	comp    openai.CompletionService
	client  openai.Client
	emb     openai.EmbeddingService
	opt     OpenAIOptions
	baseURL string // redacted, for String and Identity
	key     string
}

// sdkTelemetryHeaders are the headers the SDK adds to every request to
// describe itself; no endpoint needs them, and each costs the client and
// the server CPU on every request.
var sdkTelemetryHeaders = []string{
	"X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-OS", "X-Stainless-Arch",
	"X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Retry-Count", "X-Stainless-Timeout",
}

// stripTelemetry removes sdkTelemetryHeaders from an outgoing request.
func stripTelemetry(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	for _, h := range sdkTelemetryHeaders {
		r.Header.Del(h)
	}
	return next(r)
}

// NewOpenAI returns an OpenAI backend.
func NewOpenAI(opt OpenAIOptions) (*OpenAI, error) {
	if opt.BaseURL == "" {
		return nil, fmt.Errorf("llm: openai backend: %w: empty base URL", ErrInvalidRequest)
	}
	if opt.Model == "" {
		return nil, fmt.Errorf("llm: openai backend: %w: empty model name", ErrInvalidRequest)
	}
	switch opt.Mode {
	case ModeAuto, ModeChat, ModeCompletion:
	default:
		return nil, fmt.Errorf("llm: openai backend: %w: unknown mode %q", ErrInvalidRequest, opt.Mode)
	}
	if opt.APIKeyEnv == "" {
		opt.APIKeyEnv = DefaultAPIKeyEnv
	}
	key := os.Getenv(opt.APIKeyEnv)
	b := &OpenAI{opt: opt, key: key}
	u, err := url.Parse(opt.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("llm: openai backend: %w: base URL %q is not an http(s) URL", ErrInvalidRequest, b.redact(opt.BaseURL))
	}
	u.User = nil
	u.RawQuery = ""
	b.baseURL = b.redact(u.String())
	hc := opt.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 1024
		tr.MaxIdleConnsPerHost = 1024
		hc = &http.Client{Transport: tr}
	}
	base := strings.TrimRight(opt.BaseURL, "/") + "/"
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	}
	// One middleware strips the SDK's self-description; an option layer
	// per header costs several times more CPU on every request.
	opts = append(opts, option.WithMiddleware(stripTelemetry))
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	b.chatSvc = openai.NewChatService(opts...)
	// Only the options above (NewClient would add the OPENAI_* environment
	// defaults, and ggmi reads nothing but APIKeyEnv).
	b.client = openai.Client{Options: opts}
	b.comp = openai.NewCompletionService(opts...)
	b.emb = openai.NewEmbeddingService(opts...)
	return b, nil
}

// String describes the backend without its API key.
func (b *OpenAI) String() string {
	mode := b.opt.Mode
	if mode == "" {
		mode = "auto"
	}
	return fmt.Sprintf("openai(%s, model %s, mode %s, key from $%s)", b.baseURL, b.opt.Model, mode, b.opt.APIKeyEnv)
}

// Identity identifies the endpoint in cache keys: base URL and mode.
func (b *OpenAI) Identity() string {
	return "openai:" + b.baseURL + "|" + b.opt.Mode
}

// Models returns Model followed by the other accepted names.
func (b *OpenAI) Models() []string {
	return append([]string{b.opt.Model}, b.opt.Models...)
}

// redact replaces every occurrence of the API key in s.
func (b *OpenAI) redact(s string) string {
	if len(b.key) >= 4 {
		s = strings.ReplaceAll(s, b.key, "[REDACTED]")
	}
	return s
}

// Generate implements Backend: one chat or completion request. With
// req.OnDelta set the answer is streamed.
func (b *OpenAI) Generate(ctx context.Context, req Request) (Response, error) {
	chat := len(req.Messages) > 0
	switch b.opt.Mode {
	case ModeChat:
		chat = true
	case ModeCompletion:
		if len(req.Messages) > 0 {
			return Response{}, b.fail(ctx, "completion", nil, &RequestError{Kind: ErrInvalidRequest, Param: "messages", Message: "chat messages sent to a completion-only endpoint"})
		}
	}
	if req.N < 0 || req.N > MaxN {
		return Response{}, b.fail(ctx, "", nil, &RequestError{Kind: ErrInvalidRequest, Param: "n", Message: fmt.Sprintf("n = %d out of [0, %d]", req.N, MaxN)})
	}
	if chat {
		return b.chat(ctx, req)
	}
	return b.completion(ctx, req)
}

// modelOf returns the model a request is sent to.
func (b *OpenAI) modelOf(req Request) string {
	if req.Model != "" {
		return req.Model
	}
	return b.opt.Model
}

func (b *OpenAI) chat(ctx context.Context, req Request) (Response, error) {
	const op = "chat completion"
	body, err := b.requestBody(req, true)
	if err != nil {
		return Response{}, b.fail(ctx, op, nil, err)
	}
	var hr *http.Response
	if req.OnDelta != nil {
		return b.chatStream(ctx, req, body, &hr)
	}
	raw, err := b.post(ctx, "chat/completions", body, &hr)
	if err != nil {
		return Response{}, b.fail(ctx, op, hr, err)
	}
	var c openaiwire.ChatCompletion
	if err := json.Unmarshal(raw, &c); err != nil {
		return Response{}, b.fail(ctx, op, hr, fmt.Errorf("%w: %v", errInvalidBody, err))
	}
	resp := chatResponse(&c)
	if err := checkChoices(&resp, req); err != nil {
		return Response{}, b.fail(ctx, op, hr, err)
	}
	return resp, nil
}

// post sends a non-streamed request body to path through the SDK's
// client and returns the answer's bytes (decoded by the caller: the
// SDK's reflective decoder costs more CPU than the rest of the request).
func (b *OpenAI) post(ctx context.Context, path string, body []byte, hr **http.Response) ([]byte, error) {
	var raw []byte
	err := b.client.Post(ctx, path, body, &raw, option.WithResponseInto(hr))
	return raw, err
}

// chatStream runs a streamed chat completion, delivering deltas.
func (b *OpenAI) chatStream(ctx context.Context, req Request, body []byte, hrp **http.Response) (Response, error) {
	s := b.chatSvc.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{},
		option.WithRequestBody("application/json", body), option.WithResponseInto(hrp))
	defer s.Close()
	return b.readStream(ctx, "chat completion", req, hrp, func() (streamChunk, bool) {
		if !s.Next() {
			return streamChunk{}, false
		}
		c := s.Current()
		out := streamChunk{model: c.Model, usage: Usage{PromptTokens: int(c.Usage.PromptTokens), CompletionTokens: int(c.Usage.CompletionTokens)}}
		for _, ch := range c.Choices {
			out.deltas = append(out.deltas, Delta{Index: int(ch.Index), Text: ch.Delta.Content,
				LogProbs: chatLogProbs(ch.Logprobs.Content), FinishReason: ch.FinishReason})
		}
		return out, true
	}, s.Err)
}

// streamChunk is what one event of a streamed answer brings.
type streamChunk struct {
	model  string
	usage  Usage
	deltas []Delta
}

// readStream gathers a streamed answer, event by event from next (false
// at the end; streamErr tells why), handing every delta to req.OnDelta.
func (b *OpenAI) readStream(ctx context.Context, op string, req Request, hrp **http.Response, next func() (streamChunk, bool), streamErr func() error) (Response, error) {
	resp := Response{Model: b.modelOf(req)}
	texts := map[int]*Choice{}
	for {
		c, ok := next()
		if !ok {
			break
		}
		if c.model != "" {
			resp.Model = c.model
		}
		if c.usage.PromptTokens > 0 || c.usage.CompletionTokens > 0 {
			resp.Usage = c.usage
		}
		for _, d := range c.deltas {
			cur := texts[d.Index]
			if cur == nil {
				cur = &Choice{Index: d.Index}
				texts[d.Index] = cur
			}
			cur.Text += d.Text
			cur.LogProbs = append(cur.LogProbs, d.LogProbs...)
			if d.FinishReason != "" {
				cur.FinishReason = d.FinishReason
			}
			if err := req.OnDelta(d); err != nil {
				return Response{}, err
			}
		}
	}
	if err := streamErr(); err != nil {
		return Response{}, b.fail(ctx, op, *hrp, err)
	}
	if err := collect(&resp, texts); err != nil {
		return Response{}, b.fail(ctx, op, *hrp, err)
	}
	if err := checkChoices(&resp, req); err != nil {
		return Response{}, b.fail(ctx, op, *hrp, err)
	}
	return resp, nil
}

func (b *OpenAI) completion(ctx context.Context, req Request) (Response, error) {
	const op = "completion"
	body, err := b.requestBody(req, false)
	if err != nil {
		return Response{}, b.fail(ctx, op, nil, err)
	}
	var hr *http.Response
	if req.OnDelta != nil {
		s := b.comp.NewStreaming(ctx, openai.CompletionNewParams{},
			option.WithRequestBody("application/json", body), option.WithResponseInto(&hr))
		defer s.Close()
		return b.readStream(ctx, op, req, &hr, func() (streamChunk, bool) {
			if !s.Next() {
				return streamChunk{}, false
			}
			c := s.Current()
			out := streamChunk{model: c.Model, usage: Usage{PromptTokens: int(c.Usage.PromptTokens), CompletionTokens: int(c.Usage.CompletionTokens)}}
			for _, ch := range c.Choices {
				out.deltas = append(out.deltas, Delta{Index: int(ch.Index), Text: ch.Text,
					LogProbs: completionLogProbs(ch.Logprobs), FinishReason: string(ch.FinishReason)})
			}
			return out, true
		}, s.Err)
	}
	raw, err := b.post(ctx, "completions", body, &hr)
	if err != nil {
		return Response{}, b.fail(ctx, op, hr, err)
	}
	var c openaiwire.Completion
	if err := json.Unmarshal(raw, &c); err != nil {
		return Response{}, b.fail(ctx, op, hr, fmt.Errorf("%w: %v", errInvalidBody, err))
	}
	resp := completionResponse(&c, true)
	if err := checkChoices(&resp, req); err != nil {
		return Response{}, b.fail(ctx, op, hr, err)
	}
	return resp, nil
}

// The request body is an openaiwire.Request that ggmi encodes
// (encoding/json) and the SDK's client sends with its authentication,
// middleware and error handling: the SDK's reflective parameter encoder
// costs more CPU than the rest of the request (bench/client.sh).

// requestBody encodes req for /chat/completions (chat) or /completions:
// top_p only inside (0, 1), n only above 1, logprobs as the endpoint
// expects, response_format on both endpoints (OpenAI's legacy endpoint has
// none, but vLLM, llama.cpp and ggmi serve read it there too), and
// streaming with usage when req.OnDelta is set.
func (b *OpenAI) requestBody(req Request, chat bool) ([]byte, error) {
	w := openaiwire.Request{Model: b.modelOf(req), MaxTokens: max(req.MaxTokens, 0), Temperature: req.Temperature, Stop: req.Stop, IgnoreEOS: req.IgnoreEOS}
	if chat {
		msgs := req.Messages
		if len(msgs) == 0 {
			msgs = []Message{{Role: RoleUser, Content: req.Prompt}}
		}
		w.Messages = make([]openaiwire.Message, len(msgs))
		for i, m := range msgs {
			switch m.Role {
			case RoleSystem, "developer":
				w.Messages[i] = openaiwire.Message{Role: RoleSystem, Content: &msgs[i].Content}
			case RoleUser, RoleAssistant:
				w.Messages[i] = openaiwire.Message{Role: string(m.Role), Content: &msgs[i].Content}
			default:
				return nil, &RequestError{Kind: ErrInvalidRequest, Param: "messages", Message: fmt.Sprintf("unknown role %q", m.Role)}
			}
		}
		if req.LogProbs || req.TopLogProbs > 0 {
			w.Logprobs, w.TopLogprobs = true, max(req.TopLogProbs, 0)
		}
	} else {
		w.Prompt = &req.Prompt
		if req.LogProbs || req.TopLogProbs > 0 {
			// The legacy endpoint's logprobs is the number of alternatives
			// (0 returns only the chosen tokens').
			w.Logprobs = min(max(req.TopLogProbs, 0), 5)
		}
	}
	if req.TopP > 0 && req.TopP < 1 {
		w.TopP = req.TopP
	}
	if req.N > 1 {
		w.N = req.N
	}
	if req.Seed != nil {
		s := int64(*req.Seed)
		w.Seed = &s
	}
	rf, err := responseFormatOf(req.Format)
	if err != nil {
		return nil, err
	}
	w.ResponseFormat = rf
	if req.OnDelta != nil {
		w.Stream, w.StreamOptions = true, &openaiwire.StreamOptions{IncludeUsage: true}
	}
	return json.Marshal(w)
}

// responseFormatOf returns OpenAI's response_format for f (none for nil
// or free text).
func responseFormatOf(f *ResponseFormat) (*openaiwire.ResponseFormat, error) {
	if f == nil {
		return nil, nil
	}
	switch f.Type {
	case "", FormatText:
		return nil, nil
	case FormatJSONObject:
		return &openaiwire.ResponseFormat{Type: FormatJSONObject}, nil
	case FormatJSONSchema:
	default:
		return nil, &RequestError{Kind: ErrInvalidRequest, Param: "response_format", Message: fmt.Sprintf("unsupported response format type %q", f.Type)}
	}
	js := &openaiwire.JSONSchema{Name: f.Name, Strict: f.Strict}
	if js.Name == "" {
		js.Name = "response"
	}
	if len(f.Schema) > 0 && string(f.Schema) != "null" {
		if !json.Valid(f.Schema) {
			return nil, &RequestError{Kind: ErrInvalidRequest, Param: "response_format", Message: "JSON schema is not valid JSON"}
		}
		js.Schema = f.Schema
	}
	return &openaiwire.ResponseFormat{Type: FormatJSONSchema, JSONSchema: js}, nil
}

// Embed implements Backend over /embeddings.
func (b *OpenAI) Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error) {
	const op = "embeddings"
	model := req.Model
	if model == "" {
		model = b.opt.Model
	}
	var hr *http.Response
	e, err := b.emb.New(ctx, openai.EmbeddingNewParams{
		Model:          openai.EmbeddingModel(model),
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: req.Input},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	}, option.WithResponseInto(&hr))
	if err != nil {
		return EmbedResponse{}, b.fail(ctx, op, hr, err)
	}
	out := EmbedResponse{Model: e.Model, Vectors: make([][]float32, len(req.Input)), Usage: Usage{PromptTokens: int(e.Usage.PromptTokens)}}
	for _, d := range e.Data {
		if d.Index < 0 || int(d.Index) >= len(out.Vectors) {
			return EmbedResponse{}, b.fail(ctx, op, hr, fmt.Errorf("%w: embedding index %d out of range", errInvalidBody, d.Index))
		}
		v := make([]float32, len(d.Embedding))
		for i, x := range d.Embedding {
			v[i] = float32(x)
		}
		out.Vectors[d.Index] = v
	}
	for i, v := range out.Vectors {
		if v == nil {
			return EmbedResponse{}, b.fail(ctx, op, hr, fmt.Errorf("%w: no embedding for input %d", errInvalidBody, i))
		}
	}
	return out, nil
}

// usageOf reads the token counts of an answer (zero when absent).
func usageOf(u *openaiwire.Usage) Usage {
	if u == nil {
		return Usage{}
	}
	return Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
}

// chatResponse converts a chat answer (its logprobs included).
func chatResponse(c *openaiwire.ChatCompletion) Response {
	resp := Response{Model: c.Model, Usage: usageOf(c.Usage)}
	for _, ch := range c.Choices {
		out := Choice{Index: ch.Index, Text: ch.Message.Text(), FinishReason: openaiwire.Str(ch.FinishReason)}
		if ch.LogProbs != nil {
			out.LogProbs = wireLogProbs(ch.LogProbs.Content)
		}
		resp.Choices = append(resp.Choices, out)
	}
	return resp
}

// completionResponse converts a completion answer; logprobs only when
// withLogProbs.
func completionResponse(c *openaiwire.Completion, withLogProbs bool) Response {
	resp := Response{Model: c.Model, Usage: usageOf(c.Usage)}
	for _, ch := range c.Choices {
		out := Choice{Index: ch.Index, Text: ch.Text, FinishReason: openaiwire.Str(ch.FinishReason)}
		if withLogProbs && ch.LogProbs != nil {
			out.LogProbs = completionLogProbs(openai.CompletionChoiceLogprobs{Tokens: ch.LogProbs.Tokens, TokenLogprobs: ch.LogProbs.TokenLogProbs, TopLogprobs: ch.LogProbs.TopLogProbs})
		}
		resp.Choices = append(resp.Choices, out)
	}
	return resp
}

func wireLogProbs(lp []openaiwire.ChatLogProb) []TokenLogProb {
	if len(lp) == 0 {
		return nil
	}
	out := make([]TokenLogProb, len(lp))
	for i, t := range lp {
		out[i] = TokenLogProb{Token: t.Token, LogProb: t.LogProb}
		for _, a := range t.TopLogProbs {
			out[i].Top = append(out[i].Top, TopLogProb{Token: a.Token, LogProb: a.LogProb})
		}
	}
	return out
}

// errInvalidBody marks a well-formed HTTP answer whose content is unusable.
var errInvalidBody = errors.New("invalid response body")

// collect moves the streamed choices into resp in index order and checks
// that each one finished (a stream cut short is an invalid answer).
func collect(resp *Response, texts map[int]*Choice) error {
	idx := make([]int, 0, len(texts))
	for i := range texts {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if texts[i].FinishReason == "" {
			return fmt.Errorf("%w: stream ended before choice %d finished", errInvalidBody, i)
		}
		resp.Choices = append(resp.Choices, *texts[i])
	}
	return nil
}

// checkChoices verifies that the answer holds the N choices asked for, in
// order.
func checkChoices(resp *Response, req Request) error {
	n := max(req.N, 1)
	sort.SliceStable(resp.Choices, func(i, j int) bool { return resp.Choices[i].Index < resp.Choices[j].Index })
	if len(resp.Choices) != n {
		return fmt.Errorf("%w: %d choices, want %d", errInvalidBody, len(resp.Choices), n)
	}
	for i, c := range resp.Choices {
		if c.Index != i {
			return fmt.Errorf("%w: choice index %d at position %d", errInvalidBody, c.Index, i)
		}
	}
	return nil
}

func chatLogProbs(lp []openai.ChatCompletionTokenLogprob) []TokenLogProb {
	if len(lp) == 0 {
		return nil
	}
	out := make([]TokenLogProb, len(lp))
	for i, t := range lp {
		out[i] = TokenLogProb{Token: t.Token, LogProb: t.Logprob}
		for _, a := range t.TopLogprobs {
			out[i].Top = append(out[i].Top, TopLogProb{Token: a.Token, LogProb: a.Logprob})
		}
	}
	return out
}

func completionLogProbs(lp openai.CompletionChoiceLogprobs) []TokenLogProb {
	if len(lp.Tokens) == 0 {
		return nil
	}
	out := make([]TokenLogProb, len(lp.Tokens))
	for i, t := range lp.Tokens {
		out[i].Token = t
		if i < len(lp.TokenLogprobs) {
			out[i].LogProb = lp.TokenLogprobs[i]
		}
		if i < len(lp.TopLogprobs) {
			for tok, v := range lp.TopLogprobs[i] {
				out[i].Top = append(out[i].Top, TopLogProb{Token: tok, LogProb: v})
			}
			sort.Slice(out[i].Top, func(a, c int) bool { return out[i].Top[a].LogProb > out[i].Top[c].LogProb })
		}
	}
	return out
}

// fail turns any error of a request into an *APIError with the key
// redacted. hr is the HTTP response when one arrived.
func (b *OpenAI) fail(ctx context.Context, op string, hr *http.Response, err error) error {
	e := &APIError{Op: op}
	var re *RequestError
	var ae *openai.Error
	switch {
	case errors.As(err, &re):
		e.Kind = re.Kind
		e.Message = re.Error()
	case errors.As(err, &ae):
		e.StatusCode = ae.StatusCode
		e.Kind = kindOfStatus(ae.StatusCode, ae.Code)
		e.Message = ae.Message
		if ae.Response != nil {
			e.RetryAfter = retryAfterOf(ae.Response.Header, time.Now())
		}
	case ctx.Err() != nil:
		e.Kind = ErrTimeout
		if errors.Is(ctx.Err(), context.Canceled) {
			e.Kind = context.Canceled
		}
		e.ctxErr = ctx.Err()
		e.Message = err.Error()
	case hr != nil && hr.StatusCode >= 400:
		// An error status whose body is not OpenAI's error object.
		e.StatusCode = hr.StatusCode
		e.Kind = kindOfStatus(hr.StatusCode, "")
		e.RetryAfter = retryAfterOf(hr.Header, time.Now())
		e.Message = http.StatusText(hr.StatusCode)
	default:
		e.Kind = classifyTransport(err)
		e.Message = err.Error()
		if hr != nil {
			e.StatusCode = hr.StatusCode
		}
	}
	e.Message = b.redact(e.Message)
	return e
}

// classifyTransport sorts an error that came without an error status.
func classifyTransport(err error) error {
	var ne net.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errInvalidBody), errors.As(err, &se), errors.As(err, &te),
		errors.Is(err, io.ErrUnexpectedEOF) && !isConnErr(err):
		return ErrBadResponse
	case errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case isConnErr(err):
		return ErrConnection
	case strings.Contains(err.Error(), "json"):
		return ErrBadResponse
	}
	return ErrConnection
}

// isConnErr reports whether err comes from the connection (reset, refused,
// closed) rather than from the body's content.
func isConnErr(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}
