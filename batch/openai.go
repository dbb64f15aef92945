package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ggmi-dev/ggmi/llm"
)

// metadataTag is the batch metadata key holding the ledger's tag.
const metadataTag = "ggmi_tag"

// OpenAI is the Batch API of an OpenAI-compatible endpoint, through the
// openai-go SDK's Files and Batches services, with the endpoint, key and
// request bodies of an llm.OpenAI backend.
type OpenAI struct {
	b        *llm.OpenAI
	files    openai.FileService
	batches  openai.BatchService
	endpoint string
}

// NewOpenAI returns the batch API of b's endpoint.
func NewOpenAI(b *llm.OpenAI) *OpenAI {
	opts := b.ClientOptions()
	return &OpenAI{b: b, files: openai.NewFileService(opts...), batches: openai.NewBatchService(opts...)}
}

// Name implements Provider.
func (o *OpenAI) Name() string { return "openai" }

// Limits implements Provider.
func (o *OpenAI) Limits() Limits { return OpenAILimits }

// openaiLine is one line of a batch input file.
type openaiLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// Encode implements Provider.
func (o *OpenAI) Encode(it Item) ([]byte, error) {
	url, body, err := o.b.BatchEndpoint(it.Req)
	if err != nil {
		return nil, err
	}
	if o.endpoint == "" {
		o.endpoint = url
	} else if o.endpoint != url {
		return nil, fmt.Errorf("requests for both %s and %s in one run", o.endpoint, url)
	}
	return json.Marshal(openaiLine{CustomID: it.ID, Method: "POST", URL: url, Body: body})
}

// Create implements Provider: upload the file, then create the batch.
func (o *OpenAI) Create(ctx context.Context, tag string, lines [][]byte) (string, error) {
	data := bytes.Join(lines, []byte("\n"))
	data = append(data, '\n')
	f, err := o.files.New(ctx, openai.FileNewParams{
		File:    openai.File(bytes.NewReader(data), tag+".jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch,
	})
	if err != nil {
		return "", fmt.Errorf("upload the input file: %w", err)
	}
	b, err := o.batches.New(ctx, openai.BatchNewParams{
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Endpoint:         openai.BatchNewParamsEndpoint(o.endpoint),
		InputFileID:      f.ID,
		Metadata:         shared.Metadata{metadataTag: tag},
	})
	if err != nil {
		return "", fmt.Errorf("create the batch: %w", err)
	}
	return b.ID, nil
}

// Find implements Provider: the newest batches first, down to since, by
// their metadata tag.
func (o *OpenAI) Find(ctx context.Context, tag string, n int, since time.Time, claimed map[string]bool) (string, bool, error) {
	it := o.batches.ListAutoPaging(ctx, openai.BatchListParams{Limit: openai.Int(100)})
	for it.Next() {
		b := it.Current()
		if time.Unix(b.CreatedAt, 0).Before(since) {
			break
		}
		if b.Metadata[metadataTag] == tag && !claimed[b.ID] {
			return b.ID, true, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", false, err
	}
	return "", false, nil
}

// Poll implements Provider.
func (o *OpenAI) Poll(ctx context.Context, id string) (Status, error) {
	b, err := o.batches.Get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{State: string(b.Status), Total: int(b.RequestCounts.Total), Done: int(b.RequestCounts.Completed), Failed: int(b.RequestCounts.Failed)}
	switch b.Status {
	case openai.BatchStatusCompleted, openai.BatchStatusFailed, openai.BatchStatusExpired, openai.BatchStatusCancelled:
		st.Ended = true
	}
	for _, e := range b.Errors.Data {
		if st.Message != "" {
			st.Message += "; "
		}
		st.Message += e.Message
	}
	return st, nil
}

// openaiResult is one line of a batch output or error file.
type openaiResult struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Results implements Provider: the output file, then the error file.
func (o *OpenAI) Results(ctx context.Context, id string, choices func(string) (int, bool), fn func(Outcome) error, bad func(string)) error {
	b, err := o.batches.Get(ctx, id)
	if err != nil {
		return err
	}
	for _, fid := range []string{b.OutputFileID, b.ErrorFileID} {
		if fid == "" {
			continue
		}
		resp, err := o.files.Content(ctx, fid)
		if err != nil {
			return fmt.Errorf("download file %s: %w", fid, err)
		}
		err = scanLines(resp.Body, func(n int, line []byte) error {
			var r openaiResult
			if err := json.Unmarshal(line, &r); err != nil || r.CustomID == "" {
				bad(fmt.Sprintf("file %s line %d is not a batch result (%s)", fid, n, short(line)))
				return nil
			}
			nc, ours := choices(r.CustomID)
			if !ours {
				bad(fmt.Sprintf("file %s line %d names custom id %q, which is not a request of this batch", fid, n, r.CustomID))
				return nil
			}
			out := Outcome{ID: r.CustomID}
			switch {
			case r.Error != nil && r.Error.Code == "batch_expired":
				out.Kind, out.Err = "expired", r.Error.Message
			case r.Error != nil && r.Error.Code == "batch_cancelled":
				out.Kind, out.Err = "canceled", r.Error.Message
			case r.Error != nil:
				out.Kind, out.Err = "errored", r.Error.Code+": "+r.Error.Message
			case r.Response == nil:
				out.Kind, out.Err = "errored", "a result with neither response nor error"
			case r.Response.StatusCode != 200:
				out.Kind, out.Err = "errored", fmt.Sprintf("HTTP %d: %s", r.Response.StatusCode, short(r.Response.Body))
			default:
				resp, err := llm.DecodeBatchBody(b.Endpoint, r.Response.Body, nc)
				if err != nil {
					out.Kind, out.Err = "errored", err.Error()
				} else {
					out.Resp = resp
				}
			}
			return fn(out)
		})
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read file %s: %w", fid, err)
		}
	}
	return nil
}

// scanLines calls fn for every non-empty line of r (numbered from 1).
func scanLines(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// short quotes the start of a line for a message.
func short(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q…", b[:80])
	}
	return fmt.Sprintf("%q", b)
}
