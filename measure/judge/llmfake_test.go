package judge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

// scriptedLLM is a deterministic llm.Backend whose answers are computed by
// reply from the request (content-based, so concurrency does not change
// them). It records every request.
type scriptedLLM struct {
	reply        func(stage string, req llm.Request) string
	rejectSchema bool // refuse every request with a response format

	mu   sync.Mutex
	reqs []llm.Request
}

func (f *scriptedLLM) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.rejectSchema && req.Format != nil {
		return llm.Response{}, &llm.RequestError{Kind: llm.ErrInvalidRequest, Param: "response_format", Message: "json_schema is not supported by this server"}
	}
	return llm.Response{Model: "fake", Choices: []llm.Choice{{Text: f.reply(stageOf(req), req), FinishReason: llm.FinishStop}}}, nil
}

func (f *scriptedLLM) Embed(context.Context, llm.EmbedRequest) (llm.EmbedResponse, error) {
	return llm.EmbedResponse{}, errors.New("fake: no embeddings")
}

func (f *scriptedLLM) Models() []string { return []string{"fake"} }

func (f *scriptedLLM) requests() []llm.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]llm.Request(nil), f.reqs...)
}

// windowLLM adds a context window to a scriptedLLM: it counts a token per
// 4 bytes of the messages and refuses requests that do not fit. Wrapped
// in advertisedLLM it exposes ContextLength and CountTokens (as the built-in
// engine does); without, callers learn the limit from the errors.
type windowLLM struct {
	*scriptedLLM
	window int
}

func (w *windowLLM) promptTokens(req llm.Request) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Role) + len(m.Content) + 4
	}
	return (n + 3) / 4
}

func (w *windowLLM) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if p := w.promptTokens(req); p+req.MaxTokens > w.window {
		return llm.Response{}, &llm.RequestError{Kind: llm.ErrContextLength, Param: "messages",
			Message: fmt.Sprintf("%d + %d tokens exceed %d", p, req.MaxTokens, w.window)}
	}
	return w.scriptedLLM.Generate(ctx, req)
}

// advertisedLLM is a windowLLM that tells its window and counts tokens.
type advertisedLLM struct{ *windowLLM }

func (a advertisedLLM) ContextLength() int { return a.window }

func (a advertisedLLM) CountTokens(req llm.Request) (int, error) { return a.promptTokens(req), nil }

// stageOf names the stage of a request: the schema name, or a phrase of
// the prompt when no schema was sent.
func stageOf(req llm.Request) string {
	if req.Format != nil {
		return req.Format.Name
	}
	p := userText(req)
	for _, s := range []struct{ phrase, stage string }{
		{"Merge duplicates", "cluster_agent_summary"}, {"Write one sentence", "cluster_agent_criterion"},
		{"Proposed clusters:", "cluster_agent_verification"}, {"Group these", "cluster_agent_clusters"},
		{"Statement A:", "entailment"}, {"metadata fields (categorical", "cluster_agent_metadata"},
	} {
		if strings.Contains(p, s.phrase) {
			return s.stage
		}
	}
	return "unknown"
}

func userText(req llm.Request) string {
	for _, m := range req.Messages {
		if m.Role == llm.RoleUser {
			return m.Content
		}
	}
	return req.Prompt
}

var sampleLine = regexp.MustCompile(`(?m)^\[(\d+)\] (\S+)`)

// promptSamples maps the sample numbers of a prompt to the first word of
// their text.
func promptSamples(req llm.Request) map[int]string {
	out := map[int]string{}
	for _, m := range sampleLine.FindAllStringSubmatch(userText(req), -1) {
		n, _ := strconv.Atoi(m[1])
		out[n] = m[2]
	}
	return out
}

var clusterLine = regexp.MustCompile(`(?m)^Cluster (\d+): texts ([\d, ]+)$`)

// promptClusters returns the clusters listed in a verification prompt.
func promptClusters(req llm.Request) map[int][]int {
	out := map[int][]int{}
	for _, m := range clusterLine.FindAllStringSubmatch(userText(req), -1) {
		id, _ := strconv.Atoi(m[1])
		for _, s := range strings.Split(m[2], ", ") {
			n, _ := strconv.Atoi(s)
			out[id] = append(out[id], n)
		}
	}
	return out
}

// topicReply answers like an ideal agent on texts whose first word is
// their topic: clusters group equal topics, and the verifier rejects the
// clusters whose topic is in invalid.
func topicReply(invalid map[string]bool) func(stage string, req llm.Request) string {
	return func(stage string, req llm.Request) string {
		switch stage {
		case "cluster_agent_metadata":
			return `{"metadata":[{"name":"topic","definition":"what the text is about"}],"metrics":[{"name":"detail","definition":"how specific the text is"}]}`
		case "cluster_agent_summary":
			if strings.Contains(userText(req), "metrics") {
				return `{"items":[{"name":"detail","definition":"specificity from 1 to 5"}]}`
			}
			return `{"items":[{"name":"topic","definition":"the subject"}]}`
		case "cluster_agent_criterion":
			if strings.Contains(userText(req), "metrics") {
				return `{"criterion":"Texts belong together when their detail scores agree."}`
			}
			return `{"criterion":"Texts belong together when they share a topic."}`
		case "cluster_agent_clusters":
			s := promptSamples(req)
			var topics []string
			groups := map[string][]int{}
			for n := 1; n <= len(s); n++ {
				if _, ok := groups[s[n]]; !ok {
					topics = append(topics, s[n])
				}
				groups[s[n]] = append(groups[s[n]], n)
			}
			var parts []string
			for i, tp := range topics {
				parts = append(parts, fmt.Sprintf(`{"cluster":%d,"sample_indices":%s,"uniqueness_reasoning":"topic %s","cluster_metadata":"topic=%s","cluster_metrics":"detail=3"}`,
					i+1, intsJSON(groups[tp]), tp, tp))
			}
			return `{"clusters":[` + strings.Join(parts, ",") + `]}`
		case "cluster_agent_verification":
			s := promptSamples(req)
			cl := promptClusters(req)
			var parts []string
			for id := 1; id <= len(cl); id++ {
				v := 1
				if invalid[s[cl[id][0]]] {
					v = 0
				}
				parts = append(parts, fmt.Sprintf(`{"cluster":%d,"valid":%d,"reasoning":"checked"}`, id, v))
			}
			return `{"verdicts":[` + strings.Join(parts, ",") + `]}`
		}
		return "?"
	}
}

func intsJSON(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %g", name, got, want, tol)
	}
}

// llmTestModel is the shared stories260K model (the test skips without ../shared).
func llmTestModel(t testing.TB) *llama.Model {
	return testshared.Stories(t)
}

// recordingLLM records every answer of the backend it wraps (and unwraps
// to it, so that token counting and the context window stay visible).
type recordingLLM struct {
	b    llm.Backend
	mu   sync.Mutex
	outs []recorded
}

type recorded struct {
	stage  string
	schema []byte
	text   string
}

func (r *recordingLLM) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	resp, err := r.b.Generate(ctx, req)
	if err == nil && req.Format != nil {
		r.mu.Lock()
		for _, c := range resp.Choices {
			r.outs = append(r.outs, recorded{req.Format.Name, req.Format.Schema, c.Text})
		}
		r.mu.Unlock()
	}
	return resp, err
}

func (r *recordingLLM) Embed(ctx context.Context, req llm.EmbedRequest) (llm.EmbedResponse, error) {
	return r.b.Embed(ctx, req)
}

func (r *recordingLLM) Models() []string { return r.b.Models() }

func (r *recordingLLM) Unwrap() llm.Backend { return r.b }

func (r *recordingLLM) answers() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.outs...)
}
