package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// MultiOptions configure NewMulti. Zero values select the defaults.
type MultiOptions struct {
	// Backoff is how long an endpoint that failed is left alone before
	// one request probes it again (1 s when ≤ 0); every failed probe
	// doubles it, up to MaxBackoff (30 s when ≤ 0).
	Backoff, MaxBackoff time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// EndpointStats are the counters of one endpoint of a Multi backend.
type EndpointStats struct {
	// Name is the endpoint as given (its redacted base URL).
	Name string `json:"name"`
	// Requests counts the attempts sent to it; Done those it answered;
	// Failed those that failed with an error that moved the request to
	// another endpoint (connection refused or reset, 5xx, timeout, 429).
	Requests int `json:"requests"`
	Done     int `json:"done"`
	Failed   int `json:"failed"`
	// InFlight is the number of requests out now.
	InFlight int `json:"in_flight"`
	// Down tells that the endpoint is left alone until its next probe.
	Down bool `json:"down,omitempty"`
}

// Multi is a Backend over several endpoints serving the same model (for
// example several vLLM or `ggmi serve` processes). Each request goes to the
// healthy endpoint with the fewest requests in flight. An endpoint whose
// attempt fails with a connection error, a 5xx status, a timeout or an
// invalid body is marked down and left alone for a backoff (doubling up to
// MaxBackoff); a 429 pauses it for its Retry-After. The failed request
// moves at once to another endpoint within the same call, so that the work
// in flight on an endpoint that dies lands on the others; only when every
// endpoint failed it (or is down) does the call return the last error,
// for the caller's retries (llm.Limited) and its give-up rule. Once its
// backoff has passed, a down endpoint gets one request as a probe; an
// answer makes it healthy again. A request is sent to a second endpoint
// only after the first returned an error, so no answered request is sent
// twice. Multi is safe for concurrent use.
type Multi struct {
	eps []*endpoint
	opt MultiOptions
	id  string

	mu sync.Mutex
}

type endpoint struct {
	b       Backend
	name    string
	down    bool
	retryAt time.Time     // a down or paused endpoint gets no request before
	backoff time.Duration // the next down period
	probing bool          // a probe is out
	stats   EndpointStats
}

// NewMulti returns a Multi over backends, named by names (the same length,
// or nil for their identities). The cache identity is that of the first
// backend, so that a run started on one endpoint resumes on several.
func NewMulti(backends []Backend, names []string, opt MultiOptions) (*Multi, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("llm: multi backend: %w: no endpoint", ErrInvalidRequest)
	}
	if names != nil && len(names) != len(backends) {
		return nil, fmt.Errorf("llm: multi backend: %w: %d names for %d endpoints", ErrInvalidRequest, len(names), len(backends))
	}
	if opt.Backoff <= 0 {
		opt.Backoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	opt.MaxBackoff = max(opt.MaxBackoff, opt.Backoff)
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Multi{opt: opt, id: BackendIdentity(backends[0])}
	for i, b := range backends {
		name := BackendIdentity(b)
		if names != nil {
			name = names[i]
		}
		m.eps = append(m.eps, &endpoint{b: b, name: name, backoff: opt.Backoff, stats: EndpointStats{Name: name}})
	}
	return m, nil
}

// Identity names the model in cache keys: the first endpoint's identity.
func (m *Multi) Identity() string { return m.id }

// Models implements Backend (the first endpoint's models).
func (m *Multi) Models() []string { return m.eps[0].b.Models() }

// Endpoints returns the counters of every endpoint, in the order given.
func (m *Multi) Endpoints() []EndpointStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]EndpointStats, len(m.eps))
	for i, e := range m.eps {
		out[i] = e.stats
		out[i].Down = e.down
	}
	return out
}

// Backends returns the endpoints' backends, in the order given.
func (m *Multi) Backends() []Backend {
	out := make([]Backend, len(m.eps))
	for i, e := range m.eps {
		out[i] = e.b
	}
	return out
}

// pick chooses the endpoint for an attempt among those not yet tried by
// this request: a down endpoint whose backoff is over and that has no
// probe out (the attempt is its probe), else the healthy one with the
// fewest requests in flight (then the fewest sent). It returns -1 when
// none may be used now.
func (m *Multi) pick(tried []bool) (i int, probe bool) {
	now := m.opt.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	best := -1
	for i, e := range m.eps {
		if !tried[i] && e.down && !e.probing && !now.Before(e.retryAt) {
			e.probing = true
			best, probe = i, true
			break
		}
	}
	if best < 0 {
		for i, e := range m.eps {
			if tried[i] || e.down || now.Before(e.retryAt) {
				continue
			}
			if best < 0 || e.stats.InFlight < m.eps[best].stats.InFlight ||
				e.stats.InFlight == m.eps[best].stats.InFlight && e.stats.Requests < m.eps[best].stats.Requests {
				best = i
			}
		}
	}
	if best >= 0 {
		e := m.eps[best]
		e.stats.InFlight++
		e.stats.Requests++
	}
	return best, probe
}

// endpointFailure tells how an attempt's error speaks about its endpoint:
// down (dead or broken), throttled (a 429: busy, not dead), or neither (an
// error of the request itself, or the caller's cancellation).
func endpointFailure(ctx context.Context, err error) (down, throttled bool, retryAfter time.Duration) {
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return false, false, 0
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return errors.Is(err, context.DeadlineExceeded), false, 0
	}
	switch ae.Kind {
	case ErrRateLimited:
		return false, true, ae.RetryAfter
	case ErrServer, ErrTimeout, ErrConnection, ErrBadResponse:
		return true, false, 0
	}
	return false, false, 0
}

// done settles an attempt on endpoint i (probe: the attempt was its
// probe).
func (m *Multi) done(i int, probe, down, throttled bool, retryAfter time.Duration, ok bool) {
	now := m.opt.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.eps[i]
	e.stats.InFlight--
	if probe {
		e.probing = false
	}
	switch {
	case ok:
		e.stats.Done++
		if e.down {
			e.down, e.backoff = false, m.opt.Backoff
		}
	case down:
		e.stats.Failed++
		switch {
		case probe:
			e.backoff = min(2*e.backoff, m.opt.MaxBackoff)
			e.retryAt = now.Add(e.backoff)
		case !e.down:
			e.down = true
			e.retryAt = now.Add(e.backoff)
		}
	case throttled:
		e.stats.Failed++
		if retryAfter <= 0 {
			retryAfter = m.opt.Backoff
		}
		if t := now.Add(min(retryAfter, m.opt.MaxBackoff)); t.After(e.retryAt) {
			e.retryAt = t
		}
	}
}

// allDown is the error of a request for which no endpoint may be used now.
type allDown struct {
	n    int
	last error
}

func (e *allDown) Error() string {
	if e.last == nil {
		return fmt.Sprintf("llm: all %d endpoints are down or busy", e.n)
	}
	return fmt.Sprintf("llm: all %d endpoints failed or are down: %v", e.n, e.last)
}

func (e *allDown) Unwrap() error { return e.last }

// Generate implements Backend: it sends req to one endpoint after another
// until one answers, an error says nothing about the endpoint, or none is
// left.
func (m *Multi) Generate(ctx context.Context, req Request) (Response, error) {
	var resp Response
	err := m.each(ctx, func(b Backend) error {
		var err error
		resp, err = b.Generate(ctx, req)
		return err
	})
	return resp, err
}

// Embed implements Backend like Generate.
func (m *Multi) Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error) {
	var resp EmbedResponse
	err := m.each(ctx, func(b Backend) error {
		var err error
		resp, err = b.Embed(ctx, req)
		return err
	})
	return resp, err
}

// each runs attempt on the endpoints in pick order.
func (m *Multi) each(ctx context.Context, attempt func(Backend) error) error {
	tried := make([]bool, len(m.eps))
	var last error
	for {
		i, probe := m.pick(tried)
		if i < 0 {
			if last == nil {
				// Every endpoint is down or paused: fail now, as a
				// connection error, for the caller's retry rule.
				return &APIError{Kind: ErrConnection, Message: (&allDown{n: len(m.eps)}).Error()}
			}
			return &allDown{n: len(m.eps), last: last}
		}
		tried[i] = true
		err := attempt(m.eps[i].b)
		down, throttled, ra := endpointFailure(ctx, err)
		m.done(i, probe, down, throttled, ra, err == nil)
		if err == nil {
			return nil
		}
		if !down && !throttled || ctx.Err() != nil {
			return err
		}
		last = err
	}
}

// OpenEndpoints puts first (the backend opened from spec, a remote
// endpoint) and one OpenAI client per further base URL of the same model
// behind one Multi, each endpoint named by its redacted base URL. A base
// URL given twice (spec's included) is an error.
func OpenEndpoints(first Backend, spec ModelSpec, baseURLs []string, opt OpenOptions) (*Multi, error) {
	if spec.Kind != SpecRemote {
		return nil, fmt.Errorf("several endpoints need an http(s)://HOST/v1#MODEL model, not %s", spec.Kind)
	}
	bs := []Backend{first}
	names := []string{RedactURL(spec.BaseURL)}
	seen := map[string]bool{strings.TrimRight(spec.BaseURL, "/"): true}
	for _, u := range baseURLs {
		u = strings.TrimSpace(u)
		k := strings.TrimRight(u, "/")
		if seen[k] {
			return nil, fmt.Errorf("base URL %s is given twice (the model's endpoint counted)", RedactURL(u))
		}
		seen[k] = true
		b, err := NewOpenAI(OpenAIOptions{BaseURL: u, Model: spec.Model, APIKeyEnv: opt.APIKeyEnv, Mode: opt.Mode})
		if err != nil {
			return nil, err
		}
		bs = append(bs, b)
		names = append(names, b.BaseURL())
	}
	return NewMulti(bs, names, MultiOptions{})
}
