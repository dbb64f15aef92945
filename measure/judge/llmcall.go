package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/llm"
)

// The LLM-based estimators (the Cluster-agent and the LLM entailment judge)
// send every request through an llm.Backend. Callers wrap the backend with
// llm.Cached so that each answer is paid for once: every request carries an
// explicit seed and a sample index derived from the estimator's seed, the
// stage, the round and the attempt, so a rerun asks exactly the same
// requests and is served from the cache.
//
// JSON-producing requests send a JSON schema in Request.Format (the
// built-in engine and `ggmi serve` enforce it token by token; remote
// servers that support response_format follow it). When a backend rejects
// the schema (an llm.ErrInvalidRequest about response_format), the caller
// stops sending schemas and parses the free-text answers robustly: the
// prompts always describe the expected JSON in words.

// LLMCallStats counts the requests of an LLM-based estimator.
type LLMCallStats struct {
	Calls            int64 // requests sent to the backend
	SchemaRejections int64 // requests whose JSON schema the backend rejected (resent without)
	Unparsed         int64 // answers that did not parse (each was asked again or counted as a failure)
	ContextRetries   int64 // requests shrunk after the backend reported a too-long context
	BriefPrompts     int64 // prompts sent with the brief instructions to fit the context window
}

func (s LLMCallStats) settings() map[string]any {
	return map[string]any{"calls": s.Calls, "schema_rejections": s.SchemaRejections,
		"unparsed": s.Unparsed, "context_retries": s.ContextRetries, "brief_prompts": s.BriefPrompts}
}

// errUnparsed marks answers that never parsed after every attempt.
var errUnparsed = errors.New("answer did not parse")

// minItemChars is the shortest truncation of an item that prompt fitting
// tries before giving up.
const minItemChars = 8

// maxContextRetries bounds the resending of one request with a shorter
// prompt after the backend reported a too-long context.
const maxContextRetries = 8

// retryTemperature is the sampling temperature of repeated attempts, so
// that a greedy request that failed to parse can give another answer.
const retryTemperature = 0.7

// llmCaller sends JSON requests with schema fallback, context fitting and
// parse retries.
type llmCaller struct {
	b     llm.Backend
	model string
	win   llm.Window // the backend's window and token counter

	mu     sync.Mutex
	ctxLen int     // context window in tokens; 0 when unknown
	scale  float64 // fraction of ctxLen usable (shrinks after context errors)

	noSchema atomic.Bool
	calls    atomic.Int64
	rejected atomic.Int64
	unparsed atomic.Int64
	ctxRetry atomic.Int64
	brief    atomic.Int64
}

// newLLMCaller finds b's context window and token counter (llm.WindowOf);
// ctxTokens > 0 overrides the window, charsPerToken > 0 the estimate.
func newLLMCaller(b llm.Backend, model string, ctxTokens int, charsPerToken float64) (*llmCaller, error) {
	if b == nil {
		return nil, errors.New("measure: no LLM backend")
	}
	if ctxTokens < 0 || charsPerToken < 0 || math.IsNaN(charsPerToken) {
		return nil, fmt.Errorf("measure: invalid context settings (context tokens %d, chars per token %g)", ctxTokens, charsPerToken)
	}
	w := llm.WindowOf(b, ctxTokens, charsPerToken)
	return &llmCaller{b: b, model: model, win: w, ctxLen: w.Length, scale: 1}, nil
}

func (c *llmCaller) stats() LLMCallStats {
	return LLMCallStats{Calls: c.calls.Load(), SchemaRejections: c.rejected.Load(),
		Unparsed: c.unparsed.Load(), ContextRetries: c.ctxRetry.Load(), BriefPrompts: c.brief.Load()}
}

// answerTokens clamps an answer budget to half the context window.
func (c *llmCaller) answerTokens(maxTokens int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctxLen > 0 && maxTokens > c.ctxLen/2 {
		return c.ctxLen / 2
	}
	return maxTokens
}

// tokens returns the prompt tokens of msgs: exact when the backend counts
// them, else estimated from the characters.
func (c *llmCaller) tokens(msgs []llm.Message) int {
	return c.win.PromptTokens(llm.Request{Model: c.model, Messages: msgs})
}

// budget returns the prompt tokens available next to maxTokens of answer,
// or −1 when the context window is unknown.
func (c *llmCaller) budget(maxTokens int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctxLen <= 0 {
		return -1
	}
	return int(float64(c.ctxLen)*c.scale) - maxTokens
}

// fits reports whether msgs fit the context window next to maxTokens.
func (c *llmCaller) fits(msgs []llm.Message, maxTokens int) bool {
	b := c.budget(maxTokens)
	return b < 0 || c.tokens(msgs) <= b
}

// shrink reduces the usable context after the backend reported that a
// request of about used tokens was too long.
func (c *llmCaller) shrink(used int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctxLen <= 0 {
		c.ctxLen = max(used*4/5, 1)
		return
	}
	c.scale *= 0.8
}

// fullFloor is the shortest truncation of items tried with the full
// instructions before the brief ones.
const fullFloor = 64

// promptBuilder renders a request's messages with items clipped to limit
// bytes, with the full instructions or (brief) the short ones that small
// context windows need (they rely on the schema for the answer's shape).
type promptBuilder func(limit int, brief bool) []llm.Message

// fit builds the messages that fit the context window next to maxTokens:
// first the full instructions with items clipped to at most start bytes
// (down to fullFloor), then the brief instructions (down to minItemChars).
func (c *llmCaller) fit(build promptBuilder, maxTokens, start int) ([]llm.Message, error) {
	start = max(start, minItemChars)
	if msgs, _, _, ok := c.fitPass(build, false, maxTokens, start, min(start, fullFloor)); ok {
		return msgs, nil
	}
	msgs, n, b, ok := c.fitPass(build, true, maxTokens, start, minItemChars)
	if ok {
		c.brief.Add(1)
		return msgs, nil
	}
	return nil, fmt.Errorf("the prompt needs %d tokens, more than the %d left in the context window next to %d answer tokens", n, b, maxTokens)
}

// fitPass shrinks the item limit from start towards floor until the
// prompt fits; it returns the last prompt, its tokens and the budget.
func (c *llmCaller) fitPass(build promptBuilder, brief bool, maxTokens, start, floor int) ([]llm.Message, int, int, bool) {
	limit := start
	for {
		msgs := build(limit, brief)
		b := c.budget(maxTokens)
		if b < 0 {
			return msgs, 0, b, true
		}
		n := c.tokens(msgs)
		if n <= b {
			return msgs, n, b, true
		}
		if limit <= floor {
			return msgs, n, b, false
		}
		next := int(float64(limit) * 0.9 * float64(max(b, 1)) / float64(n))
		if next >= limit {
			next = limit * 3 / 4
		}
		limit = max(next, floor)
	}
}

// jsonCall is one JSON-producing request.
type jsonCall struct {
	stage       string          // schema name (letters, digits, '_')
	schema      json.RawMessage // JSON schema of the answer
	build       promptBuilder
	limit       int // starting per-item character limit for build
	maxTokens   int
	temperature float64
	seed        uint64
	attempts    int                     // total attempts when answers do not parse (≥ 1)
	parse       func(text string) error // nil error: the answer was accepted
}

// call sends jc until an answer parses or the attempts are used up; it
// returns the accepted text, or an error wrapping errUnparsed.
func (c *llmCaller) call(ctx context.Context, jc jsonCall) (string, error) {
	var last string
	var lastErr error
	for a := range max(jc.attempts, 1) {
		text, err := c.once(ctx, jc, a)
		if err != nil {
			return "", err
		}
		if lastErr = jc.parse(text); lastErr == nil {
			return text, nil
		}
		c.unparsed.Add(1)
		last = text
	}
	return "", fmt.Errorf("%s: %w after %d attempts (%v); last answer %q", jc.stage, errUnparsed, max(jc.attempts, 1), lastErr, clipText(last, 200))
}

// once sends attempt a of jc, resending without a schema when the backend
// rejects it and with a shorter prompt when the context is too long.
func (c *llmCaller) once(ctx context.Context, jc jsonCall, a int) (string, error) {
	maxTokens := c.answerTokens(jc.maxTokens)
	temp := jc.temperature
	if a > 0 {
		temp = max(temp, retryTemperature)
	}
	seed := mixSeed(jc.seed, uint64(a))
	for ctxTries := 0; ; {
		msgs, err := c.fit(jc.build, maxTokens, jc.limit)
		if err != nil {
			return "", fmt.Errorf("%s: %w", jc.stage, err)
		}
		req := llm.Request{Model: c.model, Messages: msgs, MaxTokens: maxTokens, Temperature: temp, Seed: &seed, Sample: a}
		useSchema := !c.noSchema.Load()
		if useSchema {
			req.Format = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: jc.stage, Schema: jc.schema}
		}
		c.calls.Add(1)
		resp, err := c.b.Generate(ctx, req)
		switch {
		case err == nil:
			if len(resp.Choices) == 0 {
				return "", fmt.Errorf("%s: the backend returned no choice", jc.stage)
			}
			return resp.Choices[0].Text, nil
		case useSchema && schemaRejected(err):
			c.rejected.Add(1)
			c.noSchema.Store(true)
		case errors.Is(err, llm.ErrContextLength) && ctxTries < maxContextRetries:
			ctxTries++
			c.ctxRetry.Add(1)
			c.shrink(c.tokens(msgs) + maxTokens)
		default:
			return "", fmt.Errorf("%s: %w", jc.stage, err)
		}
	}
}

// schemaRejected reports whether err is the backend refusing the response
// format (structured output unsupported or the schema not accepted).
func schemaRejected(err error) bool {
	if !errors.Is(err, llm.ErrInvalidRequest) {
		return false
	}
	var re *llm.RequestError
	if errors.As(err, &re) && re.Param == "response_format" {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, k := range []string{"response_format", "response format", "json_schema", "schema", "structured output", "guided"} {
		if strings.Contains(msg, k) {
			return true
		}
	}
	return false
}

// mixSeed combines seeds and indices into one seed (SplitMix64 steps).
func mixSeed(parts ...uint64) uint64 {
	h := uint64(0x9E3779B97F4A7C15)
	for _, p := range parts {
		h ^= p + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)
		h = splitMix64(h)
	}
	return h
}

func splitMix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// stageSeed names a stage in a seed.
func stageSeed(stage string) uint64 {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(stage); i++ {
		h ^= uint64(stage[i])
		h *= 1099511628211
	}
	return h
}

// compact folds white space runs into single spaces and trims.
func foldSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip shortens s to at most n bytes at a rune boundary, marking the cut
// with an ellipsis.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-len("…"), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// normKey lower-cases a JSON key and keeps only letters and digits, so
// "sample indices", "sample_indices" and "sampleIndices" agree.
func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pick returns the value of the first of keys (normalised) present in m.
func pickKey(m map[string]json.RawMessage, keys ...string) (json.RawMessage, bool) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	return nil, false
}

// normObject decodes a JSON object with normalised keys (the first of
// duplicate keys wins).
func normObject(b []byte) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	m := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		nk := normKey(k)
		if _, dup := m[nk]; !dup {
			m[nk] = v
		}
	}
	return m, nil
}

// flexInt accepts 3, 3.0, "3" and "sample 3" (the first integer in a
// string).
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var x float64
	if err := json.Unmarshal(b, &x); err == nil {
		if x != math.Trunc(x) || math.Abs(x) > 1e9 {
			return fmt.Errorf("not an integer: %s", b)
		}
		*f = flexInt(x)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("not an integer: %s", clipText(string(b), 40))
	}
	n, ok := firstInt(s)
	if !ok {
		return fmt.Errorf("no integer in %q", clipText(s, 40))
	}
	*f = flexInt(n)
	return nil
}

// firstInt returns the first run of decimal digits in s.
func firstInt(s string) (int, bool) {
	start := strings.IndexFunc(s, unicode.IsDigit)
	if start < 0 {
		return 0, false
	}
	end := start
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[start:end])
	return n, err == nil
}

// flexInts accepts [1, 2], ["1", "2"], "1, 2" and a single number.
type flexInts []int

func (f *flexInts) UnmarshalJSON(b []byte) error {
	var arr []flexInt
	if err := json.Unmarshal(b, &arr); err == nil {
		*f = make(flexInts, len(arr))
		for i, v := range arr {
			(*f)[i] = int(v)
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = nil
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) {
			n, err := strconv.Atoi(part)
			if err != nil {
				return fmt.Errorf("bad sample number %q", part)
			}
			*f = append(*f, n)
		}
		return nil
	}
	var one flexInt
	if err := one.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexInts{int(one)}
	return nil
}

// flexBool accepts true/false, 1/0 and yes/no/valid/invalid strings.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*f = flexBool(x)
		return nil
	case float64:
		*f = x != 0
		return nil
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		switch {
		case strings.HasPrefix(s, "in"), strings.HasPrefix(s, "no"), s == "0", s == "false":
			*f = false
			return nil
		case strings.HasPrefix(s, "val"), strings.HasPrefix(s, "yes"), s == "1", s == "true":
			*f = true
			return nil
		}
	}
	return fmt.Errorf("not a yes/no value: %s", clipText(string(b), 40))
}

// flexText accepts a string or any other JSON value (kept as its JSON).
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexText(s)
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*f = flexText(buf.String())
	return nil
}
