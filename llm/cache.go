package llm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ggmi-dev/ggmi/internal/groupcommit"
)

// cacheBucket holds the responses; cacheVersion is part of every key so
// that a change of the key or value format never serves stale entries.
var cacheBucket = []byte("responses")

const cacheVersion = 1

// CacheStats are the counters of a CachedBackend.
type CacheStats struct {
	Hits   int64 // answered from the cache
	Misses int64 // sent to the backend
	// Corrupt counts entries whose checksum or encoding was wrong; they
	// were refetched and overwritten.
	Corrupt int64
	// Shared counts requests that waited for an identical request in
	// flight instead of calling the backend.
	Shared int64
}

// CachedBackend is a Backend wrapped by Cached.
type CachedBackend struct {
	b  Backend
	db *bolt.DB
	id string

	mu       sync.Mutex
	stats    CacheStats
	inflight map[string]*flight

	// writes commits the answers of concurrent requests together: one
	// fsync'ed transaction per group instead of one per answer.
	writes *groupcommit.Committer[encoded]
}

// flight is a backend call that identical requests wait for.
type flight struct {
	done chan struct{}
	resp Response
	err  error
}

// Cached wraps b with a durable request/response cache in the bbolt file
// at path (created when missing). Every Generate request is keyed by the
// SHA-256 of a canonical JSON of the backend's identity, the model, the
// messages or prompt, all sampling parameters, the seed, the response
// format and the sample index. A response is committed to disk (fsync'ed
// transaction) before it is returned, so a run killed at any point loses no paid answer; an identical later
// request, in this or another process, is served from the file without
// calling b. Entries carry a checksum; a corrupted one is refetched and
// overwritten. Embed is not cached. Identical requests in flight at the
// same time share one backend call. Answers that arrive while a commit
// runs are committed together in the next transaction (group commit), so
// many requests in flight do not queue for one fsync each. Close the
// CachedBackend to release the file.
func Cached(b Backend, path string) (*CachedBackend, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("llm: open cache %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(cacheBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("llm: init cache %s: %w", path, err)
	}
	c := &CachedBackend{b: b, db: db, id: BackendIdentity(b), inflight: map[string]*flight{}}
	c.writes = groupcommit.New(c.putTx)
	return c, nil
}

// BackendIdentity names a backend for cache keys: its Identity() when it
// has one, else its type and models.
func BackendIdentity(b Backend) string {
	if i, ok := b.(interface{ Identity() string }); ok {
		return i.Identity()
	}
	return fmt.Sprintf("%T:%s", b, strings.Join(b.Models(), ","))
}

// Identity returns the wrapped backend's identity.
func (c *CachedBackend) Identity() string { return c.id }

// Models implements Backend.
func (c *CachedBackend) Models() []string { return c.b.Models() }

// Unwrap returns the wrapped backend.
func (c *CachedBackend) Unwrap() Backend { return c.b }

// Close closes the cache file (not the wrapped backend).
func (c *CachedBackend) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("llm: close cache: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (c *CachedBackend) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Embed implements Backend by calling the wrapped backend (not cached).
func (c *CachedBackend) Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error) {
	return c.b.Embed(ctx, req)
}

// cacheKeyDoc is the canonical form of a request: fixed field order, no
// callback, optional fields normalised.
type cacheKeyDoc struct {
	V           int             `json:"v"`
	Backend     string          `json:"backend"`
	Model       string          `json:"model"`
	Messages    []Message       `json:"messages"`
	Prompt      string          `json:"prompt"`
	N           int             `json:"n"`
	Seed        *uint64         `json:"seed"`
	Temperature float64         `json:"temperature"`
	TopP        float64         `json:"top_p"`
	MaxTokens   int             `json:"max_tokens"`
	Stop        []string        `json:"stop"`
	IgnoreEOS   bool            `json:"ignore_eos"`
	LogProbs    bool            `json:"logprobs"`
	TopLogProbs int             `json:"top_logprobs"`
	Sample      int             `json:"sample"`
	Format      *cacheFormatDoc `json:"response_format"`
}

// cacheFormatDoc is the canonical form of a ResponseFormat.
type cacheFormatDoc struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict"`
}

// CacheKey returns the hex SHA-256 key under which Cached stores req on a
// backend of the given identity.
func CacheKey(identity string, req Request) (string, error) {
	d := cacheKeyDoc{
		V: cacheVersion, Backend: identity, Model: req.Model, Messages: req.Messages, N: max(req.N, 1),
		Seed: req.Seed, Temperature: req.Temperature, TopP: req.TopP, MaxTokens: req.MaxTokens,
		Stop: req.Stop, IgnoreEOS: req.IgnoreEOS, LogProbs: req.LogProbs || req.TopLogProbs > 0,
		TopLogProbs: req.TopLogProbs, Sample: req.Sample,
	}
	if len(req.Messages) == 0 {
		d.Messages = nil
		d.Prompt = req.Prompt
	}
	if d.TopP >= 1 {
		d.TopP = 0
	}
	if len(d.Stop) > 0 {
		d.Stop = append([]string(nil), d.Stop...)
		sort.Strings(d.Stop)
	}
	if f := req.Format; f != nil && f.Type != "" && f.Type != FormatText {
		d.Format = &cacheFormatDoc{Type: f.Type, Name: f.Name, Strict: f.Strict}
		if len(f.Schema) > 0 {
			s, err := compactSchema(f.Schema)
			if err != nil {
				return "", err
			}
			d.Format.Schema = s
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("llm: cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// compactSchemas memoises compactSchema: every request of a run carries
// the same few schemas.
var compactSchemas = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

// compactSchema returns schema without insignificant white space.
func compactSchema(schema []byte) ([]byte, error) {
	compactSchemas.Lock()
	c, ok := compactSchemas.m[string(schema)]
	compactSchemas.Unlock()
	if ok {
		return c, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, schema); err != nil {
		return nil, fmt.Errorf("llm: cache key: %w: response format schema: %v", ErrInvalidRequest, err)
	}
	compactSchemas.Lock()
	if len(compactSchemas.m) < 64 {
		compactSchemas.m[string(schema)] = buf.Bytes()
	}
	compactSchemas.Unlock()
	return buf.Bytes(), nil
}

// cacheKeyCtx carries, in the context of a request that the cache passes
// on to its backend, the request's cache key.
type cacheKeyCtx struct{}

// CacheKeyFrom returns the cache key of the request a CachedBackend is
// fetching, when ctx is the context it passed to its backend.
func CacheKeyFrom(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(cacheKeyCtx{}).(string)
	return k, ok
}

// errCorrupt marks an entry that failed its checksum or decoding.
var errCorrupt = errors.New("corrupted cache entry")

// encodeEntry serialises resp with a leading SHA-256 of the payload.
func encodeEntry(resp Response) ([]byte, error) {
	p, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(p)
	return append(sum[:], p...), nil
}

// decodeEntry checks and decodes an entry.
func decodeEntry(v []byte) (Response, error) {
	if len(v) < sha256.Size {
		return Response{}, errCorrupt
	}
	sum := sha256.Sum256(v[sha256.Size:])
	if !bytes.Equal(sum[:], v[:sha256.Size]) {
		return Response{}, errCorrupt
	}
	var r Response
	if err := json.Unmarshal(v[sha256.Size:], &r); err != nil {
		return Response{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return r, nil
}

// lookup returns the stored response of key (found false when absent or
// corrupt).
func (c *CachedBackend) lookup(key []byte) (Response, bool, error) {
	var (
		resp  Response
		found bool
		bad   bool
	)
	err := c.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(cacheBucket)
		if bk == nil {
			return nil
		}
		v := bk.Get(key)
		if v == nil {
			return nil
		}
		r, err := decodeEntry(v) // copies out of the mmap
		if err != nil {
			bad = true
			return nil
		}
		resp, found = r, true
		return nil
	})
	if err != nil {
		return Response{}, false, fmt.Errorf("llm: cache read: %w", err)
	}
	if bad {
		c.mu.Lock()
		c.stats.Corrupt++
		c.mu.Unlock()
	}
	return resp, found, nil
}

// Generate implements Backend: from the cache when present, else from the
// backend, stored before it is returned. With OnDelta set, a cached
// answer is replayed as one delta per choice.
func (c *CachedBackend) Generate(ctx context.Context, req Request) (Response, error) {
	k, err := CacheKey(c.id, req)
	if err != nil {
		return Response{}, err
	}
	key := []byte(k)
	for {
		resp, ok, err := c.lookup(key)
		if err != nil {
			return Response{}, err
		}
		if ok {
			c.mu.Lock()
			c.stats.Hits++
			c.mu.Unlock()
			if err := replay(req, resp); err != nil {
				return Response{}, err
			}
			return resp, nil
		}
		c.mu.Lock()
		f := c.inflight[k]
		if f == nil {
			f = &flight{done: make(chan struct{})}
			c.inflight[k] = f
			c.stats.Misses++
			c.mu.Unlock()
			f.resp, f.err = c.fetch(context.WithValue(ctx, cacheKeyCtx{}, k), key, req)
			c.mu.Lock()
			delete(c.inflight, k)
			c.mu.Unlock()
			close(f.done)
			return f.resp, f.err
		}
		c.stats.Shared++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Response{}, fmt.Errorf("llm: cache: waiting for an identical request: %w", ctx.Err())
		}
		if f.err == nil {
			if err := replay(req, f.resp); err != nil {
				return Response{}, err
			}
			return f.resp, nil
		}
		// The other request failed (perhaps from its own context): try
		// again, from the cache or the backend.
		if ctx.Err() != nil {
			return Response{}, fmt.Errorf("llm: cache: %w", ctx.Err())
		}
	}
}

// fetch calls the backend and commits its answer.
func (c *CachedBackend) fetch(ctx context.Context, key []byte, req Request) (Response, error) {
	resp, err := c.b.Generate(ctx, req)
	if err != nil {
		return Response{}, err
	}
	v, err := encodeEntry(resp)
	if err != nil {
		return Response{}, fmt.Errorf("llm: cache encode: %w", err)
	}
	if err := c.writes.Commit(encoded{key, v}); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// replay delivers a cached response through req.OnDelta.
func replay(req Request, resp Response) error {
	if req.OnDelta == nil {
		return nil
	}
	for _, ch := range resp.Choices {
		if err := req.OnDelta(Delta{Index: ch.Index, Text: ch.Text, LogProbs: ch.LogProbs, FinishReason: ch.FinishReason}); err != nil {
			return err
		}
	}
	return nil
}

// Lookup returns the stored response of req without calling the wrapped
// backend: found is false when the cache holds no (intact) entry for it.
func (c *CachedBackend) Lookup(req Request) (resp Response, found bool, err error) {
	k, err := CacheKey(c.id, req)
	if err != nil {
		return Response{}, false, err
	}
	return c.lookup([]byte(k))
}

// Keyed is a response with the cache key it is stored under.
type Keyed struct {
	Key  string
	Resp Response
}

// Put stores responses under their keys (as returned by CacheKey for this
// cache's identity) in one fsync'ed transaction, as if each had been
// fetched by Generate: answers that came by another route (a provider's
// batch API) serve later identical requests.
func (c *CachedBackend) Put(entries []Keyed) error {
	if len(entries) == 0 {
		return nil
	}
	enc := make([]encoded, len(entries))
	for i, e := range entries {
		v, err := encodeEntry(e.Resp)
		if err != nil {
			return fmt.Errorf("llm: cache encode: %w", err)
		}
		enc[i] = encoded{[]byte(e.Key), v}
	}
	return c.putTx(enc)
}

// encoded is a cache entry ready to store.
type encoded struct{ key, val []byte }

// putTx stores entries in one fsync'ed transaction.
func (c *CachedBackend) putTx(entries []encoded) error {
	if err := c.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(cacheBucket)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := bk.Put(e.key, e.val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("llm: cache write: %w", err)
	}
	return nil
}

// Has reports whether the cache holds an intact entry under key.
func (c *CachedBackend) Has(key string) (bool, error) {
	_, ok, err := c.lookup([]byte(key))
	return ok, err
}
