package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"
)

// DefaultJudgePrompt is the judge's prompt, in the style of MT-bench's
// single-answer grading with a reference (Zheng et al., 2023) as the
// paper adapts it (App. G.1.5): the judge compares the student's answer
// with the reference answer, explains briefly and gives a rating from 1 to
// 10. The placeholders {instruction}, {context}, {reference} and {answer}
// are filled from the item ({context} reads "(none)" when empty) and
// {rating_format} with TextRatingFormat or JSONRatingFormat.
const DefaultJudgePrompt = `You are a strict, fair judge. Compare the assistant's answer with the reference answer, which is correct, and judge its correctness, helpfulness and relevance. Explain briefly and objectively. {rating_format}

[Question]
{instruction}

[Context]
{context}

[Reference Answer]
{reference}

[Assistant's Answer]
{answer}`

// Rating instructions of the two output modes.
const (
	TextRatingFormat = `Then rate the answer from 1 to 10 as "[[rating]]", for example "Rating: [[5]]".`
	JSONRatingFormat = `Reply in JSON: "explanation" (brief) and "rating" (an integer from 1 to 10).`
)

// Reasons a judge's reply yields no rating (JudgeStats.Failures keys).
const (
	FailEmpty       = "empty reply"
	FailNoRating    = "no rating"
	FailNotNumber   = "rating is not a number"
	FailOutOfRange  = "rating outside 1-10"
	FailInvalidJSON = "invalid JSON"
	FailTooLong     = "prompt exceeds the judge's context"
)

// Rating bounds.
const (
	MinRating = 1
	MaxRating = 10
)

var (
	doubleNum   = regexp.MustCompile(`\[\[\s*([+-]?\d+(?:\.\d+)?)\s*\]\]`)
	doubleAny   = regexp.MustCompile(`\[\[([^\[\]]*)\]\]`)
	singleNum   = regexp.MustCompile(`\[\s*([+-]?\d+(?:\.\d+)?)\s*\]`)
	labelledNum = regexp.MustCompile(`(?i)rating\s*[:=]\s*([+-]?\d+(?:\.\d+)?)`)
)

// ParseRating extracts the rating from a judge's free-text reply. It
// takes the last "[[x]]" with a number x (integer or decimal, e.g.
// "[[7]]", "[[7.5]]", "Rating: [[8]]"); without one, the last "[x]" (the
// fallback of MT-bench's parser), then the last "Rating: x". The rating
// must lie in [1, 10]. On failure it returns NaN and the reason (one of
// the Fail constants); on success the reason is "".
func ParseRating(reply string) (float64, string) {
	if strings.TrimSpace(reply) == "" {
		return math.NaN(), FailEmpty
	}
	pick := func(re *regexp.Regexp) (string, bool) {
		m := re.FindAllStringSubmatch(reply, -1)
		if len(m) == 0 {
			return "", false
		}
		return m[len(m)-1][1], true
	}
	s, ok := pick(doubleNum)
	if !ok {
		if _, any := pick(doubleAny); any {
			return math.NaN(), FailNotNumber
		}
		if s, ok = pick(singleNum); !ok {
			if s, ok = pick(labelledNum); !ok {
				return math.NaN(), FailNoRating
			}
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN(), FailNotNumber
	}
	if v < MinRating || v > MaxRating {
		return math.NaN(), FailOutOfRange
	}
	return v, ""
}

// JudgeSchema returns the JSON schema of a structured judge reply:
// {"explanation": string of at most maxExplanation characters (unbounded
// when ≤ 0), "rating": integer from 1 to 10}, both required, nothing else.
func JudgeSchema(maxExplanation int) json.RawMessage {
	expl := map[string]any{"type": "string"}
	if maxExplanation > 0 {
		expl["maxLength"] = maxExplanation
	}
	b, _ := json.Marshal(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"explanation": expl,
			"rating":      map[string]any{"type": "integer", "minimum": MinRating, "maximum": MaxRating},
		},
		"required":             []string{"explanation", "rating"},
		"additionalProperties": false,
	})
	return b
}

// ParseJSONRating reads a structured judge reply ({"explanation",
// "rating"}). A reply that does not start with "{" is parsed as free text
// with ParseRating (endpoints may ignore the schema); an object that does
// not parse (e.g. cut off by the token limit), or text without a rating,
// gives FailInvalidJSON.
func ParseJSONRating(reply string) (rating float64, explanation, reason string) {
	var v struct {
		Explanation string   `json:"explanation"`
		Rating      *float64 `json:"rating"`
	}
	trimmed := strings.TrimSpace(reply)
	if trimmed == "" {
		return math.NaN(), "", FailEmpty
	}
	if err := json.Unmarshal([]byte(trimmed), &v); err != nil || v.Rating == nil {
		if strings.HasPrefix(trimmed, "{") {
			return math.NaN(), "", FailInvalidJSON
		}
		r, why := ParseRating(reply)
		if why != "" {
			return math.NaN(), "", FailInvalidJSON
		}
		return r, reply, ""
	}
	if *v.Rating < MinRating || *v.Rating > MaxRating || math.IsNaN(*v.Rating) {
		return math.NaN(), v.Explanation, FailOutOfRange
	}
	return *v.Rating, v.Explanation, ""
}

// JudgeItem is one answer to rate.
type JudgeItem struct {
	// ID names the test record.
	ID string `json:"id"`
	// Config names the configuration (student) that answered.
	Config string `json:"config"`
	// Group is the benchmark or category the record belongs to (may be
	// empty).
	Group       string `json:"group,omitempty"`
	Instruction string `json:"instruction"`
	Context     string `json:"context,omitempty"`
	Reference   string `json:"reference"`
	Answer      string `json:"answer"`
}

// Verdict is the judge's rating of one item.
type Verdict struct {
	ID     string `json:"id"`
	Config string `json:"config"`
	Group  string `json:"group,omitempty"`
	// Rating is in [1, 10], NaN when Failure is set.
	Rating float64 `json:"rating"`
	// Failure is the reason no rating was obtained ("" on success).
	Failure     string `json:"failure,omitempty"`
	Explanation string `json:"explanation,omitempty"`
	// Raw is the judge's reply.
	Raw string `json:"raw"`
	// Structured tells whether the reply was requested under the JSON
	// schema.
	Structured bool `json:"structured"`
	// Truncated tells that fields of the prompt were shortened (ending in
	// TruncationMarker) to fit the judge's context window.
	Truncated bool `json:"truncated,omitempty"`
}

// MarshalJSON writes a missing rating as null.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	return json.Marshal(struct {
		plain
		Rating *float64 `json:"rating"`
	}{plain(v), finite(v.Rating)})
}

// Judge rates answers against references with an LLM.
type Judge struct {
	// Backend is the judge model's backend; Model its model name (the
	// backend's first model when empty).
	Backend llm.Backend
	Model   string
	// Prompt is the prompt template (DefaultJudgePrompt when empty).
	Prompt string
	// Schema asks for a JSON reply valid for JudgeSchema through
	// Request.Format. A backend that rejects the format (an error wrapping
	// llm.ErrInvalidRequest) is asked again, for this and every later
	// item, for free text.
	Schema bool
	// MaxExplanation bounds the explanation of a structured reply (300
	// characters when 0, unbounded when negative).
	MaxExplanation int
	// MaxTokens caps the reply (512 when 0). The prompt plus MaxTokens
	// must fit the judge's context: a prompt that does not is shortened
	// (see NoTruncate), and an item that cannot fit fails with
	// FailTooLong.
	MaxTokens int
	// NoTruncate turns off the shortening of prompts that do not fit the
	// context window: such items fail with FailTooLong. By default the
	// instruction, context, reference and answer are clipped, longest
	// first, each clipped field ending in TruncationMarker, until the
	// prompt fits next to MaxTokens (Verdict.Truncated); and with the
	// default prompt, a window too small for it gets CompactJudgePrompt.
	NoTruncate bool
	// ContextTokens is the judge's context window in tokens; 0 asks the
	// backend (a ContextLength method on it or on a backend it wraps).
	// Without a known window prompts are sent as they are.
	ContextTokens int
	// CharsPerToken estimates prompt tokens when the backend cannot count
	// them (a CountTokens method on it or on a backend it wraps) (3 when
	// 0).
	CharsPerToken float64
	// Temperature of the judge (0: greedy). Seed makes sampling
	// reproducible; item i uses llm.ChoiceSeed(Seed, i).
	Temperature float64
	Seed        uint64
	// Workers is the number of concurrent requests (1 when ≤ 0).
	Workers int
	// Progress receives one unit per rated item.
	Progress progress.Reporter
}

// JudgeStats counts the outcome of Rate.
type JudgeStats struct {
	Items int `json:"items"`
	Rated int `json:"rated"`
	// Failures counts the items without a rating by reason.
	Failures map[string]int `json:"failures"`
	// Structured and Text count the replies in each mode.
	Structured int `json:"structured"`
	Text       int `json:"text"`
	// Fallback is the backend's rejection of the JSON schema that switched
	// the judge to free text ("" when it did not happen).
	Fallback string `json:"fallback,omitempty"`
	// Truncated counts the items whose prompt was shortened to fit the
	// judge's context window; Compact the items judged with
	// CompactJudgePrompt.
	Truncated int `json:"truncated"`
	Compact   int `json:"compact,omitempty"`
}

// RenderJudgePrompt fills a judge prompt template for one item.
func RenderJudgePrompt(tmpl string, it JudgeItem, structured bool) string {
	if tmpl == "" {
		tmpl = DefaultJudgePrompt
	}
	ctx := it.Context
	if strings.TrimSpace(ctx) == "" {
		ctx = "(none)"
	}
	format := TextRatingFormat
	if structured {
		format = JSONRatingFormat
	}
	return strings.NewReplacer("{instruction}", it.Instruction, "{context}", ctx,
		"{reference}", it.Reference, "{answer}", it.Answer, "{rating_format}", format).Replace(tmpl)
}

// Rate asks the judge to rate every item and returns one verdict per item
// (in item order) and the counts. A prompt too long for the judge's
// context window is shortened first (see Judge.NoTruncate and
// TruncationMarker). Replies without a rating are verdicts with a
// Failure, as are items whose prompt cannot fit the judge's context; any
// other backend error stops the run.
func (j *Judge) Rate(ctx context.Context, items []JudgeItem) ([]Verdict, JudgeStats, error) {
	st := JudgeStats{Items: len(items), Failures: map[string]int{}}
	if j.Backend == nil {
		return nil, st, errors.New("judge: no backend")
	}
	model := j.Model
	if model == "" {
		if ms := j.Backend.Models(); len(ms) > 0 {
			model = ms[0]
		}
	}
	maxTok := j.MaxTokens
	if maxTok == 0 {
		maxTok = 512
	}
	maxExpl := j.MaxExplanation
	if maxExpl == 0 {
		maxExpl = 300
	}
	var format *llm.ResponseFormat
	if j.Schema {
		format = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "judgement", Schema: JudgeSchema(maxExpl), Strict: true}
	}
	rep := progress.OrNop(j.Progress)
	rep.Start("judge", len(items))
	defer rep.Done()

	var fit llm.Window
	if !j.NoTruncate {
		fit = llm.WindowOf(j.Backend, j.ContextTokens, j.CharsPerToken)
	}

	var mu sync.Mutex // guards useSchema and st
	useSchema := j.Schema
	out := make([]Verdict, len(items))
	compact := make([]bool, len(items))
	rate := func(i int) error {
		it := items[i]
		for {
			mu.Lock()
			structured := useSchema
			mu.Unlock()
			seed := llm.ChoiceSeed(j.Seed, i)
			tmpl := j.Prompt
			if tmpl == "" && j.needsCompact(fit, model, maxTok, structured) {
				tmpl = CompactJudgePrompt
			}
			build := func(it JudgeItem) llm.Request {
				req := llm.Request{Model: model, MaxTokens: maxTok, Temperature: j.Temperature, Seed: &seed,
					Messages: []llm.Message{{Role: llm.RoleUser, Content: RenderJudgePrompt(tmpl, it, structured)}}}
				if structured {
					req.Format = format
				}
				return req
			}
			v := Verdict{ID: it.ID, Config: it.Config, Group: it.Group, Rating: math.NaN(), Structured: structured}
			// A zero window (truncation off) leaves the item whole.
			send, truncated, ok := fitItem(fit, it, build)
			if !ok {
				v.Failure = FailTooLong
				out[i] = v
				return nil
			}
			v.Truncated = truncated
			compact[i] = tmpl == CompactJudgePrompt
			resp, err := j.Backend.Generate(ctx, build(send))
			switch {
			case err == nil:
			case structured && errors.Is(err, llm.ErrInvalidRequest):
				mu.Lock()
				if useSchema {
					useSchema = false
					st.Fallback = err.Error()
				}
				mu.Unlock()
				continue
			case errors.Is(err, llm.ErrContextLength):
				v.Failure = FailTooLong
				out[i] = v
				return nil
			default:
				return fmt.Errorf("judge: item %d (%s): %w", i, it.ID, err)
			}
			if len(resp.Choices) > 0 {
				v.Raw = resp.Choices[0].Text
			}
			if structured {
				v.Rating, v.Explanation, v.Failure = ParseJSONRating(v.Raw)
			} else {
				v.Rating, v.Failure = ParseRating(v.Raw)
				v.Explanation = v.Raw
			}
			out[i] = v
			return nil
		}
	}
	err := parallel(len(items), max(j.Workers, 1), func(i int) error {
		if err := rate(i); err != nil {
			return err
		}
		rep.Add(1)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	for i, v := range out {
		if v.Truncated {
			st.Truncated++
		}
		if compact[i] && v.Failure != FailTooLong {
			st.Compact++
		}
		if v.Failure != "" {
			st.Failures[v.Failure]++
		} else {
			st.Rated++
		}
		if v.Failure != FailTooLong {
			if v.Structured {
				st.Structured++
			} else {
				st.Text++
			}
		}
	}
	return out, st, nil
}

// needsCompact reports whether the default prompt's template alone (all
// fields empty) takes more than a quarter of the tokens the window leaves
// for the prompt next to maxTok, so that CompactJudgePrompt leaves the
// fields more room.
func (j *Judge) needsCompact(fit llm.Window, model string, maxTok int, structured bool) bool {
	if !fit.Known() {
		return false
	}
	budget := fit.Length - max(maxTok, 1)
	n := fit.PromptTokens(llm.Request{Model: model,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: RenderJudgePrompt(DefaultJudgePrompt, JudgeItem{}, structured)}}})
	return n > budget/4
}

// AnswerOptions control Answers.
type AnswerOptions struct {
	// Model is the student's model name (the backend's first when empty).
	Model string
	// Config labels the items.
	Config string
	// Template renders the prompts; it must be the one the student was
	// trained with (AlpacaTemplate when its NoContext is empty).
	Template PromptTemplate
	// GroupBy names the record field (see dataset.Record.Field) that
	// groups the items, e.g. "category"; none when empty.
	GroupBy string
	// MaxTokens caps each answer (256 when 0).
	MaxTokens int
	// Temperature (0: greedy) and Seed (record i uses
	// llm.ChoiceSeed(Seed, i)) of the student's sampling.
	Temperature float64
	Seed        uint64
	// Workers is the number of concurrent requests (1 when ≤ 0).
	Workers int
	// Progress receives one unit per answer.
	Progress progress.Reporter
}

// Answers has a student answer every test record (the prompt of the
// training template, completed by the backend as raw text) and returns
// the items for the judge, with the records' responses as references.
// For a built-in student, wrap its model with llm.NewBuiltin. A record
// whose prompt does not fit the student's context is an error naming it
// (filter such records, or use a shorter template).
func Answers(ctx context.Context, b llm.Backend, recs []dataset.Record, opt AnswerOptions) ([]JudgeItem, error) {
	if b == nil {
		return nil, errors.New("answers: no backend")
	}
	if opt.Template.NoContext == "" {
		opt.Template = AlpacaTemplate()
	}
	model := opt.Model
	if model == "" {
		if ms := b.Models(); len(ms) > 0 {
			model = ms[0]
		}
	}
	maxTok := opt.MaxTokens
	if maxTok == 0 {
		maxTok = 256
	}
	rep := progress.OrNop(opt.Progress)
	rep.Start("answer "+opt.Config, len(recs))
	defer rep.Done()
	items := make([]JudgeItem, len(recs))
	err := parallel(len(recs), max(opt.Workers, 1), func(i int) error {
		it := itemOf(recs[i], opt.Config, opt.GroupBy)
		seed := llm.ChoiceSeed(opt.Seed, i)
		resp, err := b.Generate(ctx, llm.Request{Model: model, Prompt: opt.Template.Prompt(recs[i]), MaxTokens: maxTok,
			Temperature: opt.Temperature, Seed: &seed})
		if err != nil {
			return fmt.Errorf("answers: record %d (%s): %w", i, it.ID, err)
		}
		if len(resp.Choices) > 0 {
			it.Answer = strings.TrimSpace(resp.Choices[0].Text)
		}
		items[i] = it
		rep.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// parallel calls fn(i) for i in [0, n) on up to workers goroutines, in
// increasing order of i per worker, and returns the first error (after
// which no new calls start).
func parallel(n, workers int, fn func(i int) error) error {
	var mu sync.Mutex
	next := 0
	var first error
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if first != nil || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// itemOf returns a judge item for a record, without the answer.
func itemOf(r dataset.Record, config, groupBy string) JudgeItem {
	instruction, context, response := fields(r)
	id := r.ID
	if id == "" {
		id = dataset.ContentID(r)
	}
	it := JudgeItem{ID: id, Config: config, Instruction: instruction, Context: context, Reference: response}
	if groupBy != "" {
		it.Group = r.Field(groupBy)
	}
	return it
}

// PredictionItems pairs an external student's predictions (EvalFile) with
// the evaluation records they answer and returns the items for the judge,
// in the order of the records; records without a prediction get an empty
// answer.
func PredictionItems(recs []dataset.Record, preds []Prediction, config, groupBy string) []JudgeItem {
	byID := make(map[string]string, len(preds))
	for _, p := range preds {
		byID[p.ID] = p.Response
	}
	items := make([]JudgeItem, len(recs))
	for i, r := range recs {
		items[i] = itemOf(r, config, groupBy)
		items[i].Answer = byID[items[i].ID]
	}
	return items
}
