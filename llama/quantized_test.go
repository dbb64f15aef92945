package llama

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// quantConfig has rows that are whole k-quant super-blocks.
var quantConfig = Config{Dim: 256, HiddenDim: 512, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 300, SeqLen: 32}

// TestSaveGGUFAsTypes writes a random model with each encoding, loads it
// back (memory-mapped, weights in place) and compares its logits with the
// float32 model's: the file records general.file_type, the matrices keep
// their type, and the logits differ by no more than the encoding's
// precision allows (relative to the largest |logit|).
func TestSaveGGUFAsTypes(t *testing.T) {
	m := tinyModel(t, quantConfig, 17)
	m.InitRandom(17, 0.05)
	toks := []int{1, 40, 41, 42, 100, 7}
	want := logitsAt(t, m, toks)
	spread := 0.0
	for _, v := range want {
		spread = max(spread, math.Abs(float64(v)))
	}
	dir := t.TempDir()
	for _, c := range []struct {
		typ   GGMLType
		ftype uint32
		tol   float64
	}{
		{GGMLTypeF32, 0, 0}, {GGMLTypeF16, 1, 0.002}, {GGMLTypeBF16, 32, 0.01}, {GGMLTypeQ8_0, 7, 0.04},
		{GGMLTypeQ4_0, 2, 0.35}, {GGMLTypeQ4_1, 3, 0.35}, {GGMLTypeQ5_0, 8, 0.15}, {GGMLTypeQ5_1, 9, 0.15},
		{GGMLTypeQ4_K, 14, 0.35}, {GGMLTypeQ5_K, 16, 0.15}, {GGMLTypeQ6_K, 18, 0.08},
	} {
		path := filepath.Join(dir, c.typ.String()+".gguf")
		if err := m.SaveGGUFAs(path, c.typ); err != nil {
			t.Fatal(err)
		}
		got, err := LoadGGUF(path)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if got.WeightType() != c.typ || !got.Quantized() {
			t.Errorf("%s: loaded weight type %s (quantized %v)", c.typ, got.WeightType(), got.Quantized())
		}
		hdr, err := readHeaderFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if ft, _ := toInt64(hdr.Metadata["general.file_type"]); ft != int64(c.ftype) {
			t.Errorf("%s: general.file_type %v, want %d", c.typ, hdr.Metadata["general.file_type"], c.ftype)
		}
		gl := logitsAt(t, got, toks)
		d := maxAbsDiff(gl, want)
		t.Logf("%s: max logit difference %.3g (spread %.3g)", c.typ, d, spread)
		if d > c.tol*spread {
			t.Errorf("%s: logits differ by %g (limit %g)", c.typ, d, c.tol*spread)
		}
		// Expanding to float32 computes the same function up to the
		// activation quantisation of the in-place kernels.
		if c.typ == GGMLTypeF32 || c.typ == GGMLTypeF16 {
			before := slices.Clone(gl)
			if err := got.Dequantize(); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(logitsAt(t, got, toks), before); d > 1e-4*spread {
				t.Errorf("%s: dequantised model differs by %g", c.typ, d)
			}
		}
	}
	if err := m.SaveGGUFAs(filepath.Join(dir, "x.gguf"), GGMLTypeQ8_K); err == nil {
		t.Error("SaveGGUFAs accepted q8_K weights")
	}
}

// TestThreadsDoNotChangeResults runs the same q8_0 and f32 models with 1
// and 3 threads: every output row is one kernel call whatever the split,
// so the logits are equal bit for bit.
func TestThreadsDoNotChangeResults(t *testing.T) {
	m := tinyModel(t, quantConfig, 23)
	dir := t.TempDir()
	path := filepath.Join(dir, "q8.gguf")
	if err := m.SaveGGUFAs(path, GGMLTypeQ8_0); err != nil {
		t.Fatal(err)
	}
	q, err := LoadGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	toks := []int{1, 5, 9, 200, 33}
	for _, mm := range []*Model{m, q} {
		mm.SetThreads(1)
		one := logitsAt(t, mm, toks)
		mm.SetThreads(3)
		three := logitsAt(t, mm, toks)
		mm.SetThreads(0)
		if !slices.Equal(one, three) {
			t.Errorf("%s: logits with 1 and 3 threads differ by %g", mm.WeightType(), maxAbsDiff(one, three))
		}
	}
}

func readHeaderFile(path string) (*GGUFFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ReadGGUFHeader(f, st.Size())
}

// TestQuantizedGGUFBadInput corrupts a q4_K file read through the memory
// map: a truncated file, a tensor type whose blocks do not tile the rows,
// and an unknown type each give an error naming the tensor, never a panic.
func TestQuantizedGGUFBadInput(t *testing.T) {
	m := tinyModel(t, quantConfig, 29)
	m.InitRandom(29, 0.05)
	dir := t.TempDir()
	path := filepath.Join(dir, "q4k.gguf")
	if err := m.SaveGGUFAs(path, GGMLTypeQ4_K); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ReadGGUFHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	last := g.Tensors[len(g.Tensors)-1]
	q := g.Tensors[1] // blk.0.attn_norm is f32; find a q4_K matrix
	for _, ti := range g.Tensors {
		if ti.Type == GGMLTypeQ4_K {
			q = ti
			break
		}
	}
	typOff := bytes.Index(data, []byte(q.Name)) + len(q.Name) + 4 + 8*len(q.Dims)
	setType := func(v uint32) []byte {
		b := slices.Clone(data)
		binary.LittleEndian.PutUint32(b[typOff:], v)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated", data[:len(data)-100], []string{last.Name, "beyond end of file"}},
		{"q4_K rows of 128 values", func() []byte {
			b := setType(uint32(GGMLTypeQ4_K))
			binary.LittleEndian.PutUint64(b[typOff-8*len(q.Dims):], 128)
			return b
		}(), []string{q.Name}},
		{"unknown type", setType(19), []string{q.Name, "unsupported tensor type 19"}},
	} {
		p := filepath.Join(dir, "bad.gguf")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadGGUF(p)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
	}
}

// TestLinearMatchesScalarMatmul compares the State's product on float32
// weights (the vector kernel, eight lanes) with the scalar reference loop
// matmul (one accumulator in index order): both round each product once,
// so they differ by at most (n+8)·2⁻²³·Σ|w·x| per row.
func TestLinearMatchesScalarMatmul(t *testing.T) {
	m := tinyModel(t, quantConfig, 31)
	st := m.NewStateN(4)
	lw := &m.inf.layers[0]
	x := make([]float32, quantConfig.Dim)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	got := make([]float32, quantConfig.HiddenDim)
	want := make([]float32, quantConfig.HiddenDim)
	st.linear(got, x, &lw.w1)
	matmul(want, x, m.w.layers[0].w1, quantConfig.Dim, quantConfig.HiddenDim)
	for i := range got {
		var scale float64
		for j, v := range x {
			scale += math.Abs(float64(m.w.layers[0].w1[i*quantConfig.Dim+j] * v))
		}
		if d := math.Abs(float64(got[i] - want[i])); d > float64(quantConfig.Dim+8)*0x1p-23*scale {
			t.Fatalf("row %d: %v vs %v", i, got[i], want[i])
		}
	}
}
