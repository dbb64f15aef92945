package llm_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ggmi-dev/ggmi/llm"
)

// TestCacheLookup: Lookup answers from the file only, never from the
// backend, and sees what Generate stored, in this or a later process.
func TestCacheLookup(t *testing.T) {
	f := &fakeBackend{}
	path := filepath.Join(t.TempDir(), "cache.db")
	c, err := llm.Cached(f, path)
	if err != nil {
		t.Fatal(err)
	}
	req := llm.Request{Prompt: "p", Seed: u64(3), MaxTokens: 5}
	if _, ok, err := c.Lookup(req); ok || err != nil {
		t.Fatalf("lookup before any request: found %v, err %v", ok, err)
	}
	want, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = openCache(t, f, path)
	got, ok, err := c.Lookup(req)
	if !ok || err != nil || got.Choices[0].Text != want.Choices[0].Text {
		t.Fatalf("lookup after a restart: %+v, found %v, err %v", got, ok, err)
	}
	other := req
	other.Sample = 1
	if _, ok, _ := c.Lookup(other); ok {
		t.Error("another sample index found the same entry")
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d backend calls, want 1 (Lookup never calls the backend)", f.calls.Load())
	}
}
