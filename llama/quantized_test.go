package llama

import (
	"math"
	"os"
	"path/filepath"
	"slices"
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
