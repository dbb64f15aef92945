package generate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/llm"
)

// File names of the in-flight ledger.
const (
	// FileInFlight lists the requests sent to the backend and whether
	// their answer (or error) came back.
	FileInFlight = "inflight.jsonl"
	// FilePossiblyBilled lists the requests that were out when a run was
	// killed: the provider may have charged them though no answer reached
	// the cache.
	FilePossiblyBilled = "possibly_billed.jsonl"
)

// inflightLine is one line of inflight.jsonl.
type inflightLine struct {
	Key   string    `json:"key"`
	Ended bool      `json:"ended,omitempty"`
	Time  time.Time `json:"time"`
	// PromptTokens is an estimate (characters / 4) of the request's input.
	PromptTokens int `json:"prompt_tokens,omitempty"`
}

// billedLine is one line of possibly_billed.jsonl.
type billedLine struct {
	Key          string    `json:"key"`
	Sent         time.Time `json:"sent"`
	PromptTokens int       `json:"prompt_tokens"`
	// Cost is the price of the input tokens alone (the output is unknown).
	Cost float64 `json:"cost"`
}

// inflightLedger appends a line before each request is sent and one when
// it returns. A line is written before the request leaves (not synced: it
// survives a killed process, not a machine crash).
type inflightLedger struct {
	mu sync.Mutex
	w  *dataset.JSONLWriter
}

func (l *inflightLedger) write(v inflightLine) {
	if l == nil {
		return
	}
	b, err := jsonLine(v)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.WriteLines(b)
}

// estimatePrompt returns a request's input tokens at four characters a
// token.
func estimatePrompt(req llm.Request) int {
	n := len(req.Prompt)
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	return n/4 + 1
}

// settleInFlight turns the requests an earlier run left without an end
// into possibly_billed.jsonl lines (priced at price's input rate), empties
// inflight.jsonl and opens it for this run. It returns the ledger and the
// possibly billed count and cost so far (earlier runs included).
func settleInFlight(dir string, price llm.Price) (*inflightLedger, int, float64, error) {
	inPath := filepath.Join(dir, FileInFlight)
	billedPath := filepath.Join(dir, FilePossiblyBilled)
	open := map[string]inflightLine{}
	var order []string
	err := readLines(inPath, func(line []byte) error {
		var e inflightLine
		if json.Unmarshal(line, &e) != nil {
			return nil // a damaged line names nothing we can price
		}
		if e.Ended {
			delete(open, e.Key)
			return nil
		}
		if _, ok := open[e.Key]; !ok {
			order = append(order, e.Key)
		}
		open[e.Key] = e
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	var add []byte
	for _, k := range order {
		e, ok := open[k]
		if !ok {
			continue
		}
		b, err := jsonLine(billedLine{Key: k, Sent: e.Time, PromptTokens: e.PromptTokens,
			Cost: price.Cost(llm.Usage{PromptTokens: e.PromptTokens})})
		if err != nil {
			return nil, 0, 0, err
		}
		add = append(add, b...)
	}
	if len(add) > 0 {
		bw, err := dataset.OpenJSONL(billedPath, true)
		if err != nil {
			return nil, 0, 0, err
		}
		if err := bw.WriteLines(add); err != nil {
			bw.Close()
			return nil, 0, 0, err
		}
		if err := bw.Close(); err != nil {
			return nil, 0, 0, err
		}
	}
	n, cost := 0, 0.0
	if err := readLines(billedPath, func(line []byte) error {
		var b billedLine
		if json.Unmarshal(line, &b) == nil {
			n++
			cost += b.Cost
		}
		return nil
	}); err != nil {
		return nil, 0, 0, err
	}
	if err := os.Remove(inPath); err != nil && !os.IsNotExist(err) {
		return nil, 0, 0, fmt.Errorf("settle %s: %w", inPath, err)
	}
	w, err := dataset.OpenJSONL(inPath, false)
	if err != nil {
		return nil, 0, 0, err
	}
	return &inflightLedger{w: w}, n, cost, nil
}
