package serve

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ggmi-dev/ggmi/internal/openaiwire"
	"github.com/ggmi-dev/ggmi/llm"
)

// Options configure a Server.
type Options struct {
	// MaxBodyBytes caps request bodies (DefaultMaxBodyBytes when ≤ 0);
	// larger bodies get 413.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once its context ends (30 s when ≤ 0); then connections are closed.
	ShutdownTimeout time.Duration
	// Logger receives one line per failed request (nothing when nil).
	Logger *slog.Logger
}

// Server is an http.Handler that serves the OpenAI API over an llm.Backend.
type Server struct {
	b   llm.Backend
	opt Options
	mux *http.ServeMux
}

// New returns a Server over b.
func New(b llm.Backend, opt Options) *Server {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.ShutdownTimeout <= 0 {
		opt.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{b: b, opt: opt, mux: http.NewServeMux()}
	s.route("/v1/models", http.MethodGet, s.models)
	s.route("/v1/models/{id...}", http.MethodGet, s.model)
	s.route("/v1/completions", http.MethodPost, s.completions)
	s.route("/v1/chat/completions", http.MethodPost, s.chat)
	s.route("/v1/embeddings", http.MethodPost, s.embeddings)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("not_found"),
			Message: fmt.Sprintf("unknown URL %s %s", r.Method, r.URL.Path)})
	})
	return s
}

// route registers h for path, answering other methods with 405.
func (s *Server) route(path, method string, h http.HandlerFunc) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: ptr("method_not_allowed"),
				Message: fmt.Sprintf("%s is not allowed on %s (use %s)", r.Method, r.URL.Path, method)})
			return
		}
		h(w, r)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logf("panic serving %s %s: %v", r.Method, r.URL.Path, v)
			writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: ptr("server_error"), Message: "internal error"})
		}
	}()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) logf(format string, a ...any) {
	if s.opt.Logger != nil {
		s.opt.Logger.Error(fmt.Sprintf(format, a...))
	}
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// the listener closes at once and requests in flight run to completion
// (for at most Options.ShutdownTimeout). It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout:       2 * time.Minute, // the whole request; responses (streams) have no limit
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 16,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		hs.Close()
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// ---- wire types (OpenAI's JSON, package openaiwire) ----

func usageOf(u llm.Usage) *openaiwire.Usage {
	return &openaiwire.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens()}
}

const fingerprint = "ggmi"

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func chatLogProbs(lps []llm.TokenLogProb) *openaiwire.ChatLogProbs {
	if lps == nil {
		return nil
	}
	out := &openaiwire.ChatLogProbs{Content: make([]openaiwire.ChatLogProb, len(lps)), Refusal: []openaiwire.ChatLogProb{}}
	for i, lp := range lps {
		c := openaiwire.ChatLogProb{Token: lp.Token, LogProb: lp.LogProb, Bytes: openaiwire.Bytes(lp.Token), TopLogProbs: []openaiwire.TopLogProb{}}
		for _, t := range lp.Top {
			c.TopLogProbs = append(c.TopLogProbs, openaiwire.TopLogProb{Token: t.Token, LogProb: t.LogProb, Bytes: openaiwire.Bytes(t.Token)})
		}
		out.Content[i] = c
	}
	return out
}

// textLogProbs converts log-probs to the legacy completion format; offset is
// the text offset of the first token.
func textLogProbs(lps []llm.TokenLogProb, offset int, top bool) *openaiwire.TextLogProbs {
	if lps == nil {
		return nil
	}
	out := &openaiwire.TextLogProbs{Tokens: []string{}, TokenLogProbs: []float64{}, TextOffset: []int{}}
	if top {
		out.TopLogProbs = []map[string]float64{}
	}
	for _, lp := range lps {
		out.Tokens = append(out.Tokens, lp.Token)
		out.TokenLogProbs = append(out.TokenLogProbs, lp.LogProb)
		out.TextOffset = append(out.TextOffset, offset)
		offset += len(lp.Token)
		if top {
			m := make(map[string]float64, len(lp.Top))
			for _, t := range lp.Top {
				if _, dup := m[t.Token]; !dup {
					m[t.Token] = t.LogProb
				}
			}
			out.TopLogProbs = append(out.TopLogProbs, m)
		}
	}
	return out
}

// ---- handlers ----

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	list := struct {
		Object string             `json:"object"`
		Data   []openaiwire.Model `json:"data"`
	}{Object: "list", Data: []openaiwire.Model{}}
	for _, m := range s.b.Models() {
		list.Data = append(list.Data, openaiwire.Model{ID: m, Object: "model", OwnedBy: "ggmi"})
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, m := range s.b.Models() {
		if m == id {
			writeJSON(w, http.StatusOK, openaiwire.Model{ID: m, Object: "model", OwnedBy: "ggmi"})
			return
		}
	}
	writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("model_not_found"), Param: ptr("model"),
		Message: fmt.Sprintf("the model %q does not exist", id)})
}

// checkModel answers 404 unless the backend serves model.
func (s *Server) checkModel(model string) *apiError {
	for _, m := range s.b.Models() {
		if m == model {
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("model_not_found"), Param: ptr("model"),
		Message: fmt.Sprintf("the model %q does not exist or you do not have access to it (this server has %s)", model, strings.Join(s.b.Models(), ", "))}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.Status >= 500 {
		s.logf("%s %s: %v", r.Method, r.URL.Path, e)
	}
	writeError(w, e)
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	f, e := readBody(w, r, s.opt.MaxBodyBytes)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	c, e := decodeChatFields(f)
	if e == nil {
		e = s.checkModel(c.model)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	chunk := func(choices []openaiwire.ChatChoice, u *openaiwire.Usage) openaiwire.ChatCompletion {
		return openaiwire.ChatCompletion{ID: id, Object: "chat.completion.chunk", Created: created, Model: c.model, SystemFingerprint: fingerprint, Choices: choices, Usage: u}
	}
	var sse *sseWriter
	if c.stream {
		sse = newSSE(w)
		started := make([]bool, c.n)
		c.req.OnDelta = func(d llm.Delta) error {
			if d.Text != "" || d.LogProbs != nil || !started[d.Index] {
				msg := &openaiwire.Message{Content: &d.Text}
				if !started[d.Index] {
					msg.Role, started[d.Index] = "assistant", true
				}
				var lp *openaiwire.ChatLogProbs
				if c.req.LogProbs {
					lp = chatLogProbs(append([]llm.TokenLogProb{}, d.LogProbs...))
				}
				if err := sse.send(chunk([]openaiwire.ChatChoice{{Index: d.Index, Delta: msg, LogProbs: lp}}, nil)); err != nil {
					return err
				}
			}
			if d.FinishReason != "" {
				fr := d.FinishReason
				return sse.send(chunk([]openaiwire.ChatChoice{{Index: d.Index, Delta: &openaiwire.Message{}, FinishReason: &fr}}, nil))
			}
			return nil
		}
	}
	res, err := s.b.Generate(r.Context(), c.req)
	if err != nil {
		s.failStream(w, r, sse, fromBackend(err))
		return
	}
	if sse != nil {
		if c.includeUsage {
			sse.send(chunk([]openaiwire.ChatChoice{}, usageOf(res.Usage)))
		}
		sse.done()
		return
	}
	out := openaiwire.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: c.model, SystemFingerprint: fingerprint, Usage: usageOf(res.Usage)}
	for _, ch := range res.Choices {
		text, fr := ch.Text, ch.FinishReason
		var lp *openaiwire.ChatLogProbs
		if c.req.LogProbs {
			lp = chatLogProbs(append([]llm.TokenLogProb{}, ch.LogProbs...))
		}
		out.Choices = append(out.Choices, openaiwire.ChatChoice{Index: ch.Index, Message: &openaiwire.Message{Role: "assistant", Content: &text}, LogProbs: lp, FinishReason: &fr})
	}
	writeJSON(w, http.StatusOK, out)
}

// failStream reports e as a JSON error, or as an error event when the
// stream has already started.
func (s *Server) failStream(w http.ResponseWriter, r *http.Request, sse *sseWriter, e *apiError) {
	if sse == nil || !sse.started() {
		s.fail(w, r, e)
		return
	}
	if r.Context().Err() != nil {
		return // the client has gone
	}
	s.logf("%s %s: stream failed: %v", r.Method, r.URL.Path, e)
	sse.send(struct {
		Error *apiError `json:"error"`
	}{e})
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	f, e := readBody(w, r, s.opt.MaxBodyBytes)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	c, e := decodeCompletion(f)
	if e == nil {
		e = s.checkModel(c.model)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	top := c.req.TopLogProbs > 0
	chunk := func(choices []openaiwire.TextChoice, u *openaiwire.Usage) openaiwire.Completion {
		return openaiwire.Completion{ID: id, Object: "text_completion", Created: created, Model: c.model, SystemFingerprint: fingerprint, Choices: choices, Usage: u}
	}
	var sse *sseWriter
	var offsets []int // per choice: text bytes streamed so far
	if c.stream {
		sse = newSSE(w)
		offsets = make([]int, len(c.prompts)*c.n)
	}
	// One backend request per prompt, run concurrently; choice j of
	// prompt p has index p·n + j.
	reqs := make([]llm.Request, len(c.prompts))
	for p, prompt := range c.prompts {
		req := c.req
		req.Prompt = prompt
		if sse != nil {
			base := p * c.n
			req.OnDelta = func(d llm.Delta) error {
				i := base + d.Index
				var fr *string
				if d.FinishReason != "" {
					fr = &d.FinishReason
				}
				var lp *openaiwire.TextLogProbs
				if c.req.LogProbs {
					lp = textLogProbs(append([]llm.TokenLogProb{}, d.LogProbs...), offsets[i], top)
				}
				offsets[i] += len(d.Text)
				return sse.send(chunk([]openaiwire.TextChoice{{Index: i, Text: d.Text, LogProbs: lp, FinishReason: fr}}, nil))
			}
		}
		reqs[p] = req
	}
	results, err := s.generateAll(r.Context(), reqs)
	if err != nil {
		s.failStream(w, r, sse, fromBackend(err))
		return
	}
	var usage llm.Usage
	out := chunk(nil, nil)
	for p, res := range results {
		usage.PromptTokens += res.Usage.PromptTokens
		usage.CompletionTokens += res.Usage.CompletionTokens
		for _, ch := range res.Choices {
			fr := ch.FinishReason
			var lp *openaiwire.TextLogProbs
			if c.req.LogProbs {
				lp = textLogProbs(append([]llm.TokenLogProb{}, ch.LogProbs...), 0, top)
			}
			out.Choices = append(out.Choices, openaiwire.TextChoice{Index: p*c.n + ch.Index, Text: ch.Text, LogProbs: lp, FinishReason: &fr})
		}
	}
	if sse != nil {
		if c.includeUsage {
			sse.send(chunk([]openaiwire.TextChoice{}, usageOf(usage)))
		}
		sse.done()
		return
	}
	out.Usage = usageOf(usage)
	writeJSON(w, http.StatusOK, out)
}

// generateAll runs reqs concurrently; deltas of different requests are
// serialised. It returns the first error in request order.
func (s *Server) generateAll(ctx context.Context, reqs []llm.Request) ([]llm.Response, error) {
	if len(reqs) == 1 {
		res, err := s.b.Generate(ctx, reqs[0])
		return []llm.Response{res}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	out := make([]llm.Response, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		if f := req.OnDelta; f != nil {
			req.OnDelta = func(d llm.Delta) error {
				mu.Lock()
				defer mu.Unlock()
				return f(d)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out[i], errs[i] = s.b.Generate(ctx, req); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the cause rather than the cancellations it triggered.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return out, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	f, e := readBody(w, r, s.opt.MaxBodyBytes)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	er, e := decodeEmbed(f)
	if e == nil {
		e = s.checkModel(er.req.Model)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	res, err := s.b.Embed(r.Context(), er.req)
	if err != nil {
		s.fail(w, r, fromBackend(err))
		return
	}
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	out := struct {
		Object string            `json:"object"`
		Data   []item            `json:"data"`
		Model  string            `json:"model"`
		Usage  *openaiwire.Usage `json:"usage"`
	}{Object: "list", Data: make([]item, len(res.Vectors)), Model: er.req.Model, Usage: usageOf(res.Usage)}
	for i, v := range res.Vectors {
		if er.dims > 0 && er.dims != len(v) {
			s.fail(w, r, invalid("invalid_value", "dimensions", "this model's embeddings have %d dimensions (got %d)", len(v), er.dims))
			return
		}
		if !finite(v) {
			s.fail(w, r, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: ptr("server_error"), Message: fmt.Sprintf("embedding %d is not finite", i)})
			return
		}
		var emb any = v
		if er.base64 {
			buf := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		out.Data[i] = item{Object: "embedding", Index: i, Embedding: emb}
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- server-sent events ----

// streamWriteTimeout bounds each write of a stream: a client that reads
// nothing for this long loses its stream and frees its worker.
const streamWriteTimeout = time.Minute

// sseWriter writes server-sent events; the 200 header is sent with the
// first event, so errors found before any output still get a proper status.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	mu      sync.Mutex
	begun   bool
	err     error
	scratch []byte
}

func newSSE(w http.ResponseWriter) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.begun
}

func (s *sseWriter) begin() {
	if !s.begun {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		s.begun = true
	}
}

// send writes v as one "data:" event and flushes it.
func (s *sseWriter) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("serve: encode event: %w", err)
	}
	return s.write(data)
}

func (s *sseWriter) write(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.begin()
	// A client that stops reading must not hold a worker for ever.
	s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	s.scratch = append(append(append(s.scratch[:0], "data: "...), data...), "\n\n"...)
	if _, err := s.w.Write(s.scratch); err != nil {
		s.err = fmt.Errorf("serve: write event: %w", err)
		return s.err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = fmt.Errorf("serve: flush event: %w", err)
	}
	return s.err
}

// done writes the final "data: [DONE]" event.
func (s *sseWriter) done() { s.write([]byte("[DONE]")) }
