package generate

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ggmi-dev/ggmi/llm"
)

// FormatTask is the ResponseFormat.Type that asks, per prompt, for
// TaskSchema with the prompt's number of records.
const FormatTask = "task"

// TaskSchema returns the JSON schema of the answer to a prompt asking for n
// records: an object {"tasks": [...]} holding exactly n objects with the
// string fields "instruction", "context" and "response" (OpenAI's
// structured outputs want an object at the root; synth.Parse unwraps it).
// n ≤ 0 leaves the number of tasks open. The result is shared: do not
// modify it.
func TaskSchema(n int) json.RawMessage {
	if v, ok := taskSchemas.Load(n); ok {
		return v.(json.RawMessage)
	}
	v, _ := taskSchemas.LoadOrStore(n, taskSchema(n))
	return v.(json.RawMessage)
}

// taskSchemas memoises TaskSchema by n: every request of a run carries it.
var taskSchemas sync.Map

func taskSchema(n int) json.RawMessage {
	arr := map[string]any{"type": "array", "items": map[string]any{
		"type": "object",
		"properties": map[string]any{
			"instruction": map[string]any{"type": "string"},
			"context":     map[string]any{"type": "string"},
			"response":    map[string]any{"type": "string"},
		},
		"required":             []string{"instruction", "context", "response"},
		"additionalProperties": false,
	}}
	if n > 0 {
		arr["minItems"], arr["maxItems"] = n, n
	}
	b, err := json.Marshal(map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"tasks": arr},
		"required":             []string{"tasks"},
		"additionalProperties": false,
	})
	if err != nil {
		panic(fmt.Sprintf("generate: task schema: %v", err)) // static shape
	}
	return b
}

// TaskFormat returns the response format that asks for n records under
// TaskSchema.
func TaskFormat(n int) *llm.ResponseFormat {
	return &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "tasks", Schema: TaskSchema(n)}
}

// formatFor returns the response format of a prompt asking for n records
// under the run's format setting f (nil: free text).
func formatFor(f *llm.ResponseFormat, n int) *llm.ResponseFormat {
	switch {
	case f == nil || f.Type == "" || f.Type == llm.FormatText:
		return nil
	case f.Type == FormatTask:
		return TaskFormat(n)
	}
	return f
}

// formatName names a format setting in provenance and the run's
// fingerprint.
func formatName(f *llm.ResponseFormat) string {
	if f == nil || f.Type == "" {
		return llm.FormatText
	}
	return f.Type
}
