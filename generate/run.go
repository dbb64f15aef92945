package generate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ggmi-dev/ggmi/curate"
	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/internal/groupcommit"
	"github.com/ggmi-dev/ggmi/llm"
	"github.com/ggmi-dev/ggmi/progress"
	"github.com/ggmi-dev/ggmi/synth"
)

// Modes of a run: how a prompt is sent to the model.
const (
	// ModeChat sends the prompt as one user message (instruction-tuned
	// models).
	ModeChat = "chat"
	// ModeCompletion sends the prompt as raw text to continue (base
	// models).
	ModeCompletion = "completion"
)

// Params are the sampling parameters of every request.
type Params struct {
	// Temperature divides the logits; 0 is greedy decoding.
	Temperature float64 `json:"temperature"`
	// TopP is the nucleus mass (0 or 1: off).
	TopP float64 `json:"top_p,omitempty"`
	// MaxTokens caps each choice (0: the endpoint's default).
	MaxTokens int `json:"max_tokens,omitempty"`
	// N is the number of choices per request (1 when ≤ 0).
	N int `json:"n,omitempty"`
	// Stop ends a choice at any of these strings.
	Stop []string `json:"stop,omitempty"`
}

// Options configure Run.
type Options struct {
	// Plan lists the prompts; its seed makes every request deterministic.
	Plan synth.Plan
	// Backend is the model M. Wrap it in llm.Limited for concurrency, rate
	// limits, timeouts and retries (those are the caller's policy); do not
	// wrap it in llm.Cached: Run adds the durable cache itself, at
	// CachePath, because an exact resume depends on it.
	Backend llm.Backend
	// Identity names the model in cache keys (llm.BackendIdentity(Backend)
	// when empty). Set it when the backend's identity does not pin the
	// weights, e.g. to a hash of the model file for the built-in engine.
	Identity string
	// Model is the model name sent with every request and recorded in the
	// provenance when the answer names none.
	Model string
	// Mode is ModeChat (the default) or ModeCompletion.
	Mode string
	// Params are the sampling parameters.
	Params Params
	// Samples is the number of requests per prompt (1 when ≤ 0); request s
	// of prompt i uses a seed derived from the prompt's seed and s.
	Samples int
	// Format is the structured output asked for. Nil asks for TaskSchema in
	// chat mode and for free text in completion mode; Type FormatTask asks
	// for TaskSchema with each prompt's N; llm.FormatText for free text;
	// any other format is sent as it is. When the endpoint refuses the
	// format (a 400 naming response_format), the run goes on without it and
	// relies on parsing.
	Format *llm.ResponseFormat
	// Concurrency is the number of requests in flight (8 when ≤ 0).
	Concurrency int
	// Adaptive, when set, is the adaptive limit wrapped inside Backend
	// (--concurrency auto): the run keeps up to its maximum requests
	// waiting on it and reports its current limit in Stats.Concurrency.
	Adaptive *Adaptive
	// Endpoints, when set, is the llm.Multi inside Backend (a model on
	// several endpoints): the progress and the summary show its
	// per-endpoint counters.
	Endpoints interface{ Endpoints() []llm.EndpointStats }
	// Price converts tokens into cost for the progress and the summary.
	Price llm.Price
	// Progress receives one unit per request; when it implements
	// StatsReporter it also receives the counters after every request.
	Progress progress.Reporter
	// OutDir receives the output files (see the package documentation).
	OutDir string
	// CachePath is the cache file (OutDir/cache.db when empty).
	CachePath string
	// Curate applies curate.Default (anchors: Plan.Anchors, decontamination
	// against Eval) to the records once every request is done.
	Curate bool
	// Eval is the evaluation split curation decontaminates against.
	Eval []dataset.Record
	// Now returns the time recorded in provenance (time.Now when nil).
	Now func() time.Time
	// GiveUpAfter stops the run, its state saved, with ErrGaveUp once every
	// request has failed for this long (0: never).
	GiveUpAfter time.Duration
	// Batch, when set, sends the requests through a provider's batch API
	// (half the price, answers within 24 hours) instead of one by one;
	// the ledger batches.jsonl makes it resumable like the online mode.
	Batch *BatchOptions
}

// Stats are the running counters of a run.
type Stats struct {
	// Total is the number of requests of the plan; Done those completed,
	// earlier runs included; Failed those that failed in this run.
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
	// Records and Rejects count the parsed records and rejected pieces of
	// the completed requests.
	Records int `json:"records"`
	Rejects int `json:"rejects"`
	// Usage sums the tokens of the completed requests; Cost is its price.
	Usage llm.Usage `json:"-"`
	Cost  float64   `json:"cost"`
	// Fetched counts the requests sent to the backend by this run, and
	// FetchedCost their price (what this run spent).
	Fetched     int     `json:"fetched"`
	FetchedCost float64 `json:"fetched_cost"`
	// Concurrency is the current adaptive concurrency limit (0 when the
	// concurrency is fixed).
	Concurrency int `json:"concurrency,omitempty"`
	// Endpoints are the per-endpoint counters of a model on several
	// endpoints (nil for one).
	Endpoints []llm.EndpointStats `json:"endpoints,omitempty"`
}

// StatsReporter is a progress.Reporter that also shows a run's counters.
type StatsReporter interface {
	progress.Reporter
	Stats(Stats)
}

// Summary is what a run did; summary.json holds it.
type Summary struct {
	Prompts  int `json:"prompts"`
	Requests int `json:"requests"`
	// Done is the number of completed requests, of which Resumed were
	// completed by earlier runs, Fetched were sent to the backend by this
	// run and CacheHits were answered from the cache (answers that reached
	// the cache before an interruption).
	Done      int `json:"done"`
	Resumed   int `json:"resumed"`
	Fetched   int `json:"fetched"`
	CacheHits int `json:"cache_hits"`
	// Failed is the number of requests that failed in this run (run again
	// to retry them); Failures counts them by kind and Errors keeps the
	// first messages.
	Failed   int            `json:"failed"`
	Failures map[string]int `json:"failures,omitempty"`
	Errors   []string       `json:"errors,omitempty"`
	// FormatRefused tells that the endpoint refused the response format
	// and the run went on with free text.
	FormatRefused bool `json:"format_refused,omitempty"`
	// FormatIgnored tells that the endpoint accepted the response format
	// but its first answers were not JSON (Ollama's /v1/completions does
	// that): later requests were sent without it and parsed as free text.
	FormatIgnored bool `json:"format_ignored,omitempty"`
	// Records is the number of records in synthetic.jsonl; Rejects the
	// number of rejected pieces, by reason in RejectReasons.
	Records       int            `json:"records"`
	Rejects       int            `json:"rejects"`
	RejectReasons map[string]int `json:"reject_reasons,omitempty"`
	// Curated and Removed count curation's output (when it ran).
	Curated       int             `json:"curated"`
	Removed       int             `json:"removed"`
	CurateReports []curate.Report `json:"curate_reports,omitempty"`
	// Batch tells what the batch mode did (nil online).
	Batch *BatchSummary `json:"batch,omitempty"`
	// Endpoints are the per-endpoint counters of this run when the model
	// is on several endpoints: attempts sent, answered, failed (and moved
	// to another endpoint).
	Endpoints []llm.EndpointStats `json:"endpoints,omitempty"`
	// PossiblyBilled counts the requests that were in flight when an
	// earlier run was killed (possibly_billed.jsonl lists them): the
	// provider may have charged them though no answer was kept.
	// PossiblyBilledCost prices their estimated input tokens.
	PossiblyBilled     int     `json:"possibly_billed,omitempty"`
	PossiblyBilledCost float64 `json:"possibly_billed_cost,omitempty"`
	// Tokens and cost of all completed requests, and what this run spent.
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	Cost             float64 `json:"cost"`
	FetchedCost      float64 `json:"fetched_cost"`
	Seconds          float64 `json:"seconds"`
	// Complete tells whether every request is done and the output files
	// are final.
	Complete bool   `json:"complete"`
	OutDir   string `json:"out_dir"`
}

// Errors of Run that callers may tell apart with errors.Is.
var (
	// ErrOtherRun: the output directory holds a run with other options.
	ErrOtherRun = errors.New("the output directory holds a different run")
	// ErrFatal: a request failed in a way every request would (bad
	// credentials, unknown model, invalid parameters), so the run stopped.
	ErrFatal = errors.New("generation stopped")
)

// File names inside the output directory.
const (
	FileRun       = "run.json"
	FilePrompts   = "prompts.jsonl"
	FileJournal   = "journal.jsonl"
	FileSynthetic = "synthetic.jsonl"
	FileRejects   = "rejects.jsonl"
	FileCurated   = "curated.jsonl"
	FileRemoved   = "removed.jsonl"
	FileCuration  = "curation.json"
	FileSummary   = "summary.json"
	FileCache     = "cache.db"
)

// job is one request of the plan: sample s of prompt p.
type job struct {
	p synth.Prompt
	s int
}

// runner holds the state of one Run.
type runner struct {
	opt      Options
	prompts  []synth.Prompt
	samples  int
	identity string
	cache    *llm.CachedBackend
	format   *llm.ResponseFormat // the run's format setting (nil: free text)
	noFormat atomic.Bool         // the endpoint refused the format
	// The first answers to requests with a format: how many, how many were
	// not JSON; formatIgnored once they all were not.
	formatSeen, formatNotJSON atomic.Int32
	formatIgnored             atomic.Bool

	records, rejects, journal *dataset.JSONLWriter // appended in whole groups of lines, synced
	// commits appends the lines of concurrent requests together: one
	// fsync per file for a group of requests.
	commits *groupcommit.Committer[commitLines]

	mu        sync.Mutex
	journaled map[[2]int]journalEntry // completed requests by (prompt, sample)
	stats     Stats
	sum       Summary
	fatal     error
	progress  progress.Reporter

	inflight       *inflightLedger
	possiblyBilled int
	billedCost     float64

	batchAnswered map[string]bool   // keys this run's batches answered
	batchFailed   map[string]string // keys its batches left unanswered, with the reason
}

// Run generates S_gen: it sends every request of the plan that earlier runs
// in opt.OutDir did not complete, parses the answers, appends records and
// rejects, and, once every request is done, writes the final files in plan
// order and curates them. A request that fails after the backend's retries
// is counted in Summary.Failed and left for the next run; Run then returns
// the summary and a nil error with Summary.Complete false. Errors that every
// request would hit stop the run with ErrFatal; a cancelled ctx stops it
// with ctx's error, everything completed so far kept.
func Run(ctx context.Context, opt Options) (Summary, error) {
	start := time.Now()
	r, resumed, err := prepare(opt)
	if err != nil {
		return Summary{}, err
	}
	defer r.cache.Close()
	defer r.closeFiles()
	r.progress.Start("generate", r.stats.Total)
	r.progress.Add(resumed)
	r.report()

	var pending []job
	done := r.doneSet()
	for _, p := range r.prompts {
		for s := range r.samples {
			if !done[[2]int{p.Index, s}] {
				pending = append(pending, job{p, s})
			}
		}
	}
	if r.opt.Batch != nil && len(pending) > 0 {
		if err := r.runBatch(ctx, pending); err != nil {
			r.progress.Done()
			r.fillSummary()
			r.sum.Seconds = time.Since(start).Seconds()
			_ = r.writeSummary()
			return r.sum, err
		}
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	var wg sync.WaitGroup
	giveUp := NewGiveUp(r.opt.GiveUpAfter)
	gaveUp := func() {
		if err := giveUp.Tripped(time.Now()); err != nil {
			r.mu.Lock()
			if r.fatal == nil {
				r.fatal = fmt.Errorf("generate: %w", err)
			}
			r.mu.Unlock()
			cancel()
		}
	}
	if r.opt.GiveUpAfter > 0 {
		// Requests that hang give no outcome: look at the clock as well.
		go func() {
			t := time.NewTicker(min(r.opt.GiveUpAfter/4, time.Second))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					gaveUp()
				}
			}
		}()
	}
	// Twice as many workers as requests in flight: a worker whose answer
	// came back waits for its group commit (a few fsyncs) while another
	// one's request takes its slot.
	for range min(2*r.opt.Concurrency, max(len(pending), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				err := r.do(ctx, j)
				switch {
				case err == nil:
					giveUp.Success()
				case ctx.Err() == nil && !isFatal(err):
					giveUp.Failure(time.Now(), err)
					gaveUp()
				}
				if err != nil {
					r.failed(j, err, cancel)
				}
				r.progress.Add(1)
				r.report()
			}
		}()
	}
feed:
	for _, j := range pending {
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	r.progress.Done()

	r.sum.Seconds = time.Since(start).Seconds()
	if r.fatal != nil {
		r.fillSummary()
		_ = r.writeSummary()
		return r.sum, r.fatal
	}
	if err := parent.Err(); err != nil {
		r.fillSummary()
		_ = r.writeSummary()
		return r.sum, fmt.Errorf("generate: %w", context.Cause(parent))
	}
	if err := r.finish(ctx); err != nil {
		return r.sum, err
	}
	r.sum.Seconds = time.Since(start).Seconds()
	if err := r.writeSummary(); err != nil {
		return r.sum, err
	}
	return r.sum, nil
}

// prepare validates the options, renders the plan, opens the cache and
// restores the state left by earlier runs; it returns the number of
// requests already done.
func prepare(opt Options) (*runner, int, error) {
	if opt.Backend == nil {
		return nil, 0, errors.New("generate: no backend")
	}
	if opt.OutDir == "" {
		return nil, 0, errors.New("generate: no output directory")
	}
	switch opt.Mode {
	case "":
		opt.Mode = ModeChat
	case ModeChat, ModeCompletion:
	default:
		return nil, 0, fmt.Errorf("generate: unknown mode %q (want %s or %s)", opt.Mode, ModeChat, ModeCompletion)
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.Adaptive != nil {
		opt.Concurrency = opt.Adaptive.opt.Max
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Params.N > llm.MaxN {
		return nil, 0, fmt.Errorf("generate: n = %d choices per request is above %d", opt.Params.N, llm.MaxN)
	}
	prompts, err := opt.Plan.Prompts()
	if err != nil {
		return nil, 0, fmt.Errorf("generate: %w", err)
	}
	r := &runner{opt: opt, prompts: prompts, samples: max(opt.Samples, 1), progress: progress.OrNop(opt.Progress)}
	r.commits = groupcommit.New(r.commitGroup)
	switch {
	case opt.Format == nil && opt.Mode == ModeChat:
		r.format = &llm.ResponseFormat{Type: FormatTask}
	case opt.Format != nil && opt.Format.Type != "" && opt.Format.Type != llm.FormatText:
		r.format = opt.Format
	}
	inner := &fetchMarker{b: opt.Backend, id: opt.Identity, batchOnly: opt.Batch != nil, slots: make(chan struct{}, opt.Concurrency)}
	if inner.id == "" {
		inner.id = llm.BackendIdentity(opt.Backend)
	}
	r.identity = inner.id
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("generate: create output directory: %w", err)
	}
	if err := r.checkFingerprint(); err != nil {
		return nil, 0, err
	}
	cachePath := opt.CachePath
	if cachePath == "" {
		cachePath = filepath.Join(opt.OutDir, FileCache)
	}
	if r.cache, err = llm.Cached(inner, cachePath); err != nil {
		return nil, 0, fmt.Errorf("generate: %w", err)
	}
	resumed, err := r.restore()
	if err == nil {
		err = r.writePrompts()
	}
	if err == nil {
		r.inflight, r.possiblyBilled, r.billedCost, err = settleInFlight(opt.OutDir, opt.Price)
		if err != nil {
			err = fmt.Errorf("generate: %w", err)
		}
		inner.ledger = r.inflight
	}
	if err != nil {
		r.closeFiles()
		r.cache.Close()
		return nil, 0, err
	}
	return r, resumed, nil
}

// seedOf returns the sampling seed of sample s of p (below 2⁶³, so it fits
// dataset.Provenance.Seed).
func seedOf(p synth.Prompt, s int) uint64 {
	if s == 0 {
		return p.Seed
	}
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], p.Seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(s))
	h.Write(b[:])
	h.Write([]byte("generate-sample"))
	return binary.LittleEndian.Uint64(h.Sum(nil)) >> 1
}

// request builds the request of sample s of p, with or without the
// response format.
func (r *runner) request(p synth.Prompt, s int, withFormat bool) llm.Request {
	seed := seedOf(p, s)
	req := llm.Request{
		Model:       r.opt.Model,
		N:           max(r.opt.Params.N, 1),
		Seed:        &seed,
		Temperature: r.opt.Params.Temperature,
		TopP:        r.opt.Params.TopP,
		MaxTokens:   r.opt.Params.MaxTokens,
		Stop:        r.opt.Params.Stop,
		Sample:      s,
	}
	if r.opt.Mode == ModeChat {
		req.Messages = []llm.Message{{Role: llm.RoleUser, Content: p.Text}}
	} else {
		req.Prompt = p.Text
	}
	if withFormat {
		req.Format = formatFor(r.format, p.N)
	}
	return req
}

// key returns the cache key of a request.
func (r *runner) key(req llm.Request) (string, error) {
	k, err := llm.CacheKey(r.identity, req)
	if err != nil {
		return "", fmt.Errorf("generate: %w", err)
	}
	return k, nil
}

// runDoc is what run.json holds: the options that decide the requests, and
// a hash of every request key.
type runDoc struct {
	Version     int        `json:"version"`
	Identity    string     `json:"identity"`
	Model       string     `json:"model"`
	Mode        string     `json:"mode"`
	Params      Params     `json:"params"`
	Samples     int        `json:"samples"`
	Format      string     `json:"format"`
	Prompts     int        `json:"prompts"`
	Requests    int        `json:"requests"`
	Seed        uint64     `json:"seed"`
	Fingerprint string     `json:"fingerprint"`
	Created     string     `json:"created"`
	Price       [2]float64 `json:"price_per_mtok"`
}

// fingerprint hashes the keys of every request (with the format).
func (r *runner) fingerprint() (string, error) {
	h := sha256.New()
	for _, p := range r.prompts {
		for s := range r.samples {
			k, err := r.key(r.request(p, s, true))
			if err != nil {
				return "", err
			}
			h.Write([]byte(k))
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkFingerprint writes run.json on a first run and, on a resume, checks
// that the directory's run makes the same requests.
func (r *runner) checkFingerprint() error {
	fp, err := r.fingerprint()
	if err != nil {
		return err
	}
	path := filepath.Join(r.opt.OutDir, FileRun)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var old runDoc
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("generate: %s is damaged (%v); use a new output directory", path, err)
		}
		if old.Fingerprint != fp {
			return fmt.Errorf("generate: %w: %s was made with other options (model, parameters, plan or template); resume with the same options or use a new output directory", ErrOtherRun, r.opt.OutDir)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("generate: %w", err)
	}
	if entries, _ := os.ReadDir(r.opt.OutDir); len(entries) > 0 {
		for _, e := range entries {
			if e.Name() == FileJournal || e.Name() == FileSynthetic {
				return fmt.Errorf("generate: %w: %s holds generated data but no %s; use a new output directory", ErrOtherRun, r.opt.OutDir, FileRun)
			}
		}
	}
	doc := runDoc{
		Version: 1, Identity: r.identity, Model: r.opt.Model, Mode: r.opt.Mode, Params: r.opt.Params,
		Samples: r.samples, Format: formatName(r.format), Prompts: len(r.prompts), Requests: len(r.prompts) * r.samples,
		Seed: r.opt.Plan.Seed, Fingerprint: fp, Created: r.opt.Now().UTC().Format(time.RFC3339),
		Price: [2]float64{r.opt.Price.InputPerMTok, r.opt.Price.OutputPerMTok},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return writeAtomic(path, append(out, '\n'))
}

// promptLine is one line of prompts.jsonl.
type promptLine struct {
	synth.Prompt
	Keys []string `json:"request_keys"`
}

// writePrompts writes prompts.jsonl (the same content on every run).
func (r *runner) writePrompts() error {
	return writeAtomicFunc(filepath.Join(r.opt.OutDir, FilePrompts), func(w io.Writer) error {
		for _, p := range r.prompts {
			pl := promptLine{Prompt: p}
			for s := range r.samples {
				k, err := r.key(r.request(p, s, true))
				if err != nil {
					return err
				}
				pl.Keys = append(pl.Keys, k)
			}
			b, err := jsonLine(pl)
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// restore reads the journal of earlier runs, keeps the entries whose
// response is in the cache, cuts the record and reject files back to those
// requests, and opens the files for appending. It returns the number of
// requests already done.
func (r *runner) restore() (int, error) {
	dir := r.opt.OutDir
	entries, err := readJournal(filepath.Join(dir, FileJournal))
	if err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	byJob := map[[2]int]journalEntry{}
	var kept []journalEntry
	for _, e := range entries {
		if e.Prompt < 0 || e.Prompt >= len(r.prompts) || e.Sample < 0 || e.Sample >= r.samples {
			return 0, fmt.Errorf("generate: %w: the journal names request %d/%d outside the plan", ErrOtherRun, e.Prompt, e.Sample)
		}
		if _, dup := byJob[[2]int{e.Prompt, e.Sample}]; dup {
			continue
		}
		req := r.request(r.prompts[e.Prompt], e.Sample, e.Format)
		k, err := r.key(req)
		if err != nil {
			return 0, err
		}
		if k != e.Key {
			return 0, fmt.Errorf("generate: %w: journal entry %d/%d has key %s, the plan gives %s", ErrOtherRun, e.Prompt, e.Sample, e.Key, k)
		}
		if _, ok, err := r.cache.Lookup(req); err != nil {
			return 0, fmt.Errorf("generate: %w", err)
		} else if !ok {
			continue // the cache lost it: the request is made again
		}
		byJob[[2]int{e.Prompt, e.Sample}] = e
		kept = append(kept, e)
	}
	keys := make(map[string]bool, len(kept))
	var jb []byte
	for _, e := range kept {
		keys[e.Key] = true
		line, err := jsonLine(e)
		if err != nil {
			return 0, fmt.Errorf("generate: %w", err)
		}
		jb = append(jb, line...)
		r.account(e, false)
		if !e.Format && r.format != nil {
			r.noFormat.Store(true)
		}
	}
	if err := writeAtomic(filepath.Join(dir, FileJournal), jb); err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	for _, name := range []string{FileSynthetic, FileRejects} {
		if err := filterFile(filepath.Join(dir, name), func(k string) bool { return keys[k] }); err != nil {
			return 0, fmt.Errorf("generate: %w", err)
		}
	}
	// Outputs of an earlier complete run are stale until this run finishes.
	for _, name := range []string{FileCurated, FileRemoved, FileCuration, FileSummary} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("generate: %w", err)
		}
	}
	if r.records, err = dataset.OpenJSONL(filepath.Join(dir, FileSynthetic), true); err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	if r.rejects, err = dataset.OpenJSONL(filepath.Join(dir, FileRejects), true); err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	if r.journal, err = dataset.OpenJSONL(filepath.Join(dir, FileJournal), true); err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	r.stats.Total = len(r.prompts) * r.samples
	r.sum.Resumed = len(kept)
	r.journaled = byJob
	return len(kept), nil
}

func (r *runner) closeFiles() {
	if r.inflight != nil {
		_ = r.inflight.w.Close()
	}
	for _, a := range []*dataset.JSONLWriter{r.records, r.rejects, r.journal} {
		if a != nil {
			_ = a.Close()
		}
	}
}

// doneSet returns the requests completed so far.
func (r *runner) doneSet() map[[2]int]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[[2]int]bool, len(r.journaled))
	for k := range r.journaled {
		out[k] = true
	}
	return out
}

// account adds a completed request to the counters.
func (r *runner) account(e journalEntry, fetched bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := e.Usage.usage()
	r.stats.Done++
	r.stats.Records += e.Records
	r.stats.Rejects += e.Rejects
	r.stats.Usage.PromptTokens += u.PromptTokens
	r.stats.Usage.CompletionTokens += u.CompletionTokens
	price := r.opt.Price
	if e.Batch {
		price = price.Batch()
	}
	c := price.Cost(u)
	r.stats.Cost += c
	if fetched {
		r.stats.Fetched++
		r.stats.FetchedCost += c
	}
}

// report sends the counters to the progress reporter.
func (r *runner) report() {
	sr, ok := r.progress.(StatsReporter)
	if !ok {
		return
	}
	r.mu.Lock()
	s := r.stats
	r.mu.Unlock()
	if r.opt.Adaptive != nil {
		s.Concurrency = r.opt.Adaptive.Stats().Limit
	}
	if r.opt.Endpoints != nil {
		s.Endpoints = r.opt.Endpoints.Endpoints()
	}
	sr.Stats(s)
}

// fetchKey marks, in a request's context, whether the cache called the
// backend.
type fetchKey struct{}

// fetchMarker is the backend under the cache: it records in the context
// that a request was really sent, and names the model for cache keys.
type fetchMarker struct {
	b         llm.Backend
	id        string
	batchOnly bool
	ledger    *inflightLedger // notes each request before it leaves and when it returns
	// slots holds one token per request in flight: at most
	// Options.Concurrency requests are out at once, while more workers
	// parse answers and wait for their commits.
	slots chan struct{}
}

func (f *fetchMarker) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if f.batchOnly {
		return llm.Response{}, errOnlineInBatch
	}
	if flag, ok := ctx.Value(fetchKey{}).(*atomic.Bool); ok {
		flag.Store(true)
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return llm.Response{}, ctx.Err()
	}
	defer func() { <-f.slots }()
	if f.ledger == nil {
		return f.b.Generate(ctx, req)
	}
	k, ok := llm.CacheKeyFrom(ctx)
	if !ok {
		var err error
		if k, err = llm.CacheKey(f.id, req); err != nil {
			return llm.Response{}, err
		}
	}
	f.ledger.write(inflightLine{Key: k, Time: time.Now().UTC(), PromptTokens: estimatePrompt(req)})
	resp, err := f.b.Generate(ctx, req)
	f.ledger.write(inflightLine{Key: k, Ended: true, Time: time.Now().UTC()})
	return resp, err
}

func (f *fetchMarker) Embed(ctx context.Context, req llm.EmbedRequest) (llm.EmbedResponse, error) {
	return f.b.Embed(ctx, req)
}

func (f *fetchMarker) Models() []string { return f.b.Models() }

// Identity names the model in cache keys.
func (f *fetchMarker) Identity() string { return f.id }

// do runs one request and commits its result.
func (r *runner) do(ctx context.Context, j job) error {
	withFormat := r.format != nil && !r.noFormat.Load()
	req := r.request(j.p, j.s, withFormat)
	fetched := new(atomic.Bool)
	if r.opt.Batch != nil {
		k, err := r.key(req)
		if err != nil {
			return err
		}
		if ok, err := r.cache.Has(k); err != nil {
			return &fatalError{err}
		} else if !ok {
			return &batchFailure{r.batchReason(k)}
		}
	}
	resp, err := r.cache.Generate(context.WithValue(ctx, fetchKey{}, fetched), req)
	if err != nil && withFormat && formatRefused(err) {
		r.noFormat.Store(true)
		withFormat = false
		req = r.request(j.p, j.s, false)
		resp, err = r.cache.Generate(context.WithValue(ctx, fetchKey{}, fetched), req)
	}
	if err != nil {
		return err
	}
	if withFormat {
		r.noticeIgnoredFormat(resp)
	}
	key, err := r.key(req)
	if err != nil {
		return err
	}
	e := journalEntry{Prompt: j.p.Index, Sample: j.s, Key: key, Format: withFormat, Time: r.opt.Now().UTC(),
		Usage: toUsageJSON(resp.Usage), Fetched: fetched.Load(), Batch: r.opt.Batch != nil}
	if e.Batch {
		r.mu.Lock()
		e.Fetched = r.batchAnswered[key]
		r.mu.Unlock()
	}
	recs, rejs := r.parse(j, req, e, resp)
	e.Records, e.Rejects = len(recs), len(rejs)
	var rb, jb []byte
	for _, rec := range recs {
		b, err := dataset.MarshalLine(rec)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		rb = append(rb, b...)
	}
	for _, rj := range rejs {
		b, err := jsonLine(rj)
		if err != nil {
			return fmt.Errorf("generate: encode reject: %w", err)
		}
		jb = append(jb, b...)
	}
	line, err := jsonLine(e)
	if err != nil {
		return fmt.Errorf("generate: encode journal entry: %w", err)
	}
	if err := r.commits.Commit(commitLines{rb, jb, line}); err != nil {
		return &fatalError{err}
	}
	r.mu.Lock()
	r.journaled[[2]int{j.p.Index, j.s}] = e
	if e.Fetched {
		r.sum.Fetched++
	} else {
		r.sum.CacheHits++
	}
	r.mu.Unlock()
	r.account(e, e.Fetched)
	return nil
}

// commitLines are the lines one completed request appends.
type commitLines struct{ records, rejects, journal []byte }

// commitGroup appends the lines of a group of requests, each file synced
// once: records and rejects first, the journal lines last, so that a
// journal line proves that the lines of its request are on disk.
func (r *runner) commitGroup(group []commitLines) error {
	var rb, jb, lb []byte
	for _, g := range group {
		rb = append(rb, g.records...)
		jb = append(jb, g.rejects...)
		lb = append(lb, g.journal...)
	}
	if err := r.records.WriteLines(rb); err != nil {
		return err
	}
	if err := r.rejects.WriteLines(jb); err != nil {
		return err
	}
	return r.journal.WriteLines(lb)
}

// fatalError marks a local failure (disk, encoding) that stops the run.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// formatRefused reports whether err is the endpoint refusing the response
// format.
func formatRefused(err error) bool {
	return errors.Is(err, llm.ErrInvalidRequest) && strings.Contains(err.Error(), "response_format")
}

// isFatal reports whether err would hit every request.
func isFatal(err error) bool {
	var fe *fatalError
	if errors.As(err, &fe) {
		return true
	}
	for _, k := range []error{llm.ErrAuth, llm.ErrUnknownModel, llm.ErrInvalidRequest, llm.ErrClient} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// failed records a failed request; a fatal failure stops the run.
func (r *runner) failed(j job, err error, cancel context.CancelFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(err, context.Canceled) && r.fatal == nil {
		// Stopped by the caller (or by a fatal error elsewhere): not a
		// failure of this request.
		return
	}
	if isFatal(err) {
		if r.fatal == nil {
			r.fatal = fmt.Errorf("generate: %w: prompt %d sample %d: %w", ErrFatal, j.p.Index, j.s, err)
			cancel()
		}
		return
	}
	if r.fatal != nil {
		return
	}
	r.stats.Failed++
	r.sum.Failed++
	if r.sum.Failures == nil {
		r.sum.Failures = map[string]int{}
	}
	r.sum.Failures[failureKind(err)]++
	if len(r.sum.Errors) < 10 {
		r.sum.Errors = append(r.sum.Errors, fmt.Sprintf("prompt %d sample %d: %v", j.p.Index, j.s, err))
	}
}

// failureKind names the kind of a failed request.
func failureKind(err error) string {
	var bf *batchFailure
	if errors.As(err, &bf) {
		return "batch"
	}
	for _, k := range []error{llm.ErrRateLimited, llm.ErrServer, llm.ErrTimeout, llm.ErrConnection, llm.ErrBadResponse, llm.ErrContextLength, context.DeadlineExceeded} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return "other"
}

// rejectLine is one line of rejects.jsonl.
type rejectLine struct {
	synth.RejectEntry
	Sample int `json:"sample"`
	Choice int `json:"choice"`
}

// parse turns a response into records and rejects; the result depends only
// on the request, the journal entry and the response.
func (r *runner) parse(j job, req llm.Request, e journalEntry, resp llm.Response) ([]dataset.Record, []rejectLine) {
	model := resp.Model
	if model == "" {
		model = r.opt.Model
	}
	var recs []dataset.Record
	var rejs []rejectLine
	for _, ch := range resp.Choices {
		params := map[string]any{
			"mode":        r.opt.Mode,
			"temperature": req.Temperature,
			"n":           max(req.N, 1),
			"sample":      j.s,
			"choice":      ch.Index,
			"format":      formatName(req.Format),
		}
		if req.TopP > 0 && req.TopP < 1 {
			params["top_p"] = req.TopP
		}
		if req.MaxTokens > 0 {
			params["max_tokens"] = req.MaxTokens
		}
		if ch.FinishReason != "" {
			params["finish_reason"] = ch.FinishReason
		}
		prov := j.p.Provenance(model, params, e.Key, e.Time)
		prov.Seed = int64(*req.Seed)
		res := synth.Parser{Provenance: func(int) dataset.Provenance { return prov }}.Parse(ch.Text)
		recs = append(recs, res.Records...)
		for _, rj := range res.RejectEntries(j.p.ID, e.Key) {
			rejs = append(rejs, rejectLine{RejectEntry: rj, Sample: j.s, Choice: ch.Index})
		}
	}
	return recs, rejs
}

// finish rewrites synthetic.jsonl and rejects.jsonl from the cache in plan
// order once every request is done, and curates.
func (r *runner) finish(ctx context.Context) error {
	r.fillSummary()
	if r.sum.Done < r.sum.Requests {
		return nil // files stay as appended; the next run completes them
	}
	r.closeFiles()
	var all []dataset.Record
	reasons := map[string]int{}
	var rejLines [][]byte
	for _, p := range r.prompts {
		for s := range r.samples {
			e := r.journaled[[2]int{p.Index, s}]
			req := r.request(p, s, e.Format)
			resp, ok, err := r.cache.Lookup(req)
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			if !ok {
				return fmt.Errorf("generate: the cache lost the answer to prompt %d sample %d during the run; run again to fetch it", p.Index, s)
			}
			recs, rejs := r.parse(job{p, s}, req, e, resp)
			all = append(all, recs...)
			for _, rj := range rejs {
				reasons[rj.Reason]++
				b, err := jsonLine(rj)
				if err != nil {
					return fmt.Errorf("generate: %w", err)
				}
				rejLines = append(rejLines, b)
			}
		}
	}
	dir := r.opt.OutDir
	if err := dataset.WriteFile(filepath.Join(dir, FileSynthetic), all, dataset.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := writeAtomicFunc(filepath.Join(dir, FileRejects), func(w io.Writer) error {
		for _, b := range rejLines {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	r.sum.Records, r.sum.Rejects, r.sum.RejectReasons = len(all), len(rejLines), reasons
	r.sum.Complete = true
	if !r.opt.Curate {
		return nil
	}
	res, err := curate.Default(r.opt.Plan.Anchors, r.opt.Eval).Run(ctx, all)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := dataset.WriteFile(filepath.Join(dir, FileCurated), res.Kept, dataset.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := dataset.WriteFile(filepath.Join(dir, FileRemoved), res.Removed, dataset.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	b, err := json.MarshalIndent(struct {
		Kept    int             `json:"kept"`
		Removed int             `json:"removed"`
		Filters []curate.Report `json:"filters"`
	}{len(res.Kept), len(res.Removed), res.Reports}, "", "  ")
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, FileCuration), append(b, '\n')); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	r.sum.Curated, r.sum.Removed, r.sum.CurateReports = len(res.Kept), len(res.Removed), res.Reports
	return nil
}

// fillSummary copies the counters into the summary.
func (r *runner) fillSummary() {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	r.sum.Prompts = len(r.prompts)
	r.sum.Requests = s.Total
	r.sum.Done = s.Done
	r.sum.Records, r.sum.Rejects = s.Records, s.Rejects
	r.sum.PromptTokens, r.sum.CompletionTokens = s.Usage.PromptTokens, s.Usage.CompletionTokens
	r.sum.Cost, r.sum.FetchedCost = s.Cost, s.FetchedCost
	r.sum.PossiblyBilled, r.sum.PossiblyBilledCost = r.possiblyBilled, r.billedCost
	r.sum.FormatRefused = r.noFormat.Load()
	r.sum.FormatIgnored = r.formatIgnored.Load()
	r.sum.OutDir = r.opt.OutDir
	if r.opt.Endpoints != nil {
		r.sum.Endpoints = r.opt.Endpoints.Endpoints()
	}
	if r.sum.RejectReasons == nil && s.Rejects > 0 {
		r.sum.RejectReasons = map[string]int{}
	}
	if s.Rejects > 0 {
		clear(r.sum.RejectReasons)
		_ = readLines(filepath.Join(r.opt.OutDir, FileRejects), func(line []byte) error {
			var rj rejectLine
			if json.Unmarshal(line, &rj) == nil {
				r.sum.RejectReasons[rj.Reason]++
			}
			return nil
		})
	}
}

// writeSummary writes summary.json.
func (r *runner) writeSummary() error {
	if r.sum.Errors != nil {
		sort.Strings(r.sum.Errors)
	}
	b, err := json.MarshalIndent(r.sum, "", "  ")
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := writeAtomic(filepath.Join(r.opt.OutDir, FileSummary), append(b, '\n')); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// ignoredFormatAnswers is how many answers to requests with a JSON schema
// must all be other than JSON before the format is taken as ignored.
const ignoredFormatAnswers = 3

// noticeIgnoredFormat looks at the first answers to requests with a
// format: when none of them is JSON, the endpoint ignores response_format,
// and the run falls back as for a refusal (no format, free-text parsing).
func (r *runner) noticeIgnoredFormat(resp llm.Response) {
	if r.formatIgnored.Load() || len(resp.Choices) == 0 {
		return
	}
	n := r.formatSeen.Add(1)
	if n > ignoredFormatAnswers {
		return
	}
	t := strings.TrimSpace(resp.Choices[0].Text)
	if t != "" && (t[0] == '{' || t[0] == '[') {
		return
	}
	if r.formatNotJSON.Add(1) == ignoredFormatAnswers {
		r.formatIgnored.Store(true)
		r.noFormat.Store(true)
	}
}
