package embed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/ggmi-dev/ggmi/internal/atomicfile"
)

// Cached is a disk-cache decorator: each batch's embeddings are stored in
// Dir/<sha256(ID, texts)>.emb, written atomically (temporary file + rename).
// A corrupt or truncated file is treated as a miss and rewritten.
type Cached struct {
	Inner Embedder
	Dir   string
}

// ID implements Embedder (the inner embedder's ID).
func (c Cached) ID() string { return c.Inner.ID() }

// Key returns the cache key of a batch.
func Key(id string, texts []string) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(id)))
	h.Write(b[:])
	h.Write([]byte(id))
	for _, t := range texts {
		binary.LittleEndian.PutUint64(b[:], uint64(len(t)))
		h.Write(b[:])
		h.Write([]byte(t))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Embed implements Embedder.
func (c Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.Inner == nil {
		return nil, errors.New("embed: cache without an inner embedder")
	}
	if len(texts) == 0 {
		return nil, ErrEmpty
	}
	path := filepath.Join(c.Dir, Key(c.Inner.ID(), texts)+".emb")
	if v, err := readEmb(path, len(texts)); err == nil {
		return v, nil
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errCorrupt) {
		return nil, fmt.Errorf("embed: cache: %w", err)
	}
	v, err := c.Inner.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(v) != len(texts) {
		return nil, fmt.Errorf("embed: cache: %s returned %d vectors for %d texts", c.Inner.ID(), len(v), len(texts))
	}
	if err := checkFinite32(v); err != nil {
		return nil, fmt.Errorf("embed: cache: %s: %w", c.Inner.ID(), err)
	}
	if err := writeEmb(c.Dir, path, v); err != nil {
		return nil, fmt.Errorf("embed: cache: %w", err)
	}
	return v, nil
}

var errCorrupt = errors.New("corrupt cache file")

func readEmb(path string, n int) ([][]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, errCorrupt
	}
	rn := int(binary.LittleEndian.Uint32(b))
	d := int(binary.LittleEndian.Uint32(b[4:]))
	if rn != n || len(b) != 8+4*rn*d {
		return nil, errCorrupt
	}
	out := make([][]float32, rn)
	p := 8
	for i := range out {
		out[i] = make([]float32, d)
		for j := range d {
			out[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[p:]))
			p += 4
		}
	}
	return out, nil
}

func writeEmb(dir, path string, v [][]float32) error {
	d := 0
	if len(v) > 0 {
		d = len(v[0])
	}
	buf := make([]byte, 8, 8+4*len(v)*d)
	binary.LittleEndian.PutUint32(buf, uint32(len(v)))
	binary.LittleEndian.PutUint32(buf[4:], uint32(d))
	for i, r := range v {
		if len(r) != d {
			return fmt.Errorf("vector %d has length %d, want %d", i, len(r), d)
		}
		for _, x := range r {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf, false)
}
