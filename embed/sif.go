package embed

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Vectors is a table of static word vectors in file order (rank order for
// GloVe and word2vec files, which are sorted by corpus frequency).
type Vectors struct {
	Dim   int
	Words []string
	Index map[string]int
	Vecs  [][]float32
	name  string
}

// LoadVectors reads GloVe text format ("word v1 … vd" per line) or word2vec
// text format (the same after a "count dim" header line), gzip-compressed or
// not (detected from the magic bytes). Lines whose vector length differs from
// the first line's are an error; a word seen twice keeps its first vector.
func LoadVectors(path string) (*Vectors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embed: load vectors: %w", err)
	}
	defer f.Close()
	v, err := ReadVectors(f)
	if err != nil {
		return nil, fmt.Errorf("embed: load vectors %s: %w", path, err)
	}
	return v, nil
}

// ReadVectors reads the formats of LoadVectors from r.
func ReadVectors(r io.Reader) (*Vectors, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 1<<20)
	}
	h := sha256.New()
	v := &Vectors{Index: map[string]int{}}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		h.Write(b)
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			continue
		}
		if line == 1 && len(fields) == 2 {
			if _, e1 := strconv.Atoi(fields[0]); e1 == nil {
				if _, e2 := strconv.Atoi(fields[1]); e2 == nil {
					continue // word2vec header
				}
			}
		}
		d := len(fields) - 1
		if d < 1 {
			return nil, fmt.Errorf("line %d: no vector", line)
		}
		if v.Dim == 0 {
			v.Dim = d
		} else if d != v.Dim {
			return nil, fmt.Errorf("line %d: %d values, want %d", line, d, v.Dim)
		}
		vec := make([]float32, d)
		for j := range d {
			x, err := strconv.ParseFloat(fields[j+1], 32)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("line %d: bad value %q", line, fields[j+1])
			}
			vec[j] = float32(x)
		}
		w := fields[0]
		if _, dup := v.Index[w]; dup {
			continue
		}
		v.Index[w] = len(v.Words)
		v.Words = append(v.Words, w)
		v.Vecs = append(v.Vecs, vec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, err)
	}
	if len(v.Words) == 0 {
		return nil, fmt.Errorf("no vectors")
	}
	v.name = hex.EncodeToString(h.Sum(nil))[:16]
	return v, nil
}

// ZipfProb is the rank-based Zipf estimate of a word's probability:
// 1/(r·H_V) for the word of 1-based rank r in a vocabulary of V words.
func (v *Vectors) ZipfProb(word string) float64 {
	i, ok := v.Index[word]
	if !ok {
		return 0
	}
	return 1 / (float64(i+1) * harmonic(len(v.Words)))
}

func harmonic(n int) float64 {
	var h float64
	for i := n; i >= 1; i-- {
		h += 1 / float64(i)
	}
	return h
}

// SIF embeds a text as the SIF-weighted mean of its words' static vectors,
// with the batch's first principal component removed (Arora et al. 2017).
type SIF struct {
	Vectors      *Vectors
	A            float64 // SIF parameter a; 0 means 1e-3
	FreqFromData bool    // estimate p(w) from the texts of each call instead of the Zipf rank estimate
	KeepPC       bool    // skip the removal of the first principal component
}

// ID implements Embedder.
func (s SIF) ID() string {
	a := s.A
	if a == 0 {
		a = 1e-3
	}
	name := ""
	if s.Vectors != nil {
		name = s.Vectors.name
	}
	return fmt.Sprintf("sif-v1-%s-a%g-data%t-keeppc%t", name, a, s.FreqFromData, s.KeepPC)
}

// Embed implements Embedder.
func (s SIF) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if s.Vectors == nil || s.Vectors.Dim == 0 {
		return nil, fmt.Errorf("embed: sif: no word vectors")
	}
	if len(texts) == 0 {
		return nil, ErrEmpty
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: sif: %w", err)
	}
	a := s.A
	if a == 0 {
		a = 1e-3
	}
	if a < 0 || math.IsNaN(a) {
		return nil, fmt.Errorf("embed: sif: a must be positive (got %g)", a)
	}
	toks := make([][]string, len(texts))
	counts := map[string]float64{}
	var total float64
	for i, t := range texts {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("embed: sif: %w", ctx.Err())
		}
		toks[i] = Words(t)
		for _, w := range toks[i] {
			counts[w]++
			total++
		}
	}
	prob := s.Vectors.ZipfProb
	if s.FreqFromData {
		prob = func(w string) float64 { return counts[w] / total }
	}
	d := s.Vectors.Dim
	m := mat.NewDense(len(texts), d, nil)
	for i, ws := range toks {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("embed: sif: %w", ctx.Err())
		}
		row := m.RawRowView(i)
		for _, w := range ws {
			j, ok := s.Vectors.Index[w]
			if !ok {
				continue
			}
			wt := a / (a + prob(w))
			for t, x := range s.Vectors.Vecs[j] {
				row[t] += wt * float64(x)
			}
		}
		if len(ws) > 0 {
			for t := range row {
				row[t] /= float64(len(ws))
			}
		}
	}
	if !s.KeepPC && len(texts) > 1 {
		var svd mat.SVD
		if svd.Factorize(m, mat.SVDThinV) {
			var vv mat.Dense
			svd.VTo(&vv)
			u := vv.ColView(0)
			for i := range len(texts) {
				row := m.RowView(i)
				p := mat.Dot(row, u)
				r := m.RawRowView(i)
				for t := range r {
					r[t] -= p * u.AtVec(t)
				}
			}
		}
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = make([]float32, d)
		for t, x := range m.RawRowView(i) {
			out[i][t] = float32(x)
		}
	}
	return out, nil
}
