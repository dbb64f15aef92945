package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ggmi-dev/ggmi/llm"
)

func openCache(t testing.TB, b llm.Backend, path string) *llm.CachedBackend {
	t.Helper()
	c, err := llm.Cached(b, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCacheHitsAndKeys: an identical request is served from the cache;
// any change of a parameter, the seed, the sample index or the schema is
// a different entry.
func TestCacheHitsAndKeys(t *testing.T) {
	f := &fakeBackend{usage: llm.Usage{PromptTokens: 3, CompletionTokens: 4}}
	c := openCache(t, f, filepath.Join(t.TempDir(), "cache.db"))
	base := llm.Request{Prompt: "p", Seed: u64(1), Temperature: 0.7, MaxTokens: 5, N: 2, Stop: []string{"b", "a"}}
	bg := context.Background()
	first, err := c.Generate(bg, base)
	if err != nil {
		t.Fatal(err)
	}
	same := base
	same.Stop = []string{"a", "b"} // order of stop strings does not matter
	again, err := c.Generate(bg, same)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) || f.calls.Load() != 1 {
		t.Fatalf("second identical request: %d backend calls, equal=%v", f.calls.Load(), reflect.DeepEqual(first, again))
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 1 {
		t.Errorf("stats %+v", st)
	}
	variants := []struct {
		name string
		ctx  context.Context
		edit func(*llm.Request)
	}{
		{"seed", bg, func(r *llm.Request) { r.Seed = u64(2) }},
		{"no seed", bg, func(r *llm.Request) { r.Seed = nil }},
		{"temperature", bg, func(r *llm.Request) { r.Temperature = 0.8 }},
		{"n", bg, func(r *llm.Request) { r.N = 3 }},
		{"max tokens", bg, func(r *llm.Request) { r.MaxTokens = 6 }},
		{"prompt", bg, func(r *llm.Request) { r.Prompt = "q" }},
		{"messages", bg, func(r *llm.Request) { r.Messages = []llm.Message{{Role: "user", Content: "p"}} }},
		{"model", bg, func(r *llm.Request) { r.Model = "other" }},
		{"logprobs", bg, func(r *llm.Request) { r.LogProbs = true }},
		{"sample index", bg, func(r *llm.Request) { r.Sample = 1 }},
		{"schema", bg, func(r *llm.Request) {
			r.Format = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object"}`)}
		}},
		{"response format", bg, func(r *llm.Request) { r.Format = &llm.ResponseFormat{Type: llm.FormatJSONObject} }},
	}
	for i, v := range variants {
		r := base
		v.edit(&r)
		if _, err := c.Generate(v.ctx, r); err != nil {
			t.Fatal(err)
		}
		if got := f.calls.Load(); got != int64(i+2) {
			t.Errorf("%s: served from the cache (%d calls)", v.name, got)
		}
	}
	// Whitespace in the schema does not matter.
	spaced := base
	spaced.Format = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{ "type" : "object" }`)}
	n := f.calls.Load()
	if _, err := c.Generate(bg, spaced); err != nil || f.calls.Load() != n {
		t.Errorf("equivalent schema missed the cache: %v", err)
	}
	// Errors are not cached.
	f.err = errors.New("boom")
	r := base
	r.Prompt = "fails"
	for range 2 {
		if _, err := c.Generate(bg, r); err == nil {
			t.Fatal("no error")
		}
	}
	if got := f.calls.Load(); got != n+2 {
		t.Errorf("%d calls after two failures, want %d", got, n+2)
	}
}

// TestCacheConcurrent: many goroutines asking the same few requests make
// exactly one backend call per distinct request.
func TestCacheConcurrent(t *testing.T) {
	f := &fakeBackend{delay: 20 * 1e6}
	c := openCache(t, f, filepath.Join(t.TempDir(), "cache.db"))
	var wg sync.WaitGroup
	texts := make([][]string, 4)
	var mu sync.Mutex
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := g % 4
			resp, err := c.Generate(context.Background(), llm.Request{Prompt: fmt.Sprint(k), Seed: u64(uint64(k))})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			texts[k] = append(texts[k], resp.Choices[0].Text)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got := f.calls.Load(); got != 4 {
		t.Errorf("%d backend calls, want 4", got)
	}
	for k, ts := range texts {
		for _, s := range ts {
			if s != ts[0] {
				t.Errorf("request %d: answers differ: %q vs %q", k, s, ts[0])
			}
		}
	}
	if st := c.Stats(); st.Misses != 4 || st.Hits+st.Shared != 60 {
		t.Errorf("stats %+v", st)
	}
}

// TestCacheKillSafety runs a child process that stores answers and is
// killed (SIGKILL, no Close), then reopens the file: every answer the
// child received is served without calling the backend.
func TestCacheKillSafety(t *testing.T) {
	if path := os.Getenv("GGMI_CACHE_CHILD"); path != "" {
		c, err := llm.Cached(&fakeBackend{}, path)
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(3)
		}
		for i := range 20 {
			if _, err := c.Generate(context.Background(), llm.Request{Prompt: fmt.Sprint(i)}); err != nil {
				fmt.Println("child:", err)
				os.Exit(3)
			}
			fmt.Println("done", i) // printed only after the answer was returned
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	path := filepath.Join(t.TempDir(), "cache.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCacheKillSafety$")
	cmd.Env = append(os.Environ(), "GGMI_CACHE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	f := &fakeBackend{err: errors.New("backend must not be called")}
	c := openCache(t, f, path)
	for i := range 20 {
		resp, err := c.Generate(context.Background(), llm.Request{Prompt: fmt.Sprint(i)})
		if err != nil {
			t.Fatalf("request %d after the kill: %v", i, err)
		}
		if want := fmt.Sprintf("%d||0|0|0", i); resp.Choices[0].Text != want {
			t.Errorf("request %d: %q, want %q", i, resp.Choices[0].Text, want)
		}
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d backend calls", f.calls.Load())
	}
}

// TestCacheCorruption damages stored entries in several ways: each is
// detected, refetched, overwritten and then served again.
func TestCacheCorruption(t *testing.T) {
	cases := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped payload byte", func(v []byte) []byte { v[len(v)-3] ^= 0x20; return v }},
		{"flipped checksum byte", func(v []byte) []byte { v[0] ^= 1; return v }},
		{"truncated", func(v []byte) []byte { return v[:10] }},
		{"empty", func([]byte) []byte { return []byte{} }},
		{"valid checksum, invalid JSON", func([]byte) []byte {
			// sha256("{") followed by "{": passes the checksum, fails decoding.
			return append([]byte("\x02\x1f\xb5\x96\xdb\x81\xe6\xd0\x2b\xf3\xd2\x58\x6e\xe3\x98\x1f\xe5\x19\xf2\x75\xc0\xac\x9c\xa7\x6b\xbc\xf2\xeb\xb4\x09\x7d\x96"), '{')
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.db")
			f := &fakeBackend{}
			req := llm.Request{Prompt: "x", Seed: u64(9)}
			c, err := llm.Cached(f, path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			damageAll(t, path, tc.damage)
			c = openCache(t, f, path)
			for i := range 2 {
				got, err := c.Generate(context.Background(), req)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("read %d: %+v, %v", i, got, err)
				}
			}
			if f.calls.Load() != 2 {
				t.Errorf("%d backend calls, want 2 (first, refetch)", f.calls.Load())
			}
			if st := c.Stats(); st.Corrupt != 1 || st.Hits != 1 || st.Misses != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// damageAll rewrites every stored value with damage.
func damageAll(t *testing.T, path string, damage func([]byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		n := 0
		err := tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			kv := map[string][]byte{}
			if err := bk.ForEach(func(k, v []byte) error {
				kv[string(k)] = damage(append([]byte(nil), v...))
				return nil
			}); err != nil {
				return err
			}
			for k, v := range kv {
				n++
				if err := bk.Put([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && n == 0 {
			err = errors.New("no entry to damage")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCacheOverServe: the whole chain Cached(Limited(OpenAI)) over the
// built-in engine behind serve returns the engine's answer, and the second
// time without an HTTP request.
func TestCacheOverServe(t *testing.T) {
	direct, srv := builtinServer(t)
	b, err := llm.NewOpenAI(llm.OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "stories", APIKeyEnv: "GGMI_TEST_NO_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	l := llm.Limited(b, llm.LimitOptions{Concurrency: 2})
	c := openCache(t, l, filepath.Join(t.TempDir(), "cache.db"))
	req := llm.Request{Prompt: "Once upon a time", MaxTokens: 20, Seed: u64(5), Temperature: 1}
	want, err := direct.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var streamed string
		r := req
		r.OnDelta = func(d llm.Delta) error { streamed += d.Text; return nil }
		got, err := c.Generate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Text != want.Choices[0].Text || streamed != got.Choices[0].Text || got.Usage != want.Usage {
			t.Errorf("call %d: %q (streamed %q), want %q", i, got.Choices[0].Text, streamed, want.Choices[0].Text)
		}
	}
	if st := l.Stats(); st.Attempts != 1 || st.Usage != want.Usage {
		t.Errorf("limited stats %+v, want one attempt", st)
	}
}
