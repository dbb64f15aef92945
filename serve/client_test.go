package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llm"
)

func TestModelsList(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	c := newClient(ts)
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != modelName || page.Data[0].Object != "model" {
		t.Fatalf("models %+v", page.Data)
	}
	m, err := c.Models.Get(context.Background(), modelName)
	if err != nil || m.ID != modelName {
		t.Fatalf("get: %+v, %v", m, err)
	}
	_, err = c.Models.Get(context.Background(), "gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}
}

// TestCompletion compares the server's completion with the engine's own
// generation for the same seed and options.
func TestCompletion(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	m := loadModel(t)
	cases := []struct {
		name       string
		prompt     string
		temp, topP float64 // sent to the server
		engineTemp float64 // what the engine must run
		seed       int64
		max        int
	}{
		{"greedy", "Once upon a time", 0, 1, 0, 1, 40},
		{"sampled", "Lily saw a bird", 0.8, 1, 0.8, 42, 50},
		{"top_p zero is greedy", "Lily saw a bird", 1, 0, 0, 42, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := m.Generate(tc.prompt, llama.GenerateOptions{
				SampleOptions: llama.SampleOptions{Temperature: float32(tc.engineTemp), Seed: uint64(tc.seed)}, MaxTokens: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Completions.New(context.Background(), openai.CompletionNewParams{
				Model:       modelName,
				Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String(tc.prompt)},
				MaxTokens:   openai.Int(int64(tc.max)),
				Temperature: openai.Float(tc.temp),
				TopP:        openai.Float(tc.topP),
				Seed:        openai.Int(tc.seed),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Choices) != 1 || res.Choices[0].Text != want.Text {
				t.Fatalf("text %q, engine %q", res.Choices[0].Text, want.Text)
			}
			if res.Object != "text_completion" || res.Model != modelName {
				t.Errorf("object %q model %q", res.Object, res.Model)
			}
			u := res.Usage
			if u.PromptTokens != int64(len(want.Prompt)) || u.CompletionTokens != int64(len(want.Tokens)) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v, want %d + %d", u, len(want.Prompt), len(want.Tokens))
			}
		})
	}
}

func chatParams(msg string, max int64, seed int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:               modelName,
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You tell stories."), openai.UserMessage(msg)},
		MaxCompletionTokens: openai.Int(max),
		Temperature:         openai.Float(0),
		Seed:                openai.Int(seed),
	}
}

// TestChatCompletion checks the chat endpoint against the backend with the
// default template.
func TestChatCompletion(t *testing.T) {
	ts, b := newTestServer(t, 2, Options{})
	c := newClient(ts)
	res, err := c.Chat.Completions.New(context.Background(), chatParams("Tell me about a cat.", 60, 3))
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Generate(context.Background(), llm.Request{Messages: []llm.Message{{Role: "system", Content: "You tell stories."}, {Role: "user", Content: "Tell me about a cat."}},
		MaxTokens: 60, Seed: func() *uint64 { s := uint64(3); return &s }()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != want.Choices[0].Text || res.Choices[0].Message.Role != "assistant" {
		t.Fatalf("chat %+v, backend %q", res.Choices, want.Choices[0].Text)
	}
	if res.Choices[0].FinishReason != want.Choices[0].FinishReason || res.Object != "chat.completion" {
		t.Errorf("finish %q (backend %q), object %q", res.Choices[0].FinishReason, want.Choices[0].FinishReason, res.Object)
	}
	if res.Usage.PromptTokens != int64(want.Usage.PromptTokens) || res.Usage.CompletionTokens != int64(want.Usage.CompletionTokens) || res.Usage.CompletionTokens == 0 {
		t.Errorf("usage %+v, backend %+v", res.Usage, want.Usage)
	}
}

// TestStreamingChat accumulates the chunks of streamed chats and compares
// them with the same requests not streamed.
func TestStreamingChat(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	cases := []struct {
		name   string
		params openai.ChatCompletionNewParams
		finish string // expected finish reason of choice 0, if any
	}{
		{"greedy", chatParams("Tell me a story.", 80, 1), "length"},
		{"stop", func() openai.ChatCompletionNewParams {
			// A stop string of several tokens: the stream must hold back
			// its beginning until it is sure.
			p := chatParams("Tell me a story.", 80, 1)
			p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"zzz", "small bird"}}
			return p
		}(), "stop"},
		{"n3-sampled-logprobs", func() openai.ChatCompletionNewParams {
			p := chatParams("Tell me about a dog.", 30, 9)
			p.N, p.Temperature, p.Logprobs, p.TopLogprobs = openai.Int(3), openai.Float(1), openai.Bool(true), openai.Int(2)
			return p
		}(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := c.Chat.Completions.New(context.Background(), tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if tc.finish != "" && want.Choices[0].FinishReason != tc.finish {
				t.Fatalf("finish %q, want %q (text %q)", want.Choices[0].FinishReason, tc.finish, want.Choices[0].Message.Content)
			}
			p := tc.params
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				chunk := stream.Current()
				if chunk.Object != "chat.completion.chunk" {
					t.Errorf("chunk object %q", chunk.Object)
				}
				acc.AddChunk(chunk)
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) != len(want.Choices) {
				t.Fatalf("%d streamed choices, %d not streamed", len(acc.Choices), len(want.Choices))
			}
			if chunks < 3 {
				t.Errorf("only %d chunks", chunks)
			}
			for i := range want.Choices {
				got, exp := acc.Choices[i], want.Choices[i]
				if got.Message.Content != exp.Message.Content || got.FinishReason != exp.FinishReason {
					t.Errorf("choice %d: streamed %q (%s), not streamed %q (%s)", i, got.Message.Content, got.FinishReason, exp.Message.Content, exp.FinishReason)
				}
				if len(got.Logprobs.Content) != len(exp.Logprobs.Content) {
					t.Errorf("choice %d: %d streamed log-probs, %d not streamed", i, len(got.Logprobs.Content), len(exp.Logprobs.Content))
				}
			}
			if acc.Usage.CompletionTokens != want.Usage.CompletionTokens || acc.Usage.PromptTokens != want.Usage.PromptTokens {
				t.Errorf("streamed usage %+v, not streamed %+v", acc.Usage, want.Usage)
			}
		})
	}
}

// TestNChoicesSeeded checks that n=3 with a seed gives three choices that
// are reproducible and (sampled) distinct.
func TestNChoicesSeeded(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	p := chatParams("Tell me about the sea.", 40, 77)
	p.N, p.Temperature, p.TopP = openai.Int(3), openai.Float(1), openai.Float(0.95)
	var runs [2][]string
	for r := range runs {
		res, err := c.Chat.Completions.New(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Choices) != 3 {
			t.Fatalf("%d choices", len(res.Choices))
		}
		for i, ch := range res.Choices {
			if ch.Index != int64(i) {
				t.Errorf("choice %d has index %d", i, ch.Index)
			}
			runs[r] = append(runs[r], ch.Message.Content)
		}
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Errorf("choice %d differs between runs: %q vs %q", i, runs[0][i], runs[1][i])
		}
	}
	if runs[0][0] == runs[0][1] && runs[0][1] == runs[0][2] {
		t.Errorf("three sampled choices are identical: %q", runs[0][0])
	}
}

func TestStopSequences(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	c := newClient(ts)
	base := openai.CompletionNewParams{Model: modelName, Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens: openai.Int(100), Temperature: openai.Float(0)}
	full, err := c.Completions.New(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	text := full.Choices[0].Text
	if len(text) < 40 {
		t.Fatalf("greedy text too short to test stops: %q", text)
	}
	// Stop on a word from the middle of the unconstrained text.
	words := strings.Fields(text[len(text)/2:])
	stop := words[1]
	cut := strings.Index(text, stop)
	cases := []struct {
		name  string
		stop  openai.CompletionNewParamsStopUnion
		want  string
		final string
	}{
		{"string", openai.CompletionNewParamsStopUnion{OfString: openai.String(stop)}, text[:cut], "stop"},
		{"array", openai.CompletionNewParamsStopUnion{OfStringArray: []string{"zzzz", stop}}, text[:cut], "stop"},
		{"absent", openai.CompletionNewParamsStopUnion{OfString: openai.String("qqqq")}, text, string(full.Choices[0].FinishReason)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.Stop = tc.stop
			res, err := c.Completions.New(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Choices[0]; got.Text != tc.want || string(got.FinishReason) != tc.final {
				t.Errorf("text %q (%s), want %q (%s)", got.Text, got.FinishReason, tc.want, tc.final)
			}
		})
	}
}

func TestLogProbs(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	c := newClient(ts)
	p := chatParams("Tell me a story.", 20, 5)
	p.Logprobs, p.TopLogprobs, p.Temperature = openai.Bool(true), openai.Int(3), openai.Float(0.9)
	res, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	lps := res.Choices[0].Logprobs.Content
	if len(lps) == 0 || int64(len(lps)) != res.Usage.CompletionTokens {
		t.Fatalf("%d log-probs for %d tokens", len(lps), res.Usage.CompletionTokens)
	}
	var text strings.Builder
	for i, lp := range lps {
		if lp.Logprob > 0 || len(lp.TopLogprobs) != 3 || lp.TopLogprobs[0].Logprob < lp.Logprob {
			t.Errorf("token %d: %+v", i, lp)
		}
		for _, top := range lp.TopLogprobs {
			if top.Logprob > 0 {
				t.Errorf("token %d: alternative log-prob %g > 0", i, top.Logprob)
			}
		}
		text.WriteString(lp.Token)
	}
	if !strings.HasPrefix(text.String(), res.Choices[0].Message.Content) {
		t.Errorf("tokens %q do not spell the content %q", text.String(), res.Choices[0].Message.Content)
	}
	// Legacy completions: logprobs is the number of alternatives.
	cres, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: modelName,
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once")}, MaxTokens: openai.Int(10), Logprobs: openai.Int(2), Temperature: openai.Float(0)})
	if err != nil {
		t.Fatal(err)
	}
	clp := cres.Choices[0].Logprobs
	if len(clp.Tokens) != 10 || len(clp.TokenLogprobs) != 10 || len(clp.TopLogprobs) != 10 || len(clp.TextOffset) != 10 {
		t.Fatalf("completion logprobs %+v", clp)
	}
	for i, v := range clp.TokenLogprobs {
		if v > 0 || len(clp.TopLogprobs[i]) == 0 {
			t.Errorf("token %d: log-prob %g, top %v", i, v, clp.TopLogprobs[i])
		}
	}
	// Without the parameter there are none.
	p.Logprobs, p.TopLogprobs = openai.Bool(false), openai.Int(0)
	res, err = c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Logprobs.Content != nil || res.Choices[0].Logprobs.JSON.Content.Valid() {
		t.Errorf("unrequested log-probs %+v", res.Choices[0].Logprobs)
	}
}

func TestEmbeddings(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts)
	m := loadModel(t)
	cases := []struct {
		name   string
		input  openai.EmbeddingNewParamsInputUnion
		format openai.EmbeddingNewParamsEncodingFormat
		n      int
	}{
		{"string", openai.EmbeddingNewParamsInputUnion{OfString: openai.String("Once upon a time")}, "", 1},
		{"array", openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The cat.", "The dog ran.", "Sun"}}, openai.EmbeddingNewParamsEncodingFormatFloat, 3},
		{"base64", openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The cat.", "A bird"}}, openai.EmbeddingNewParamsEncodingFormatBase64, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: modelName, Input: tc.input, EncodingFormat: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Data) != tc.n || res.Usage.PromptTokens == 0 || res.Usage.TotalTokens != res.Usage.PromptTokens {
				t.Fatalf("%d vectors, usage %+v", len(res.Data), res.Usage)
			}
			for i, d := range res.Data {
				if len(d.Embedding) != m.Config.Dim || d.Index != int64(i) {
					t.Errorf("vector %d: dimension %d (want %d), index %d", i, len(d.Embedding), m.Config.Dim, d.Index)
				}
			}
		})
	}
	// Base64 and float encode the same vector.
	in := openai.EmbeddingNewParamsInputUnion{OfString: openai.String("The cat.")}
	f, err1 := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: modelName, Input: in, EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat})
	b, err2 := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: modelName, Input: in, EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for j := range f.Data[0].Embedding {
		if float32(f.Data[0].Embedding[j]) != float32(b.Data[0].Embedding[j]) {
			t.Fatalf("float and base64 differ at %d: %g vs %g", j, f.Data[0].Embedding[j], b.Data[0].Embedding[j])
		}
	}
}

func TestClientErrors(t *testing.T) {
	ts, _ := newTestServer(t, 1, Options{})
	c := newClient(ts)
	long := strings.Repeat("Once upon a time there was a little cat. ", 60)
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"unknown chat model", func() error {
			p := chatParams("hi", 5, 1)
			p.Model = "gpt-4o"
			_, err := c.Chat.Completions.New(context.Background(), p)
			return err
		}, http.StatusNotFound, "model_not_found"},
		{"unknown completion model", func() error {
			_, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: "davinci", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("x")}})
			return err
		}, http.StatusNotFound, "model_not_found"},
		{"unknown embedding model", func() error {
			_, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "ada", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
			return err
		}, http.StatusNotFound, "model_not_found"},
		{"long prompt", func() error {
			_, err := c.Chat.Completions.New(context.Background(), chatParams(long, 10, 1))
			return err
		}, http.StatusBadRequest, "context_length_exceeded"},
		{"prompt + max_tokens", func() error {
			_, err := c.Chat.Completions.New(context.Background(), chatParams("hi", 1000, 1))
			return err
		}, http.StatusBadRequest, "context_length_exceeded"},
		{"streamed long prompt", func() error {
			s := c.Chat.Completions.NewStreaming(context.Background(), chatParams(long, 10, 1))
			for s.Next() {
			}
			return s.Err()
		}, http.StatusBadRequest, "context_length_exceeded"},
		{"long embedding input", func() error {
			_, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: modelName, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(long)}})
			return err
		}, http.StatusBadRequest, "context_length_exceeded"},
		{"temperature", func() error {
			p := chatParams("hi", 5, 1)
			p.Temperature = openai.Float(3)
			_, err := c.Chat.Completions.New(context.Background(), p)
			return err
		}, http.StatusBadRequest, "invalid_value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v, want an API error", err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Code != tc.code || apiErr.Type != "invalid_request_error" || apiErr.Message == "" {
				t.Fatalf("status %d code %q type %q message %q, want %d %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message, tc.status, tc.code)
			}
		})
	}
}

// TestConcurrentClients runs 16 clients at once and checks every answer
// against the same request run alone.
func TestConcurrentClients(t *testing.T) {
	ts, _ := newTestServer(t, 2, Options{})
	c := newClient(ts, option.WithMaxRetries(0))
	const clients = 16
	params := make([]openai.ChatCompletionNewParams, clients)
	want := make([]string, clients)
	for i := range params {
		params[i] = chatParams([]string{"Tell me about a cat.", "Tell me about a dog.", "Tell me about the sun.", "Tell me about a boat."}[i%4], 40, int64(i))
		params[i].Temperature = openai.Float(0.8)
		res, err := c.Chat.Completions.New(context.Background(), params[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Choices[0].Message.Content
	}
	got := make([]string, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range params {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 { // half of the clients stream
				s := c.Chat.Completions.NewStreaming(context.Background(), params[i])
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if errs[i] = s.Err(); errs[i] == nil && len(acc.Choices) == 1 {
					got[i] = acc.Choices[0].Message.Content
				}
				return
			}
			res, err := c.Chat.Completions.New(context.Background(), params[i])
			if errs[i] = err; err == nil {
				got[i] = res.Choices[0].Message.Content
			}
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		if got[i] != want[i] {
			t.Errorf("client %d: concurrent %q, sequential %q", i, got[i], want[i])
		}
		distinct[got[i]] = true
	}
	if len(distinct) < clients/2 {
		t.Errorf("only %d distinct answers from %d clients", len(distinct), clients)
	}
}
