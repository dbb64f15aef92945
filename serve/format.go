package serve

import (
	"encoding/json"
	"errors"

	"github.com/ggmi-dev/ggmi/llm"
)

// decodeResponseFormat reads OpenAI's response_format: {"type": "text"},
// {"type": "json_object"} or {"type": "json_schema", "json_schema":
// {"name", "schema", "strict"}}. The schema is compiled here so that an
// unsupported one is a 400 naming the offending keyword.
func decodeResponseFormat(f fields) (*llm.ResponseFormat, *apiError) {
	if !f.has("response_format") {
		return nil, nil
	}
	var raw struct {
		Type       *string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	}
	if _, e := f.get("response_format", &raw, "an object"); e != nil {
		return nil, e
	}
	if raw.Type == nil {
		return nil, invalid("missing_required_parameter", "response_format.type", "response_format needs a type (text, json_object or json_schema)")
	}
	rf := &llm.ResponseFormat{Type: *raw.Type}
	switch rf.Type {
	case llm.FormatText:
		return nil, nil
	case llm.FormatJSONObject:
	case llm.FormatJSONSchema:
		if raw.JSONSchema == nil {
			return nil, invalid("missing_required_parameter", "response_format.json_schema", "response_format of type json_schema needs a json_schema object")
		}
		rf.Name, rf.Schema = raw.JSONSchema.Name, raw.JSONSchema.Schema
		if raw.JSONSchema.Strict != nil {
			rf.Strict = *raw.JSONSchema.Strict
		}
	default:
		return nil, invalid("invalid_value", "response_format.type", "unsupported response_format type %q (want text, json_object or json_schema)", rf.Type)
	}
	if _, err := rf.Compile(); err != nil {
		var re *llm.RequestError
		if errors.As(err, &re) {
			return nil, invalid("invalid_value", "response_format", "%s", re.Message)
		}
		return nil, invalid("invalid_value", "response_format", "%v", err)
	}
	return rf, nil
}
