package progress

import (
	"sync"
	"testing"
)

type counter struct {
	mu     sync.Mutex
	starts []string
	total  int
	added  int
	dones  int
}

func (c *counter) Start(s string, n int) {
	c.mu.Lock()
	c.starts = append(c.starts, s)
	c.total = n
	c.mu.Unlock()
}
func (c *counter) Add(n int) { c.mu.Lock(); c.added += n; c.mu.Unlock() }
func (c *counter) Done()     { c.mu.Lock(); c.dones++; c.mu.Unlock() }

func TestOrNop(t *testing.T) {
	if _, ok := OrNop(nil).(Nop); !ok {
		t.Fatal("OrNop(nil) is not Nop")
	}
	c := &counter{}
	r := OrNop(c)
	r.Start("stage", 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); r.Add(1) }()
	}
	wg.Wait()
	r.Done()
	if c.total != 10 || c.added != 10 || c.dones != 1 || len(c.starts) != 1 || c.starts[0] != "stage" {
		t.Fatalf("reporter saw %+v", c)
	}
	var n Nop
	n.Start("x", 1)
	n.Add(1)
	n.Done()
}
