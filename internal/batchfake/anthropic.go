package batchfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// msgBatch is a Message Batch (Anthropic).
type msgBatch struct {
	ID               string         `json:"id"`
	Type             string         `json:"type"`
	ProcessingStatus string         `json:"processing_status"`
	RequestCounts    map[string]int `json:"request_counts"`
	CreatedAt        time.Time      `json:"created_at"`
	ExpiresAt        time.Time      `json:"expires_at"`
	EndedAt          *time.Time     `json:"ended_at"`
	ResultsURL       *string        `json:"results_url"`
	reqs             []struct {
		CustomID string          `json:"custom_id"`
		Params   json.RawMessage `json:"params"`
	}
	results []byte
}

// serveAnthropic handles /v1/messages/batches; it reports whether the path
// was one of its.
func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request, path string) bool {
	if !strings.HasPrefix(path, "/messages/batches") {
		return false
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, "/messages/batches"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && rest == "":
		var req struct {
			Requests []struct {
				CustomID string          `json:"custom_id"`
				Params   json.RawMessage `json:"params"`
			} `json:"requests"`
		}
		var buf bytes.Buffer
		n, _ := buf.ReadFrom(r.Body)
		if n > int64(s.AnthropicMaxBytes) {
			apiError(w, 413, "request too large")
			return true
		}
		if err := json.Unmarshal(buf.Bytes(), &req); err != nil || len(req.Requests) == 0 || len(req.Requests) > s.AnthropicMaxRequests {
			apiError(w, 400, "invalid requests")
			return true
		}
		seen := map[string]bool{}
		for _, q := range req.Requests {
			if seen[q.CustomID] || q.CustomID == "" || len(q.CustomID) > 64 {
				apiError(w, 400, "invalid custom_id "+q.CustomID)
				return true
			}
			seen[q.CustomID] = true
		}
		s.seq++
		now := time.Now().UTC()
		b := &msgBatch{ID: fmt.Sprintf("msgbatch_%d", s.seq), Type: "message_batch", ProcessingStatus: "in_progress",
			RequestCounts: map[string]int{"processing": len(req.Requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
			CreatedAt:     now, ExpiresAt: now.Add(24 * time.Hour)}
		b.reqs = req.Requests
		for _, q := range req.Requests {
			s.paid[q.CustomID]++
		}
		s.msgBatches = append(s.msgBatches, b)
		writeJSON(w, b)
	case r.Method == http.MethodGet && rest == "":
		var data []*msgBatch
		for i := len(s.msgBatches) - 1; i >= 0; i-- {
			data = append(data, s.msgBatches[i])
		}
		writeJSON(w, map[string]any{"data": data, "has_more": false, "first_id": nil, "last_id": nil})
	case r.Method == http.MethodGet:
		id, results := strings.CutSuffix(rest, "/results")
		for _, b := range s.msgBatches {
			if b.ID != id {
				continue
			}
			if results {
				if b.ProcessingStatus != "ended" {
					apiError(w, 400, "batch still in progress")
					return true
				}
				w.Header().Set("Content-Type", "application/x-jsonl")
				w.Write(b.results)
				return true
			}
			if s.AutoStep && b.ProcessingStatus != "ended" {
				s.endMsgBatch(b)
			}
			writeJSON(w, b)
			return true
		}
		apiError(w, 404, "no such batch "+id)
	default:
		apiError(w, 405, "method not allowed")
	}
	return true
}

// endMsgBatch answers a Message Batch.
func (s *Server) endMsgBatch(b *msgBatch) {
	var out bytes.Buffer
	c := b.RequestCounts
	c["processing"] = 0
	for _, q := range b.reqs {
		switch {
		case s.Expire != nil && s.Expire(q.CustomID):
			fmt.Fprintf(&out, `{"custom_id":%q,"result":{"type":"expired"}}`+"\n", q.CustomID)
			c["expired"]++
		case s.Fail != nil && s.Fail(q.CustomID) != 0:
			fmt.Fprintf(&out, `{"custom_id":%q,"result":{"type":"errored","error":{"type":"error","error":{"type":"api_error","message":"injected"}}}}`+"\n", q.CustomID)
			c["errored"]++
		default:
			var chat struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
				Usage struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			_ = json.Unmarshal(s.Answer(q.Params), &chat)
			text, _ := json.Marshal(chat.Choices[0].Message.Content)
			fmt.Fprintf(&out, `{"custom_id":%q,"result":{"type":"succeeded","message":{"id":"msg","type":"message","role":"assistant","model":"claude-fake","content":[{"type":"text","text":%s}],"stop_reason":"end_turn","usage":{"input_tokens":%d,"output_tokens":%d}}}}`+"\n",
				q.CustomID, text, chat.Usage.PromptTokens, chat.Usage.CompletionTokens)
			c["succeeded"]++
		}
	}
	for _, l := range s.Corrupt {
		out.WriteString(l + "\n")
	}
	b.results = out.Bytes()
	now := time.Now().UTC()
	u := s.URL + "/v1/messages/batches/" + b.ID + "/results"
	b.ProcessingStatus, b.EndedAt, b.ResultsURL = "ended", &now, &u
}
