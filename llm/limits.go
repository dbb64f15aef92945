package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Price is the cost of a model's tokens in currency units (e.g. USD) per
// million tokens.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// Cost returns the price of u.
func (p Price) Cost(u Usage) float64 {
	return float64(u.PromptTokens)*p.InputPerMTok/1e6 + float64(u.CompletionTokens)*p.OutputPerMTok/1e6
}

// LimitOptions configure Limited. Zero values select the documented
// defaults; limits that are 0 are off.
type LimitOptions struct {
	// Concurrency bounds the requests in flight (unbounded when ≤ 0).
	Concurrency int
	// RequestsPerMinute caps the rate of attempts (off when ≤ 0).
	RequestsPerMinute float64
	// TokensPerMinute caps the estimated tokens per minute (off when ≤ 0).
	// Each attempt reserves its estimate (prompt characters / 4 plus
	// MaxTokens × N) before it starts; tokens beyond the estimate are
	// charged once the usage is known.
	TokensPerMinute float64
	// TokenBurst is the size of the token bucket (TokensPerMinute when
	// ≤ 0, i.e. a minute's worth may be spent at once).
	TokenBurst int
	// Timeout bounds each attempt, a streamed one included (none when ≤ 0).
	Timeout time.Duration
	// MaxAttempts is the number of attempts per request, first included
	// (5 when 0; 1 disables retries).
	MaxAttempts int
	// BaseDelay is the backoff before the first retry (500 ms when ≤ 0);
	// it doubles per retry up to MaxDelay (30 s when ≤ 0), and the actual
	// sleep is drawn uniformly in [0, delay] (full jitter). A Retry-After
	// advertised with a 429 or 503 is honoured instead, up to MaxRetryAfter.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter caps an advertised Retry-After (5 min when ≤ 0); a
	// longer one fails the request.
	MaxRetryAfter time.Duration
	// CooldownAfter is the number of consecutive 429s after which all
	// requests pause (3 when 0; off when < 0). The pause lasts the
	// advertised Retry-After, else CooldownBase doubled per further 429
	// (1 s when ≤ 0) up to CooldownMax (1 min when ≤ 0).
	CooldownAfter int
	CooldownBase  time.Duration
	CooldownMax   time.Duration
	// Prices maps a model name to its price, for Stats().Cost.
	Prices map[string]Price
	// Seed seeds the jitter (a fixed default when 0), for reproducible
	// schedules in tests.
	Seed uint64
}

// LimitStats are the counters of a limited backend.
type LimitStats struct {
	Requests  int64 // Generate and Embed calls
	Attempts  int64 // HTTP attempts made
	Retries   int64 // attempts beyond the first
	Succeeded int64
	Failed    int64
	// RateLimited counts the 429 answers; Cooldowns the pauses they
	// triggered.
	RateLimited int64
	Cooldowns   int64
	// Usage sums the tokens of the successful requests; ByModel splits it.
	Usage   Usage
	ByModel map[string]Usage
	// Cost is the price of Usage under LimitOptions.Prices (models without
	// a price count 0).
	Cost float64
}

// LimitedBackend is a Backend wrapped by Limited.
type LimitedBackend struct {
	b   Backend
	opt LimitOptions
	sem chan struct{}
	rpm *rate.Limiter
	tpm *rate.Limiter

	mu          sync.Mutex
	rng         *rand.Rand
	consecutive int       // consecutive 429s
	pauseUntil  time.Time // cool-down end
	stats       LimitStats
}

// Limited wraps b with bounded concurrency, client-side request and token
// rate limits, a per-attempt timeout, retries with exponential backoff
// and full jitter (honouring Retry-After), a cool-down after repeated
// 429s, and token and cost accounting. Retried errors are those whose
// *APIError is Retryable (429, 5xx, timeouts, connection failures,
// invalid bodies); a streamed request is not retried once a delta has
// been delivered. The final error is the last attempt's *APIError with
// Attempts set.
func Limited(b Backend, opt LimitOptions) *LimitedBackend {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = 500 * time.Millisecond
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 30 * time.Second
	}
	if opt.MaxRetryAfter <= 0 {
		opt.MaxRetryAfter = 5 * time.Minute
	}
	if opt.CooldownAfter == 0 {
		opt.CooldownAfter = 3
	}
	if opt.CooldownBase <= 0 {
		opt.CooldownBase = time.Second
	}
	if opt.CooldownMax <= 0 {
		opt.CooldownMax = time.Minute
	}
	seed := opt.Seed
	if seed == 0 {
		seed = 0x9e3779b97f4a7c15
	}
	l := &LimitedBackend{b: b, opt: opt, rng: rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))}
	l.stats.ByModel = map[string]Usage{}
	if opt.Concurrency > 0 {
		l.sem = make(chan struct{}, opt.Concurrency)
	}
	if opt.RequestsPerMinute > 0 {
		l.rpm = rate.NewLimiter(rate.Limit(opt.RequestsPerMinute/60), max(1, int(math.Ceil(opt.RequestsPerMinute/60))))
	}
	if opt.TokensPerMinute > 0 {
		burst := opt.TokenBurst
		if burst <= 0 {
			burst = max(1, int(opt.TokensPerMinute))
		}
		l.tpm = rate.NewLimiter(rate.Limit(opt.TokensPerMinute/60), burst)
	}
	return l
}

// Models implements Backend.
func (l *LimitedBackend) Models() []string { return l.b.Models() }

// Unwrap returns the wrapped backend.
func (l *LimitedBackend) Unwrap() Backend { return l.b }

// Identity returns the wrapped backend's identity (limits do not change
// answers, so cached entries are shared with the bare backend).
func (l *LimitedBackend) Identity() string { return BackendIdentity(l.b) }

// String describes the wrapped backend.
func (l *LimitedBackend) String() string {
	return fmt.Sprintf("limited(%s)", BackendIdentity(l.b))
}

// Stats returns a snapshot of the counters.
func (l *LimitedBackend) Stats() LimitStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.ByModel = make(map[string]Usage, len(l.stats.ByModel))
	for k, v := range l.stats.ByModel {
		s.ByModel[k] = v
	}
	return s
}

// estimateTokens is the TPM reservation of a request.
func estimateTokens(req Request) int {
	n := len(req.Prompt)
	for _, m := range req.Messages {
		n += len(m.Content) + 4
	}
	out := req.MaxTokens
	if out <= 0 {
		out = 256
	}
	return n/4 + 1 + out*max(req.N, 1)
}

// Generate implements Backend.
func (l *LimitedBackend) Generate(ctx context.Context, req Request) (Response, error) {
	delivered := false
	if req.OnDelta != nil {
		f := req.OnDelta
		req.OnDelta = func(d Delta) error {
			delivered = true
			return f(d)
		}
	}
	var resp Response
	err := l.do(ctx, estimateTokens(req), func() bool { return !delivered }, func(ctx context.Context) (Usage, error) {
		var err error
		resp, err = l.b.Generate(ctx, req)
		return resp.Usage, err
	})
	if err != nil {
		return Response{}, err
	}
	model := resp.Model
	if model == "" {
		model = req.Model
	}
	l.account(model, resp.Usage)
	return resp, nil
}

// Embed implements Backend.
func (l *LimitedBackend) Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error) {
	est := 1
	for _, s := range req.Input {
		est += len(s)/4 + 1
	}
	var resp EmbedResponse
	err := l.do(ctx, est, func() bool { return true }, func(ctx context.Context) (Usage, error) {
		var err error
		resp, err = l.b.Embed(ctx, req)
		return resp.Usage, err
	})
	if err != nil {
		return EmbedResponse{}, err
	}
	model := resp.Model
	if model == "" {
		model = req.Model
	}
	l.account(model, resp.Usage)
	return resp, nil
}

func (l *LimitedBackend) account(model string, u Usage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Usage.PromptTokens += u.PromptTokens
	l.stats.Usage.CompletionTokens += u.CompletionTokens
	m := l.stats.ByModel[model]
	m.PromptTokens += u.PromptTokens
	m.CompletionTokens += u.CompletionTokens
	l.stats.ByModel[model] = m
	if p, ok := l.opt.Prices[model]; ok {
		l.stats.Cost += p.Cost(u)
	}
}

// do runs attempt with retries. canRetry reports whether a failed attempt
// may be repeated (false once a stream delivered text).
func (l *LimitedBackend) do(ctx context.Context, est int, canRetry func() bool, attempt func(context.Context) (Usage, error)) error {
	l.mu.Lock()
	l.stats.Requests++
	l.mu.Unlock()
	var last error
	for n := 1; ; n++ {
		if err := l.waitCooldown(ctx); err != nil {
			return l.final(ctxError(err, last), n-1)
		}
		_, err := l.once(ctx, est, attempt)
		if err == nil {
			l.mu.Lock()
			l.consecutive = 0
			l.stats.Succeeded++
			l.mu.Unlock()
			return nil
		}
		last = err
		var ae *APIError
		if !errors.As(err, &ae) {
			// Errors of the caller's own (OnDelta, a non-HTTP backend):
			// returned as they are.
			l.fail()
			return err
		}
		if ctx.Err() != nil || !ae.Retryable() || !canRetry() || n >= l.opt.MaxAttempts {
			return l.final(err, n)
		}
		delay := l.backoff(n)
		if ae.RetryAfter > 0 && (ae.Kind == ErrRateLimited || ae.StatusCode == 503) {
			if ae.RetryAfter > l.opt.MaxRetryAfter {
				return l.final(err, n)
			}
			delay = ae.RetryAfter
		}
		l.mu.Lock()
		l.stats.Retries++
		l.mu.Unlock()
		if err := sleepCtx(ctx, delay); err != nil {
			return l.final(ctxError(err, last), n)
		}
	}
}

// once makes one attempt under the concurrency and rate limits.
func (l *LimitedBackend) once(ctx context.Context, est int, attempt func(context.Context) (Usage, error)) (Usage, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			return Usage{}, ctxError(ctx.Err(), nil)
		}
		defer func() { <-l.sem }()
	}
	if l.rpm != nil {
		if err := l.rpm.Wait(ctx); err != nil {
			return Usage{}, ctxError(err, nil)
		}
	}
	if l.tpm != nil {
		if err := l.tpm.WaitN(ctx, min(est, l.tpm.Burst())); err != nil {
			return Usage{}, ctxError(err, nil)
		}
	}
	actx := ctx
	if l.opt.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, l.opt.Timeout)
		defer cancel()
	}
	l.mu.Lock()
	l.stats.Attempts++
	l.mu.Unlock()
	u, err := attempt(actx)
	if l.tpm != nil && err == nil && u.TotalTokens() > est {
		// Charge the tokens beyond the estimate to later requests.
		l.tpm.ReserveN(time.Now(), min(u.TotalTokens()-est, l.tpm.Burst()))
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			if ae.Kind == ErrRateLimited {
				l.rateLimited(ae.RetryAfter)
			}
		} else if actx.Err() != nil && ctx.Err() == nil {
			// A backend that is not HTTP-aware ran out of time.
			err = &APIError{Kind: ErrTimeout, Message: err.Error(), ctxErr: actx.Err()}
		}
	}
	return u, err
}

// rateLimited records a 429 and starts a cool-down after CooldownAfter
// consecutive ones.
func (l *LimitedBackend) rateLimited(retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.RateLimited++
	l.consecutive++
	if l.opt.CooldownAfter < 0 || l.consecutive < l.opt.CooldownAfter {
		return
	}
	d := retryAfter
	if d <= 0 {
		d = l.opt.CooldownBase << min(l.consecutive-l.opt.CooldownAfter, 30)
		if d > l.opt.CooldownMax || d <= 0 {
			d = l.opt.CooldownMax
		}
	}
	if until := time.Now().Add(d); until.After(l.pauseUntil) {
		l.pauseUntil = until
		l.stats.Cooldowns++
	}
}

// waitCooldown sleeps until the current cool-down (if any) ends.
func (l *LimitedBackend) waitCooldown(ctx context.Context) error {
	for {
		l.mu.Lock()
		d := time.Until(l.pauseUntil)
		l.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
}

// backoff returns the full-jitter delay before retry n (n ≥ 1).
func (l *LimitedBackend) backoff(n int) time.Duration {
	d := l.opt.BaseDelay << min(n-1, 30)
	if d > l.opt.MaxDelay || d <= 0 {
		d = l.opt.MaxDelay
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.rng.Int64N(int64(d) + 1))
}

func (l *LimitedBackend) fail() {
	l.mu.Lock()
	l.stats.Failed++
	l.mu.Unlock()
}

// final records a failure and sets the attempt count on err.
func (l *LimitedBackend) final(err error, attempts int) error {
	l.fail()
	var ae *APIError
	if errors.As(err, &ae) {
		c := *ae
		c.Attempts = attempts
		return &c
	}
	return err
}

// ctxError wraps a context error as an *APIError (ErrTimeout for a
// deadline, context.Canceled otherwise), mentioning the last failure.
func ctxError(err, last error) error {
	e := &APIError{Kind: ErrTimeout, ctxErr: err, Message: err.Error()}
	if errors.Is(err, context.Canceled) {
		e.Kind = context.Canceled
	}
	if last != nil {
		e.Message += " (last failure: " + last.Error() + ")"
	}
	return e
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
