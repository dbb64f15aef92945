package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/ggmi-dev/ggmi/internal/openaiwire"
	"github.com/ggmi-dev/ggmi/llm"
)

// Limits of a request.
const (
	// DefaultMaxBodyBytes is the default cap on a request body.
	DefaultMaxBodyBytes = 4 << 20
	// MaxStops is the largest number of stop strings.
	MaxStops = 16
	// MaxPrompts is the largest number of prompts or embedding inputs in
	// one request.
	MaxPrompts = 2048
	// DefaultCompletionMaxTokens is max_tokens of /v1/completions when
	// absent (OpenAI's default).
	DefaultCompletionMaxTokens = 16
)

// fields is a JSON object whose members are decoded one by one, so that a
// type error names its parameter.
type fields map[string]json.RawMessage

// readBody reads the JSON object of r's body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (fields, *apiError) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, invalid("invalid_json", "", "could not read the request body: %v", err)
	}
	return parseFields(data)
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: ptr("request_too_large"),
		Message: fmt.Sprintf("the request body exceeds the limit of %d bytes", limit)}
}

// parseFields decodes a JSON object into its members.
func parseFields(data []byte) (fields, *apiError) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, invalid("invalid_json", "", "the request body is empty; expected a JSON object")
	}
	if data[0] != '{' {
		return nil, invalid("invalid_json", "", "the request body must be a JSON object")
	}
	var f fields
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, invalid("invalid_json", "", "could not parse the JSON body: %v", err)
	}
	if dec.More() {
		return nil, invalid("invalid_json", "", "unexpected data after the JSON object")
	}
	return f, nil
}

// has reports whether name is present and not null.
func (f fields) has(name string) bool {
	raw, ok := f[name]
	return ok && !bytes.Equal(raw, []byte("null"))
}

// get decodes member name into dst when it is present and not null.
func (f fields) get(name string, dst any, want string) (bool, *apiError) {
	if !f.has(name) {
		return false, nil
	}
	if err := json.Unmarshal(f[name], dst); err != nil {
		return false, invalid("invalid_type", name, "%s must be %s", name, want)
	}
	return true, nil
}

// stringOrList decodes a member that is a string or an array of strings.
func (f fields) stringOrList(name string) ([]string, bool, *apiError) {
	if !f.has(name) {
		return nil, false, nil
	}
	var s string
	if json.Unmarshal(f[name], &s) == nil {
		return []string{s}, true, nil
	}
	var list []string
	if err := json.Unmarshal(f[name], &list); err != nil {
		return nil, false, invalid("invalid_type", name, "%s must be a string or an array of strings", name)
	}
	return list, true, nil
}

// sampling holds the parameters shared by both completion endpoints.
type sampling struct {
	model        string
	n            int
	seed         *uint64
	temperature  float64
	topP         float64
	maxTokens    int
	stop         []string
	stream       bool
	includeUsage bool
	ignoreEOS    bool
	format       *llm.ResponseFormat // response_format (nil: free text)
}

// decodeSampling reads the common parameters; maxTokensNames lists the
// accepted names of the token limit (the first present wins).
func decodeSampling(f fields, defMaxTokens int, maxTokensNames ...string) (sampling, *apiError) {
	s := sampling{n: 1, temperature: 1, topP: 1, maxTokens: defMaxTokens}
	if _, e := f.get("model", &s.model, "a string"); e != nil {
		return s, e
	}
	if s.model == "" {
		return s, invalid("missing_required_parameter", "model", "you must provide a model parameter")
	}
	if ok, e := f.get("n", &s.n, "an integer"); e != nil {
		return s, e
	} else if ok && (s.n < 1 || s.n > llm.MaxN) {
		return s, invalid("invalid_value", "n", "n must be between 1 and %d (got %d)", llm.MaxN, s.n)
	}
	var seed int64
	if ok, e := f.get("seed", &seed, "an integer"); e != nil {
		return s, e
	} else if ok {
		u := uint64(seed)
		s.seed = &u
	}
	if ok, e := f.get("temperature", &s.temperature, "a number"); e != nil {
		return s, e
	} else if ok && !(s.temperature >= 0 && s.temperature <= 2) {
		return s, invalid("invalid_value", "temperature", "temperature must be between 0 and 2 (got %g)", s.temperature)
	}
	if ok, e := f.get("top_p", &s.topP, "a number"); e != nil {
		return s, e
	} else if ok && !(s.topP >= 0 && s.topP <= 1) {
		return s, invalid("invalid_value", "top_p", "top_p must be between 0 and 1 (got %g)", s.topP)
	}
	for _, name := range maxTokensNames {
		var mt int
		if ok, e := f.get(name, &mt, "an integer"); e != nil {
			return s, e
		} else if ok {
			if mt < 1 {
				return s, invalid("invalid_value", name, "%s must be at least 1 (got %d)", name, mt)
			}
			s.maxTokens = mt
			break
		}
	}
	stop, _, e := f.stringOrList("stop")
	if e != nil {
		return s, e
	}
	if len(stop) > MaxStops {
		return s, invalid("invalid_value", "stop", "at most %d stop sequences are allowed (got %d)", MaxStops, len(stop))
	}
	for _, st := range stop {
		if st != "" {
			s.stop = append(s.stop, st)
		}
	}
	if _, e := f.get("stream", &s.stream, "a boolean"); e != nil {
		return s, e
	}
	var so openaiwire.StreamOptions
	if _, e := f.get("stream_options", &so, "an object"); e != nil {
		return s, e
	}
	s.includeUsage = so.IncludeUsage
	if _, e := f.get("ignore_eos", &s.ignoreEOS, "a boolean"); e != nil {
		return s, e
	}
	if s.format, e = decodeResponseFormat(f); e != nil {
		return s, e
	}
	for _, name := range []string{"frequency_penalty", "presence_penalty"} {
		var v float64
		if ok, e := f.get(name, &v, "a number"); e != nil {
			return s, e
		} else if ok && v != 0 {
			return s, invalid("unsupported_parameter", name, "%s is not supported by this server (only 0)", name)
		}
	}
	return s, nil
}

// request returns the backend request. OpenAI's top_p 0 keeps only the
// most likely token, which is greedy decoding (the backend reads TopP 0 as
// "no nucleus").
func (s sampling) request() llm.Request {
	temp := s.temperature
	if s.topP == 0 {
		temp = 0
	}
	return llm.Request{Model: s.model, N: s.n, Seed: s.seed, Temperature: temp, TopP: s.topP,
		MaxTokens: s.maxTokens, Stop: s.stop, IgnoreEOS: s.ignoreEOS, Format: s.format}
}

// chatRequest is a decoded /v1/chat/completions request.
type chatRequest struct {
	sampling
	req llm.Request
}

// decodeChat parses and validates the body of a chat completion request.
func decodeChat(data []byte) (chatRequest, *apiError) {
	f, e := parseFields(data)
	if e != nil {
		return chatRequest{}, e
	}
	return decodeChatFields(f)
}

func decodeChatFields(f fields) (chatRequest, *apiError) {
	var c chatRequest
	s, e := decodeSampling(f, 0, "max_completion_tokens", "max_tokens")
	if e != nil {
		return c, e
	}
	c.sampling = s
	c.req = s.request()
	if !f.has("messages") {
		return c, invalid("missing_required_parameter", "messages", "you must provide a messages parameter")
	}
	var raw []struct {
		Role    *string         `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if _, e := f.get("messages", &raw, "an array of message objects"); e != nil {
		return c, e
	}
	if len(raw) == 0 {
		return c, invalid("invalid_value", "messages", "messages must hold at least one message")
	}
	for i, m := range raw {
		param := fmt.Sprintf("messages[%d]", i)
		if m.Role == nil {
			return c, invalid("missing_required_parameter", param+".role", "every message needs a role")
		}
		switch *m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return c, invalid("invalid_value", param+".role", "unsupported role %q (want system, developer, user or assistant)", *m.Role)
		}
		text, e := messageText(m.Content, param+".content")
		if e != nil {
			return c, e
		}
		c.req.Messages = append(c.req.Messages, llm.Message{Role: *m.Role, Content: text})
	}
	if _, e := f.get("logprobs", &c.req.LogProbs, "a boolean"); e != nil {
		return c, e
	}
	if ok, e := f.get("top_logprobs", &c.req.TopLogProbs, "an integer"); e != nil {
		return c, e
	} else if ok {
		if c.req.TopLogProbs < 0 || c.req.TopLogProbs > llm.MaxTopLogProbs {
			return c, invalid("invalid_value", "top_logprobs", "top_logprobs must be between 0 and %d (got %d)", llm.MaxTopLogProbs, c.req.TopLogProbs)
		}
		if !c.req.LogProbs && c.req.TopLogProbs > 0 {
			return c, invalid("invalid_value", "top_logprobs", "top_logprobs requires logprobs to be true")
		}
	}
	for _, name := range []string{"tools", "functions", "tool_choice"} {
		if f.has(name) {
			return c, invalid("unsupported_parameter", name, "%s is not supported by this server", name)
		}
	}
	return c, nil
}

// messageText reads a message's content: a string, null, or an array of
// {"type": "text", "text": …} parts.
func messageText(raw json.RawMessage, param string) (string, *apiError) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", invalid("invalid_type", param, "content must be a string or an array of text parts")
	}
	var b bytes.Buffer
	for _, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", invalid("invalid_value", param, "only text content parts are supported (got type %q)", p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

// completionRequest is a decoded /v1/completions request.
type completionRequest struct {
	sampling
	prompts []string
	req     llm.Request
}

// decodeCompletion parses and validates the body of a completion request.
func decodeCompletion(f fields) (completionRequest, *apiError) {
	var c completionRequest
	s, e := decodeSampling(f, DefaultCompletionMaxTokens, "max_tokens")
	if e != nil {
		return c, e
	}
	c.sampling = s
	c.req = s.request()
	prompts, ok, e := f.stringOrList("prompt")
	if e != nil {
		return c, invalid("invalid_type", "prompt", "prompt must be a string or an array of strings (token ids are not supported)")
	}
	if !ok {
		return c, invalid("missing_required_parameter", "prompt", "you must provide a prompt parameter")
	}
	if len(prompts) == 0 || len(prompts) > MaxPrompts {
		return c, invalid("invalid_value", "prompt", "prompt must hold between 1 and %d strings (got %d)", MaxPrompts, len(prompts))
	}
	if len(prompts)*s.n > llm.MaxN {
		return c, invalid("invalid_value", "n", "prompts × n must not exceed %d (got %d)", llm.MaxN, len(prompts)*s.n)
	}
	c.prompts = prompts
	var lp int
	if ok, e := f.get("logprobs", &lp, "an integer"); e != nil {
		return c, e
	} else if ok {
		if lp < 0 || lp > 5 {
			return c, invalid("invalid_value", "logprobs", "logprobs must be between 0 and 5 (got %d)", lp)
		}
		c.req.LogProbs, c.req.TopLogProbs = true, lp
	}
	var echo bool
	if _, e := f.get("echo", &echo, "a boolean"); e != nil {
		return c, e
	} else if echo {
		return c, invalid("unsupported_parameter", "echo", "echo is not supported by this server")
	}
	var suffix string
	if _, e := f.get("suffix", &suffix, "a string"); e != nil {
		return c, e
	} else if suffix != "" {
		return c, invalid("unsupported_parameter", "suffix", "suffix is not supported by this server")
	}
	var bestOf int
	if ok, e := f.get("best_of", &bestOf, "an integer"); e != nil {
		return c, e
	} else if ok && bestOf != s.n {
		return c, invalid("unsupported_parameter", "best_of", "best_of is not supported by this server (only equal to n)")
	}
	return c, nil
}

// embedRequest is a decoded /v1/embeddings request.
type embedRequest struct {
	req    llm.EmbedRequest
	base64 bool
	dims   int
}

func decodeEmbed(f fields) (embedRequest, *apiError) {
	var r embedRequest
	if _, e := f.get("model", &r.req.Model, "a string"); e != nil {
		return r, e
	}
	if r.req.Model == "" {
		return r, invalid("missing_required_parameter", "model", "you must provide a model parameter")
	}
	in, ok, e := f.stringOrList("input")
	if e != nil {
		return r, invalid("invalid_type", "input", "input must be a string or an array of strings (token ids are not supported)")
	}
	if !ok {
		return r, invalid("missing_required_parameter", "input", "you must provide an input parameter")
	}
	if len(in) == 0 || len(in) > MaxPrompts {
		return r, invalid("invalid_value", "input", "input must hold between 1 and %d strings (got %d)", MaxPrompts, len(in))
	}
	r.req.Input = in
	var format string
	if _, e := f.get("encoding_format", &format, "a string"); e != nil {
		return r, e
	}
	switch format {
	case "", "float":
	case "base64":
		r.base64 = true
	default:
		return r, invalid("invalid_value", "encoding_format", "encoding_format must be float or base64 (got %q)", format)
	}
	if ok, e := f.get("dimensions", &r.dims, "an integer"); e != nil {
		return r, e
	} else if ok && r.dims < 1 {
		return r, invalid("invalid_value", "dimensions", "dimensions must be at least 1 (got %d)", r.dims)
	}
	return r, nil
}

// finite reports whether every value is a finite number (JSON cannot
// carry the others).
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
