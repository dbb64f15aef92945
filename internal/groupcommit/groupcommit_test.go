package groupcommit

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestEveryItemCommittedOnceBeforeReturn: 200 concurrent callers; every
// item lands in exactly one commit, each caller returns after its commit
// ended, and commits never overlap. With a commit that takes 2 ms, the
// callers share far fewer commits than there are items.
func TestEveryItemCommittedOnceBeforeReturn(t *testing.T) {
	const n = 200
	var (
		mu        sync.Mutex
		committed = map[int]int{}
		running   bool
		commits   int
	)
	c := New(func(items []int) error {
		mu.Lock()
		if running {
			t.Error("two commits at once")
		}
		running = true
		commits++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		for _, it := range items {
			committed[it]++
		}
		running = false
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Commit(i); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if committed[i] != 1 {
				t.Errorf("item %d returned after %d commits of it", i, committed[i])
			}
		}()
	}
	wg.Wait()
	if len(committed) != n {
		t.Fatalf("%d items committed, want %d", len(committed), n)
	}
	if commits >= n/2 {
		t.Errorf("%d commits for %d concurrent items: no grouping", commits, n)
	}
	t.Logf("%d items in %d commits", n, commits)
}

// TestErrorReachesTheGroup: a failing commit returns its error to every
// caller of its group, and later commits work again.
func TestErrorReachesTheGroup(t *testing.T) {
	boom := errors.New("disk full")
	fail := true
	c := New(func(items []string) error {
		if fail {
			return boom
		}
		return nil
	})
	if err := c.Commit("a"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	fail = false
	if err := c.Commit("b"); err != nil {
		t.Fatal(err)
	}
}
