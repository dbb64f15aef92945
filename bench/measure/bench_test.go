package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
	"github.com/ggmi-dev/ggmi/embed"
	"github.com/ggmi-dev/ggmi/measure"
)

func gsm8k(b *testing.B) []string {
	b.Helper()
	q, _, err := loadGSM8K(filepath.Join("..", "..", "..", "shared", "data", "gsm8k", "train.jsonl"))
	if err != nil {
		b.Skipf("GSM8K beside the repository is absent: %v", err)
	}
	return q
}

func gaussRows(n, d int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
		}
	}
	return x
}

// Exact biased HSIC, Gaussian kernels with the median heuristic, n = 5,000
// pairs of 100-dimensional rows.
func BenchmarkHSICExact5000(b *testing.B) {
	x, y := gaussRows(5000, 100, 1), gaussRows(5000, 100, 2)
	for b.Loop() {
		if _, err := measure.HSIC(x, y, measure.HSICOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// Vendi score of 5,000 rows of 100 dimensions.
func BenchmarkVendi5000(b *testing.B) {
	x := gaussRows(5000, 100, 3)
	for b.Loop() {
		if _, err := measure.Vendi(x); err != nil {
			b.Fatal(err)
		}
	}
}

// The 100,000-record suite of `go run ./bench/measure suite`: LSA, HSIC by
// random features against 10,000 train records, Vendi, n-gram diversity,
// self-repetition and compression ratio, each with its interval.
func BenchmarkSuite100k(b *testing.B) {
	q := gsm8k(b)
	texts, train := Perturbed(q, 100000, 1), Perturbed(q, 10000, 2)
	recs := make([]dataset.Record, len(texts))
	for i, s := range texts {
		recs[i] = dataset.Record{ID: strconv.Itoa(i), Instruction: s}
	}
	tr := make([]dataset.Record, len(train))
	for i, s := range train {
		tr[i] = dataset.Record{ID: "t" + strconv.Itoa(i), Instruction: s}
	}
	for b.Loop() {
		rep, err := measure.Run(context.Background(), measure.Suite{Data: recs, Train: tr, Embedder: embed.LSA{Seed: 1},
			Metrics: "hsic-rff,vendi,ngram,self-rep,compression", Pairing: measure.PairSubsample, Seed: 1})
		if err != nil || len(rep.Errors) > 0 {
			b.Fatal(err, rep.Errors)
		}
	}
}
