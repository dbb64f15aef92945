package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/ggmi-dev/ggmi/chat"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/serve"
)

type serveOptions struct {
	model    string
	addr     string
	name     string
	workers  int
	threads  int
	template string
	chatTmpl string
	showPr   bool
	maxBody  int64
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the built-in engine over an OpenAI-compatible HTTP API",
		Long: `Load a Llama-architecture model into the built-in engine (the generative model M of the
reverse-bottleneck chain) and serve it over an OpenAI-compatible HTTP API:

  GET  /v1/models
  POST /v1/completions        (stream, n, seed, stop, max_tokens, temperature, top_p, logprobs)
  POST /v1/chat/completions   (the same, with max_completion_tokens and top_logprobs)
  POST /v1/embeddings

Chat messages are rendered with the model's own Jinja chat template when it
carries one (GGUF tokenizer.chat_template; a Hugging Face folder's chat_template.jinja
or tokenizer_config.json chat_template) or with --chat-template FILE (a Jinja file
or a Hugging Face tokenizer_config.json); the special tokens the template writes
are tokenized as such, the messages' text never is. Otherwise, for base models, a
plain template ("System: …\nUser: …\nAssistant:", stopping at "\nUser:") is used,
or --template raw. --show-prompts writes every rendered chat prompt to stderr.
Up to --workers sequences are decoded together (continuous batching: one forward step
for all of them, requests joining and leaving between steps); the rest wait in
arrival order. On SIGINT or
SIGTERM the server stops accepting connections and finishes the requests in flight.`,
		Example: `  ggmi serve --model ../shared/models/stories260K/stories260K.bin
  ggmi serve --model hf://karpathy/tinyllamas/stories260K/stories260K.bin --addr 127.0.0.1:8080 --name stories
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 some-openai-client`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model to load: a llama2.c .bin (tokenizer beside it), a .gguf file, or hf://owner/repo/path")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	f.StringVar(&o.name, "name", "", "model name clients ask for (default: the file name without extension)")
	f.IntVar(&o.workers, "workers", 0, fmt.Sprintf("sequences decoded together by continuous batching (0: %d)", llm.DefaultWorkers))
	f.IntVar(&o.threads, "threads", 0, "cores the engine uses for each batched step (0: every core)")
	f.StringVar(&o.template, "template", "", "chat template for models without a Jinja one: plain or raw (given: used even if the model has one)")
	f.StringVar(&o.chatTmpl, "chat-template", "", "Jinja chat template: a template file, or a tokenizer_config.json (its chat_template)")
	f.BoolVar(&o.showPr, "show-prompts", false, "write each rendered chat prompt and its token count to stderr")
	f.Int64Var(&o.maxBody, "max-body", serve.DefaultMaxBodyBytes, "largest request body in bytes")
	return c
}

// check validates the flags; every error is the user's.
func (o *serveOptions) check() (*llm.ChatTemplate, error) {
	if o.threads < 0 {
		return nil, fmt.Errorf("--threads must be at least 0 (got %d)", o.threads)
	}
	if o.workers < 0 {
		return nil, fmt.Errorf("--workers must be at least 0 (got %d)", o.workers)
	}
	if o.maxBody < 1 {
		return nil, fmt.Errorf("--max-body must be at least 1 (got %d)", o.maxBody)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return nil, fmt.Errorf("--addr %q: %w", o.addr, err)
	}
	var tmpl *llm.ChatTemplate
	if o.template != "" {
		t, err := llm.ChatTemplateByName(o.template)
		if err != nil {
			return nil, err
		}
		tmpl = &t
	}
	if o.chatTmpl != "" && o.template != "" {
		return nil, fmt.Errorf("--chat-template and --template exclude each other")
	}
	if o.model == "" {
		return nil, fmt.Errorf("--model is required (a .bin, .gguf or hf:// model)")
	}
	if err := checkModelFile(o.model); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// modelName is the file name of the model without its extension.
func modelName(path string) string {
	base := filepath.Base(strings.TrimPrefix(path, "hf://"))
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func runServe(cmd *cobra.Command, g *globals, o *serveOptions) error {
	tmpl, err := o.check()
	if err != nil {
		return usageError{err}
	}
	if o.name == "" {
		o.name = modelName(o.model)
	}
	bo := builtinOptions{name: o.name, workers: o.workers, threads: o.threads, template: tmpl}
	if o.chatTmpl != "" {
		if bo.jinja, err = readChatTemplate(o.chatTmpl); err != nil {
			return usageError{err}
		}
	}
	if o.showPr {
		var mu sync.Mutex
		bo.onPrompt = func(p string, toks []int) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(g.stderr, "serve: chat prompt (%d tokens): %q\n", len(toks), p)
		}
	}
	b, m, err := openBuiltin(cmd.Context(), o.model, bo)
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(g.stdout, "serving %s (%d parameters, context %d) on http://%s/v1 with %d workers\n",
		o.name, m.Config.NumParams(), m.Config.SeqLen, ln.Addr(), b.Workers())
	if err := serve.New(b, serve.Options{MaxBodyBytes: o.maxBody}).Serve(cmd.Context(), ln); err != nil {
		return err
	}
	if !g.quiet {
		fmt.Fprintln(g.stderr, "serve: stopped")
	}
	return nil
}

// readChatTemplate reads --chat-template: a tokenizer_config.json (its
// chat_template) or a Jinja template file.
func readChatTemplate(path string) (*chat.Template, error) {
	if strings.HasSuffix(path, ".json") {
		c, err := chat.FromTokenizerConfig(path)
		if err != nil {
			return nil, fmt.Errorf("--chat-template: %w", err)
		}
		if c.Template == nil {
			return nil, fmt.Errorf("--chat-template: %s has no chat_template", path)
		}
		return c.Template, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--chat-template: %w", err)
	}
	t, err := chat.ParseFrom(string(src), path, "")
	if err != nil {
		return nil, fmt.Errorf("--chat-template: %w", err)
	}
	return t, nil
}
