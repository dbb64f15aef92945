package main

import (
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

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

Chat messages are rendered for base models with a plain template
("System: …\nUser: …\nAssistant:", stopping at "\nUser:"), or with --template raw.
Up to --workers sequences run at once; the rest wait in arrival order. On SIGINT or
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
	f.IntVar(&o.workers, "workers", 0, "sequences generated at once (0: every core)")
	f.IntVar(&o.threads, "threads", 0, "cores the engine uses in all, shared by the running sequences (0: every core)")
	f.StringVar(&o.template, "template", "plain", "chat template: plain or raw")
	f.Int64Var(&o.maxBody, "max-body", serve.DefaultMaxBodyBytes, "largest request body in bytes")
	return c
}

// check validates the flags; every error is the user's.
func (o *serveOptions) check() (llm.ChatTemplate, error) {
	if o.threads < 0 {
		return llm.ChatTemplate{}, fmt.Errorf("--threads must be at least 0 (got %d)", o.threads)
	}
	if o.workers < 0 {
		return llm.ChatTemplate{}, fmt.Errorf("--workers must be at least 0 (got %d)", o.workers)
	}
	if o.maxBody < 1 {
		return llm.ChatTemplate{}, fmt.Errorf("--max-body must be at least 1 (got %d)", o.maxBody)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return llm.ChatTemplate{}, fmt.Errorf("--addr %q: %w", o.addr, err)
	}
	tmpl, err := llm.ChatTemplateByName(o.template)
	if err != nil {
		return llm.ChatTemplate{}, err
	}
	if o.model == "" {
		return llm.ChatTemplate{}, fmt.Errorf("--model is required (a .bin, .gguf or hf:// model)")
	}
	if err := checkModelFile(o.model); err != nil {
		return llm.ChatTemplate{}, err
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
	if o.workers == 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	b, m, err := openBuiltin(o.model, builtinOptions{name: o.name, workers: o.workers, threads: o.threads, template: tmpl})
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(g.stdout, "serving %s (%d parameters, context %d) on http://%s/v1 with %d workers\n",
		o.name, m.Config.NumParams(), m.Config.SeqLen, ln.Addr(), o.workers)
	if err := serve.New(b, serve.Options{MaxBodyBytes: o.maxBody}).Serve(cmd.Context(), ln); err != nil {
		return err
	}
	if !g.quiet {
		fmt.Fprintln(g.stderr, "serve: stopped")
	}
	return nil
}
