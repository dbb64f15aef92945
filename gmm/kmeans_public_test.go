package gmm

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// KMeans recovers well-separated groups exactly (up to label names), for
// several seeds and worker counts, and refuses bad input with a sentence.
func TestKMeansPublic(t *testing.T) {
	rng := rngFor(21)
	const d = 3
	var x []float64
	var truth []int
	for g, size := range []int{40, 25, 60} {
		for range size {
			for j := range d {
				x = append(x, 50*float64(g)*float64(j+1)+rng.NormFloat64())
			}
			truth = append(truth, g)
		}
	}
	for _, workers := range []int{1, 2} {
		for seed := range uint64(4) {
			labels, err := KMeans(context.Background(), x, d, 3, seed, workers)
			if err != nil {
				t.Fatal(err)
			}
			// Same partition: a bijection between labels and groups.
			m := map[int]int{}
			for i, l := range labels {
				if g, ok := m[l]; ok && g != truth[i] {
					t.Fatalf("workers %d seed %d: point %d joins group %d's cluster", workers, seed, i, g)
				}
				m[l] = truth[i]
			}
			if len(m) != 3 {
				t.Fatalf("workers %d seed %d: %d clusters", workers, seed, len(m))
			}
		}
	}
	a, _ := KMeans(context.Background(), x, d, 3, 9, 1)
	b, _ := KMeans(context.Background(), x, d, 3, 9, 2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the result depends on the number of workers")
		}
	}
	for _, c := range []struct {
		x    []float64
		d, k int
		want string
	}{
		{[]float64{1, 2, 3}, 2, 1, "d ≥ 1"},
		{nil, 1, 1, "d ≥ 1"},
		{[]float64{1, 2}, 1, 3, "1 ≤ k ≤ n"},
		{[]float64{1, 2}, 1, 0, "1 ≤ k ≤ n"},
		{[]float64{1, math.NaN()}, 1, 1, "value 1 of point 2 is NaN"},
	} {
		if _, err := KMeans(context.Background(), c.x, c.d, c.k, 0, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("KMeans(%v, d=%d, k=%d): %v, want an error with %q", c.x, c.d, c.k, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := KMeans(ctx, x, d, 3, 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
