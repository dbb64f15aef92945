package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const storySchema = `{"type":"object","properties":{"title":{"type":"string","maxLength":20},"year":{"type":"integer","minimum":1900,"maximum":2030},"mood":{"type":"string","enum":["happy","sad"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["title","year","mood","tags"],"additionalProperties":false}`

// validateDoc checks doc against schema with an independent validator.
func validateDoc(t *testing.T, schema, doc string) {
	t.Helper()
	sv, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("s.json", sv); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("output %q is not JSON: %v", doc, err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("output %q does not validate: %v", doc, err)
	}
}

func TestResponseFormatChat(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	var schema map[string]any
	if err := json.Unmarshal([]byte(storySchema), &schema); err != nil {
		t.Fatal(err)
	}
	for seed := range int64(4) {
		p := chatParams("Tell me a story as JSON.", 200, seed)
		p.Temperature = openai.Float(1)
		p.N = openai.Int(2)
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "story", Schema: schema, Strict: openai.Bool(true)}}}
		res, err := c.Chat.Completions.New(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range res.Choices {
			if ch.FinishReason != "stop" {
				t.Errorf("finish reason %q", ch.FinishReason)
			}
			validateDoc(t, storySchema, ch.Message.Content)
		}
	}
	// json_object, streamed.
	p := chatParams("Tell me a story as JSON.", 120, 3)
	p.Temperature = openai.Float(1)
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	stream := c.Chat.Completions.NewStreaming(context.Background(), p)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	validateDoc(t, `{"type":"object"}`, acc.Choices[0].Message.Content)
}

func TestResponseFormatCompletion(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	for _, tc := range []struct{ format, schema string }{
		{`{"type":"json_schema","json_schema":{"name":"s","schema":` + storySchema + `,"strict":true}}`, storySchema},
		{`{"type":"json_object"}`, `{"type":"object"}`},
	} {
		var rf any
		if err := json.Unmarshal([]byte(tc.format), &rf); err != nil {
			t.Fatal(err)
		}
		res, err := c.Completions.New(context.Background(), openai.CompletionNewParams{
			Model: modelName, Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
			MaxTokens: openai.Int(150), Temperature: openai.Float(0.8), Seed: openai.Int(5), N: openai.Int(2),
		}, option.WithJSONSet("response_format", rf))
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range res.Choices {
			validateDoc(t, tc.schema, ch.Text)
		}
	}
}

func TestResponseFormatUnsupported(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	c := newClient(ts)
	for _, tc := range []struct{ format, want string }{
		{`{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","patternProperties":{"a":{}}}}}`, `unsupported schema keyword "patternProperties" at /`},
		{`{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"x":{"type":"string","format":"date"}}}}}`, `unsupported schema keyword "format" at /properties/x`},
		{`{"type":"yaml"}`, `unsupported response_format type "yaml"`},
		{`{"type":"json_schema"}`, `needs a json_schema object`},
	} {
		var rf any
		if err := json.Unmarshal([]byte(tc.format), &rf); err != nil {
			t.Fatal(err)
		}
		_, err := c.Chat.Completions.New(context.Background(), chatParams("hi", 10, 1), option.WithJSONSet("response_format", rf))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, tc.want) {
			t.Errorf("%s: got %v, want a 400 containing %q", tc.format, err, tc.want)
		}
	}
}
