// Command refbench is the Go side of bench/llamacpp/run.sh, the side-by-side
// benchmark of ggmi's built-in engine against llama.cpp (Ollama's runner):
//
//	refbench mkmodel -size 110M -tokenizer tok512.bin -out model.gguf   (or -size gpt2-110M)
//	refbench prompt  -model model.gguf -tokens 512 -seed 1
//	refbench ggmi    -model model.gguf -threads 1 -runs 3
//	refbench ollama  -host 127.0.0.1:11500 -name m -tokenizer tok512.bin -threads 1 -runs 3
//
// mkmodel writes a random-weight llama-family (or, -size gpt2-110M,
// gpt2-family) model as an f32 GGUF whose
// output head is a scaled, permuted copy of the token embeddings, so greedy
// decoding walks a cycle through the normal tokens instead of repeating one
// token (Ollama stops a generation that repeats a token 30 times).
//
// ggmi times the built-in engine through its public generation API
// (llama.Model.GenerateTokens) in this process with GOMAXPROCS = threads:
// prefill tokens/s is the prompt length over the time to the first
// generated token, decode tokens/s is the number of new tokens over the
// time of a generation minus its time to the first token. ollama times the
// same work through Ollama's /api/generate (its prompt_eval_* and eval_*
// durations) and reads the runner process's peak RSS. Both print one JSON
// object.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/llama/quant"
	_ "github.com/ggmi-dev/ggmi/llm" // registers the byte-level BPE tokenizer loaders of llama
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: refbench mkmodel|prompt|ggmi|ollama [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "mkmodel":
		err = mkmodel(os.Args[2:])
	case "prompt":
		err = prompt(os.Args[2:])
	case "ggmi":
		err = benchGGMI(os.Args[2:])
	case "ollama":
		err = benchOllama(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "refbench: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "refbench:", err)
		os.Exit(1)
	}
}

// Shapes of the benchmark models. Both use the tokenizer given to mkmodel.
var shapes = map[string]llama.Config{
	// 768 wide like stories110M, 16 blocks: 113M parameters with a
	// 512-token vocabulary.
	"110M": {Dim: 768, HiddenDim: 2048, NLayers: 16, NHeads: 12, NKVHeads: 12, SeqLen: 2048},
	// TinyLlama-1.1B's blocks (GQA 32/4): 0.97B parameters with a
	// 512-token vocabulary.
	"1B": {Dim: 2048, HiddenDim: 5632, NLayers: 22, NHeads: 32, NKVHeads: 4, SeqLen: 2048},
	// GPT-2's block (LayerNorm, GELU, fused QKV with biases, learned
	// positions) 768 wide like GPT-2 small, 15 blocks: 108M parameters with
	// a 512-token vocabulary and a separate output head.
	"gpt2-110M": {Arch: llama.ArchGPT2, Dim: 768, HiddenDim: 3072, NLayers: 15, NHeads: 12, NKVHeads: 12, SeqLen: 2048},
	// A small model for the parity test.
	"tiny": {Dim: 256, HiddenDim: 768, NLayers: 4, NHeads: 8, NKVHeads: 4, SeqLen: 1024},
}

func mkmodel(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ExitOnError)
	size := fs.String("size", "110M", "model shape: 110M, 1B, gpt2-110M or tiny")
	tokPath := fs.String("tokenizer", "", "llama2.c tokenizer file (e.g. stories260K's tok512.bin)")
	vocab := fs.Int("vocab", 512, "tokens in the tokenizer file")
	out := fs.String("out", "", "output GGUF path")
	seed := fs.Uint64("seed", 1, "weight seed")
	margin := fs.Float64("margin", 6, "logit of the cycle's next token for a pure embedding (nats)")
	fs.Parse(args)
	cfg, ok := shapes[*size]
	if !ok || *tokPath == "" || *out == "" {
		return fmt.Errorf("mkmodel needs -size (110M, 1B, gpt2-110M, tiny), -tokenizer and -out")
	}
	cfg, err := llama.FamilyConfig(cfg, cfg.Family())
	if err != nil {
		return err
	}
	tok, err := llama.LoadLlama2cTokenizer(*tokPath, *vocab)
	if err != nil {
		return err
	}
	cfg.VocabSize = tok.VocabSize()
	m, err := NewCycleModel(cfg, tok, *seed, *margin)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mkmodel: %s, %d parameters\n", *size, cfg.NumParams())
	return m.SaveGGUF(*out)
}

// NewCycleModel returns a random model (InitRandom, std 0.02) whose token
// embeddings have unit variance, so that the residual stream stays close to
// the current token's embedding, and whose output head row of token
// next(t) is the embedding of t scaled to give a logit of about margin:
// greedy decoding follows one cycle through all normal tokens. Rows of
// control and byte tokens are zero.
func NewCycleModel(cfg llama.Config, tok *llama.Tokenizer, seed uint64, margin float64) (*llama.Model, error) {
	var normal []int
	for id, ty := range tok.Types {
		if ty == llama.TokenNormal {
			normal = append(normal, id)
		}
	}
	return NewCycleModelOver(cfg, tok, normal, seed, margin)
}

// NewCycleModelOver is NewCycleModel for any family and tokenizer: the
// cycle runs through the given token ids (the others' head rows are
// zero). The output head is separate from the embeddings (GGUF
// output.weight).
func NewCycleModelOver(cfg llama.Config, tok llama.TextTokenizer, cycle []int, seed uint64, margin float64) (*llama.Model, error) {
	cfg.SharedClassifier = false
	m, err := llama.NewRandomModel(cfg, tok, seed)
	if err != nil {
		return nil, err
	}
	p := m.Params()
	dim, vocab := cfg.Dim, cfg.VocabSize
	emb := p[:vocab*dim]
	for i := range emb {
		emb[i] *= 50 // std 0.02 -> 1
	}
	head := p[len(p)-vocab*dim:]
	clear(head)
	normal := slices.Clone(cycle)
	rng := rand.New(rand.NewPCG(seed, 0x6379636c65))
	rng.Shuffle(len(normal), func(i, j int) { normal[i], normal[j] = normal[j], normal[i] })
	scale := float32(margin / float64(dim))
	for i, t := range normal {
		next := normal[(i+1)%len(normal)]
		for k := range dim {
			head[next*dim+k] = scale * emb[t*dim+k]
		}
	}
	return m, nil
}

// PrintableTokens lists the ids of tok's normal tokens whose text is
// valid, printable UTF-8 (no control characters), so that both engines
// report the same piece for them.
func PrintableTokens(tok llama.TextTokenizer) []int {
	var ids []int
	for id := range tok.VocabSize() {
		b := tok.TokenBytes(id)
		if len(b) == 0 || !utf8.Valid(b) || strings.ContainsFunc(string(b), unicode.IsControl) || strings.HasPrefix(string(b), "[PAD") {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// promptText returns text of random vocabulary words that the model's
// tokenizer encodes (with BOS) to exactly n tokens.
func promptText(tok *llama.Tokenizer, n int, seed uint64) (string, error) {
	var words []string
	for id, s := range tok.Vocab {
		if tok.Types[id] == llama.TokenNormal && strings.HasPrefix(s, " ") && len(s) > 1 && !strings.ContainsAny(s[1:], " \n") {
			words = append(words, s)
		}
	}
	if len(words) == 0 {
		return "", fmt.Errorf("no word pieces in the vocabulary")
	}
	rng := rand.New(rand.NewPCG(seed, 0x70726f6d7074))
	s := ""
	count := func(s string) int { return len(tok.Encode(strings.TrimPrefix(s, " "), true, false)) }
	for tries := 0; tries < 100*n; tries++ {
		next := s + words[rng.IntN(len(words))]
		switch c := count(next); {
		case c == n:
			return strings.TrimPrefix(next, " "), nil
		case c < n:
			s = next
		}
	}
	return "", fmt.Errorf("no prompt of exactly %d tokens", n)
}

func prompt(args []string) error {
	fs := flag.NewFlagSet("prompt", flag.ExitOnError)
	model := fs.String("model", "", "GGUF path")
	n := fs.Int("tokens", 512, "prompt tokens including BOS")
	seed := fs.Uint64("seed", 1, "word seed")
	fs.Parse(args)
	m, err := llama.Load(*model)
	if err != nil {
		return err
	}
	tok, ok := m.Tokenizer.(*llama.Tokenizer)
	if !ok {
		return fmt.Errorf("%s: no SentencePiece tokenizer", *model)
	}
	s, err := promptText(tok, *n, *seed)
	if err != nil {
		return err
	}
	fmt.Println(s)
	return nil
}

// Result is one engine's measurement of one file at one thread count.
type Result struct {
	Engine     string    `json:"engine"`
	Model      string    `json:"model"`
	Threads    int       `json:"threads"`
	Decode     []float64 `json:"decode_tps"`
	Prefill    []float64 `json:"prefill_tps"`
	PeakRSSMB  float64   `json:"peak_rss_mb"`
	PromptToks int       `json:"prompt_tokens"`
	NewToks    int       `json:"new_tokens"`
	KV         string    `json:"kv,omitempty"` // ggmi's key/value cache type
	Error      string    `json:"error,omitempty"`
}

func (r Result) print() {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// decodePrompt is the short prompt decoding starts from.
const decodePrompt = "Once upon a time"

func benchGGMI(args []string) error {
	fs := flag.NewFlagSet("ggmi", flag.ExitOnError)
	model := fs.String("model", "", "GGUF path")
	threads := fs.Int("threads", 1, "GOMAXPROCS")
	runs := fs.Int("runs", 3, "timed runs of each measurement")
	newToks := fs.Int("decode", 256, "new tokens per decode run")
	promptToks := fs.Int("prompt", 512, "prompt tokens (with BOS) per prefill run")
	kv := fs.String("kv", "f32", "key/value cache type: f32 or f16")
	fs.Parse(args)
	runtime.GOMAXPROCS(*threads)
	r := Result{Engine: "ggmi", Model: *model, Threads: *threads, PromptToks: *promptToks, NewToks: *newToks, KV: *kv}
	m, err := llama.Load(*model)
	if err == nil {
		var t llama.GGMLType
		if t, err = quant.ParseType(*kv); err == nil {
			err = m.SetKVCacheType(t)
		}
	}
	if err != nil {
		r.Error = err.Error()
		r.PeakRSSMB = peakRSSMB("self")
		r.print()
		return nil
	}
	tok, ok := m.Tokenizer.(*llama.Tokenizer)
	if !ok {
		return fmt.Errorf("%s: no SentencePiece tokenizer", *model)
	}
	short := tok.Encode(decodePrompt, true, false)
	timeGen := func(p []int, n int) (time.Duration, error) {
		t0 := time.Now()
		g, err := m.GenerateTokens(p, llama.GenerateOptions{MaxTokens: n, IgnoreEOS: true})
		if err == nil && len(g.Tokens) != n {
			err = fmt.Errorf("generated %d tokens instead of %d", len(g.Tokens), n)
		}
		return time.Since(t0), err
	}
	for i := range *runs {
		text, err := promptText(tok, *promptToks, uint64(100+i))
		if err != nil {
			return err
		}
		p := tok.Encode(text, true, false)
		ttft, err := timeGen(p, 1)
		if err != nil {
			return err
		}
		r.Prefill = append(r.Prefill, float64(len(p))/ttft.Seconds())
		t1, err := timeGen(short, 1)
		if err != nil {
			return err
		}
		tn, err := timeGen(short, *newToks+1)
		if err != nil {
			return err
		}
		r.Decode = append(r.Decode, float64(*newToks)/(tn-t1).Seconds())
	}
	r.PeakRSSMB = peakRSSMB("self")
	r.print()
	return nil
}

// peakRSSMB reads VmHWM of /proc/<pid>/status in MB (0 if unavailable).
func peakRSSMB(pid string) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1000
		}
	}
	return 0
}

type genResponse struct {
	PromptEvalCount    int    `json:"prompt_eval_count"`
	PromptEvalDuration int64  `json:"prompt_eval_duration"`
	EvalCount          int    `json:"eval_count"`
	EvalDuration       int64  `json:"eval_duration"`
	Response           string `json:"response"`
	Error              string `json:"error"`
}

func ollamaGenerate(host string, req map[string]any) (*genResponse, error) {
	b, _ := json.Marshal(req)
	resp, err := http.Post("http://"+host+"/api/generate", "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var g genResponse
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, fmt.Errorf("ollama: %s: %w", bytes.TrimSpace(body), err)
	}
	if g.Error != "" || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ollama: %s %s", resp.Status, g.Error)
	}
	return &g, nil
}

func benchOllama(args []string) error {
	fs := flag.NewFlagSet("ollama", flag.ExitOnError)
	host := fs.String("host", "127.0.0.1:11434", "Ollama server")
	servePID := fs.Int("serve-pid", 0, "pid of `ollama serve` (to find its runner for the peak RSS)")
	name := fs.String("name", "", "Ollama model name")
	tokPath := fs.String("tokenizer", "", "llama2.c tokenizer file of the model (to build the prompts)")
	vocab := fs.Int("vocab", 512, "tokens in the tokenizer file")
	threads := fs.Int("threads", 1, "num_thread")
	runs := fs.Int("runs", 3, "timed runs of each measurement")
	newToks := fs.Int("decode", 256, "new tokens per decode run")
	promptToks := fs.Int("prompt", 512, "prompt tokens (with BOS) per prefill run")
	ctx := fs.Int("ctx", 1024, "num_ctx")
	fs.Parse(args)
	r := Result{Engine: "llama.cpp", Model: *name, Threads: *threads, PromptToks: *promptToks, NewToks: *newToks}
	tok, err := llama.LoadLlama2cTokenizer(*tokPath, *vocab)
	if err != nil {
		return err
	}
	opts := func(predict int) map[string]any {
		return map[string]any{"temperature": 0, "top_k": 1, "seed": 42, "repeat_penalty": 1.0,
			"num_thread": *threads, "num_ctx": *ctx, "num_predict": predict}
	}
	req := func(p string, predict int) map[string]any {
		return map[string]any{"model": *name, "prompt": p, "raw": true, "stream": false,
			"keep_alive": "10m", "options": opts(predict)}
	}
	// Warm-up: loads the runner with these options.
	if _, err := ollamaGenerate(*host, req(decodePrompt, 4)); err != nil {
		return err
	}
	for i := range *runs {
		text, err := promptText(tok, *promptToks, uint64(100+i))
		if err != nil {
			return err
		}
		g, err := ollamaGenerate(*host, req(text, 1))
		if err != nil {
			return err
		}
		if g.PromptEvalCount < *promptToks-8 {
			return fmt.Errorf("llama.cpp evaluated only %d prompt tokens of %d", g.PromptEvalCount, *promptToks)
		}
		r.Prefill = append(r.Prefill, float64(g.PromptEvalCount)/(float64(g.PromptEvalDuration)/1e9))
		g, err = ollamaGenerate(*host, req(decodePrompt, *newToks))
		if err != nil {
			return err
		}
		if g.EvalCount != *newToks {
			return fmt.Errorf("llama.cpp generated %d tokens instead of %d", g.EvalCount, *newToks)
		}
		r.Decode = append(r.Decode, float64(g.EvalCount)/(float64(g.EvalDuration)/1e9))
	}
	if *servePID > 0 {
		for _, pid := range childPIDs(*servePID) {
			r.PeakRSSMB = math.Max(r.PeakRSSMB, peakRSSMB(strconv.Itoa(pid)))
		}
	}
	// Unload, so the next configuration starts a fresh runner.
	unload := map[string]any{"model": *name, "keep_alive": 0}
	b, _ := json.Marshal(unload)
	if resp, err := http.Post("http://"+*host+"/api/generate", "application/json", bytes.NewReader(b)); err == nil {
		resp.Body.Close()
	}
	for range 100 {
		if len(childPIDs(*servePID)) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.print()
	return nil
}

// childPIDs lists the children of pid (the runners of `ollama serve`).
func childPIDs(pid int) []int {
	if pid <= 0 {
		return nil
	}
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
