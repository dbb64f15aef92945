// Package batchfake is a local server that follows OpenAI's documented
// Batch API (files uploaded with purpose "batch", batches that move
// validating → in_progress → finalizing → completed | failed | expired |
// cancelled, output and error files, the 50,000-request and 200 MB
// limits) and Anthropic's Message Batches (in_progress → ended,
// request_counts, results as JSONL, 100,000 requests and 256 MB) for
// fault-injection tests of package batch. Its clock is
// explicit: a batch moves one state forward per Step (or per poll when
// AutoStep is set). It counts how often each custom id was accepted into a
// batch, i.e. paid for.
package batchfake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Answer returns the chat completion body of one request body.
type Answer func(body []byte) []byte

// Server is the fake endpoint.
type Server struct {
	*httptest.Server
	// Answer makes each answer (required).
	Answer Answer
	// Expire, when it returns true for a custom id, leaves the request
	// unanswered: the batch ends "expired" and the request is in the error
	// file with code batch_expired.
	Expire func(customID string) bool
	// Fail, when it returns a status, answers the request with that status
	// (a partial error in the output file).
	Fail func(customID string) int
	// Corrupt appends these raw lines to every output file.
	Corrupt []string
	// AutoStep moves a batch one state forward at each poll.
	AutoStep bool
	// MaxRequests and MaxBytes are the limits of one batch (OpenAI's and
	// Anthropic's).
	MaxRequests, MaxBytes                   int
	AnthropicMaxRequests, AnthropicMaxBytes int

	mu         sync.Mutex
	files      map[string][]byte
	batches    []*fakeBatch
	msgBatches []*msgBatch
	paid       map[string]int
	online     int
	seq        int
	now        int64
}

type fakeBatch struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Endpoint    string            `json:"endpoint"`
	InputFileID string            `json:"input_file_id"`
	Window      string            `json:"completion_window"`
	Status      string            `json:"status"`
	Output      string            `json:"output_file_id,omitempty"`
	ErrorFile   string            `json:"error_file_id,omitempty"`
	CreatedAt   int64             `json:"created_at"`
	Metadata    map[string]string `json:"metadata"`
	Counts      struct {
		Total     int `json:"total"`
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	} `json:"request_counts"`
	Errors *struct {
		Data []map[string]string `json:"data"`
	} `json:"errors,omitempty"`
	lines []inLine
}

type inLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// New starts a fake with OpenAI's limits.
func New(answer Answer) *Server {
	s := &Server{Answer: answer, MaxRequests: 50_000, MaxBytes: 200 << 20, AnthropicMaxRequests: 100_000, AnthropicMaxBytes: 256 << 20, files: map[string][]byte{}, paid: map[string]int{}, now: time.Now().Unix()}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Paid returns how often each custom id was accepted into a batch.
func (s *Server) Paid() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.paid))
	for k, v := range s.paid {
		out[k] = v
	}
	return out
}

// Online counts the online chat completion requests.
func (s *Server) Online() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online
}

// Batches counts the batches created.
func (s *Server) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches) + len(s.msgBatches)
}

// Step moves every unfinished batch one state forward.
func (s *Server) Step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		s.step(b)
	}
}

func (s *Server) step(b *fakeBatch) {
	switch b.Status {
	case "validating":
		b.Status = "in_progress"
	case "in_progress":
		b.Status = "finalizing"
	case "finalizing":
		s.finish(b)
	}
}

// finish answers a batch and writes its files.
func (s *Server) finish(b *fakeBatch) {
	var out, errs bytes.Buffer
	expired := false
	for i, l := range b.lines {
		rid := fmt.Sprintf("req_%d", i)
		if s.Expire != nil && s.Expire(l.CustomID) {
			expired = true
			fmt.Fprintf(&errs, `{"id":"%s","custom_id":%q,"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`+"\n", rid, l.CustomID)
			b.Counts.Failed++
			continue
		}
		if s.Fail != nil {
			if code := s.Fail(l.CustomID); code != 0 {
				fmt.Fprintf(&errs, `{"id":"%s","custom_id":%q,"response":{"status_code":%d,"request_id":"r","body":{"error":{"message":"injected","type":"server_error"}}},"error":null}`+"\n", rid, l.CustomID, code)
				b.Counts.Failed++
				continue
			}
		}
		body := s.Answer(l.Body)
		fmt.Fprintf(&out, `{"id":"%s","custom_id":%q,"response":{"status_code":200,"request_id":"r","body":%s},"error":null}`+"\n", rid, l.CustomID, body)
		b.Counts.Completed++
	}
	for _, c := range s.Corrupt {
		out.WriteString(c + "\n")
	}
	b.Output = s.newFile(out.Bytes())
	if errs.Len() > 0 {
		b.ErrorFile = s.newFile(errs.Bytes())
	}
	b.Status = "completed"
	if expired {
		b.Status = "expired"
	}
}

func (s *Server) newFile(b []byte) string {
	s.seq++
	id := fmt.Sprintf("file-%d", s.seq)
	s.files[id] = b
	return id
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, msg)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	if s.serveAnthropic(w, r, path) {
		return
	}
	switch {
	case r.Method == http.MethodPost && path == "/chat/completions":
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.online++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.Answer(body))
	case r.Method == http.MethodPost && path == "/files":
		s.upload(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/files/") && strings.HasSuffix(path, "/content"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/files/"), "/content")
		s.mu.Lock()
		b, ok := s.files[id]
		s.mu.Unlock()
		if !ok {
			apiError(w, 404, "no such file "+id)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	case r.Method == http.MethodPost && path == "/batches":
		s.create(w, r)
	case r.Method == http.MethodGet && path == "/batches":
		s.list(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/batches/"):
		id := strings.TrimPrefix(path, "/batches/")
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.batches {
			if b.ID == id {
				if s.AutoStep {
					s.step(b)
				}
				writeJSON(w, b)
				return
			}
		}
		apiError(w, 404, "no such batch "+id)
	default:
		apiError(w, 404, "not found: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 30); err != nil {
		apiError(w, 400, "multipart: "+err.Error())
		return
	}
	if r.FormValue("purpose") != "batch" {
		apiError(w, 400, "purpose must be batch")
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		apiError(w, 400, "no file")
		return
	}
	b, _ := io.ReadAll(f)
	s.mu.Lock()
	if len(b) > s.MaxBytes {
		s.mu.Unlock()
		apiError(w, 400, "file exceeds the batch size limit")
		return
	}
	id := s.newFile(b)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"id": id, "object": "file", "bytes": len(b), "purpose": "batch", "created_at": time.Now().Unix(), "filename": "input.jsonl"})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID string            `json:"input_file_id"`
		Endpoint    string            `json:"endpoint"`
		Window      string            `json:"completion_window"`
		Metadata    map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, 400, err.Error())
		return
	}
	if req.Window != "24h" {
		apiError(w, 400, "completion_window must be 24h")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[req.InputFileID]
	if !ok {
		apiError(w, 404, "no such file")
		return
	}
	var lines []inLine
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l inLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.CustomID == "" || l.Method != "POST" || l.URL != req.Endpoint {
			apiError(w, 400, "invalid input line")
			return
		}
		if seen[l.CustomID] {
			apiError(w, 400, "duplicate custom_id "+l.CustomID)
			return
		}
		seen[l.CustomID] = true
		lines = append(lines, l)
	}
	if len(lines) > s.MaxRequests {
		apiError(w, 400, fmt.Sprintf("a batch holds at most %d requests", s.MaxRequests))
		return
	}
	s.seq++
	s.now++
	b := &fakeBatch{ID: fmt.Sprintf("batch_%d", s.seq), Object: "batch", Endpoint: req.Endpoint, InputFileID: req.InputFileID,
		Window: "24h", Status: "validating", CreatedAt: s.now, Metadata: req.Metadata, lines: lines}
	b.Counts.Total = len(lines)
	for _, l := range lines {
		s.paid[l.CustomID]++
	}
	s.batches = append(s.batches, b)
	writeJSON(w, b)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append([]*fakeBatch(nil), s.batches...) // newest first below
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	after := r.URL.Query().Get("after")
	start := 0
	if after != "" {
		for i, b := range all {
			if b.ID == after {
				start = i + 1
			}
		}
	}
	page := all[start:]
	more := false
	if len(page) > 100 {
		page, more = page[:100], true
	}
	var last string
	if len(page) > 0 {
		last = page[len(page)-1].ID
	}
	writeJSON(w, map[string]any{"object": "list", "data": page, "has_more": more, "last_id": last})
}
