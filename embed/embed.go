package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Embedder maps texts to vectors of equal length.
type Embedder interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// ID names the embedder and every setting that changes its output.
	ID() string
}

// ErrEmpty is returned when there is nothing to embed.
var ErrEmpty = errors.New("embed: no texts")

// Float64s converts float32 embeddings to float64 rows (for package measure).
func Float64s(v [][]float32) [][]float64 {
	out := make([][]float64, len(v))
	for i, r := range v {
		out[i] = make([]float64, len(r))
		for j, x := range r {
			out[i][j] = float64(x)
		}
	}
	return out
}

func checkFinite32(v [][]float32) error {
	for i, r := range v {
		for _, x := range r {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("embed: vector %d is not finite", i)
			}
		}
	}
	return nil
}
