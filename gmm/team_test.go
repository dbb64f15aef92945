package gmm

import (
	"sync/atomic"
	"testing"
	"time"
)

// Every block of every loop runs exactly once, whether the helpers are
// spinning or parked between loops, and close stops them.
func TestTeam(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		tm := newTeam(workers)
		for loop := range 200 {
			blocks := loop % 13
			counts := make([]atomic.Int32, blocks)
			tm.run(blocks, loop%5 != 0, func(b int) { counts[b].Add(1) })
			for b := range counts {
				if c := counts[b].Load(); c != 1 {
					t.Fatalf("workers=%d loop %d: block %d ran %d times", workers, loop, b, c)
				}
			}
			if loop%50 == 49 {
				time.Sleep(2 * teamSpin) // let the helpers park
			}
		}
		tm.close()
	}
	var nilTeam *team
	ran := 0
	nilTeam.run(3, true, func(int) { ran++ })
	nilTeam.close()
	if ran != 3 {
		t.Fatalf("nil team ran %d blocks, want 3", ran)
	}
}
