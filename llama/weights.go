package llama

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// Inference weights. Every weight matrix the forward pass multiplies by is
// a quant.Matrix: the raw blocks of a GGUF tensor in its file encoding
// (memory-mapped where the platform allows), or a float32 view of the
// model's parameter vector for models that were built, trained or read
// from llama2.c checkpoints. Models read from GGUF files have no float32
// parameter vector until one is asked for ([Model.Dequantize], which
// training, Params and the writers call).

// infLayer holds one block's matrices and vectors (norm weights and, for
// the families that have them, norm biases and projection biases; empty
// otherwise). w3 is empty for the GELU feed-forward.
type infLayer struct {
	wq, wk, wv, wo, w1, w2, w3 quant.Matrix
	attnNorm, ffnNorm          []float32
	attnNormB, ffnNormB        []float32
	bq, bk, bv, bo, b1, b2     []float32
}

// vectors lists the layer's vectors in layoutWeights order.
func (il *infLayer) vectors() []*[]float32 {
	return []*[]float32{&il.attnNorm, &il.attnNormB, &il.bq, &il.bk, &il.bv, &il.bo,
		&il.ffnNorm, &il.ffnNormB, &il.b1, &il.b2}
}

// infWeights are the tensors the forward pass reads.
type infWeights struct {
	tokEmb     quant.Matrix // [vocab][dim]
	posEmb     []float32    // [seq_len][dim] (learned positions)
	layers     []infLayer
	finalNorm  []float32
	finalNormB []float32
	wcls       quant.Matrix // [vocab][dim]
}

// f32Matrix views x (rows×cols float32 values) as an F32 quant.Matrix
// sharing its memory (the host is little endian, as GGUF is).
func f32Matrix(x []float32, rows, cols int) quant.Matrix {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
	return quant.Matrix{Type: quant.F32, Rows: rows, Cols: cols, Data: b}
}

// viewsOf returns inference views of float32 weights.
func viewsOf(c Config, w *weights) *infWeights {
	dim, hid := c.Dim, c.HiddenDim
	qd, kvd := c.NHeads*c.HeadSize(), c.KVDim()
	iw := &infWeights{
		tokEmb:    f32Matrix(w.tokEmb, c.VocabSize, dim),
		finalNorm: w.finalNorm,
		wcls:      f32Matrix(w.wcls, c.VocabSize, dim),
		layers:    make([]infLayer, len(w.layers)),
	}
	for l := range w.layers {
		lw := &w.layers[l]
		iw.layers[l] = infLayer{
			wq: f32Matrix(lw.wq, qd, dim), wk: f32Matrix(lw.wk, kvd, dim), wv: f32Matrix(lw.wv, kvd, dim),
			wo: f32Matrix(lw.wo, dim, qd), w1: f32Matrix(lw.w1, hid, dim), w2: f32Matrix(lw.w2, dim, hid),
			attnNorm: lw.attnNorm, ffnNorm: lw.ffnNorm, attnNormB: lw.attnNormB, ffnNormB: lw.ffnNormB,
			bq: lw.bq, bk: lw.bk, bv: lw.bv, bo: lw.bo, b1: lw.b1, b2: lw.b2,
		}
		if !c.GELU {
			iw.layers[l].w3 = f32Matrix(lw.w3, hid, dim)
		}
	}
	iw.posEmb, iw.finalNormB = w.posEmb, w.finalNormB
	return iw
}

// matrices lists the weight matrices of iw in the parameter-vector order
// of layoutWeights (the classifier last, omitted when shared).
func (iw *infWeights) matrices(c Config) []*quant.Matrix {
	out := []*quant.Matrix{&iw.tokEmb}
	for l := range iw.layers {
		il := &iw.layers[l]
		out = append(out, &il.wq, &il.wk, &il.wv, &il.wo, &il.w1, &il.w2)
		if !c.GELU {
			out = append(out, &il.w3)
		}
	}
	if !c.SharedClassifier {
		out = append(out, &iw.wcls)
	}
	return out
}

// embedRow writes the embedding of token to dst.
func (iw *infWeights) embedRow(dst []float32, token int) {
	if iw.tokEmb.Type == quant.F32 {
		src := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(iw.tokEmb.Data))), len(iw.tokEmb.Data)/4)
		copy(dst, src[token*len(dst):(token+1)*len(dst)])
		return
	}
	// The row length was checked at load time.
	_ = quant.Dequantize(iw.tokEmb.Type, iw.tokEmb.Row(token), dst)
}

// quantState records whether the model's weights live only in their file
// encoding.
type quantState struct {
	mu      sync.Mutex
	mapping []byte // the memory-mapped file, when mapped
}

// WeightType returns the encoding of the model's weight matrices: the
// type of the feed-forward gate of the first block (f32 for models with a
// float32 parameter vector).
func (m *Model) WeightType() GGMLType {
	if m.inf == nil || len(m.inf.layers) == 0 {
		return GGMLTypeF32
	}
	return m.inf.layers[0].w1.Type
}

// Quantized reports whether the model computes with weights kept in their
// file encoding (no float32 parameter vector yet).
func (m *Model) Quantized() bool { return m.params == nil }

// Dequantize gives a model read from a GGUF file a float32 parameter
// vector (expanding every tensor) and switches inference to it; training,
// [Model.Params] and the writers call it. It does nothing for models that
// already have one. It must not run concurrently with inference on m.
func (m *Model) Dequantize() error {
	m.qs.mu.Lock()
	defer m.qs.mu.Unlock()
	if m.params != nil {
		return nil
	}
	c := m.Config
	params := make([]float32, c.NumParams())
	w := layoutWeights(c, params)
	src := m.inf
	dst := []*[]float32{&w.tokEmb}
	for l := range w.layers {
		lw := &w.layers[l]
		dst = append(dst, &lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2)
		if !c.GELU {
			dst = append(dst, &lw.w3)
		}
	}
	if !c.SharedClassifier {
		dst = append(dst, &w.wcls)
	}
	for i, mat := range src.matrices(c) {
		if err := mat.Dequantize(*dst[i]); err != nil {
			return fmt.Errorf("dequantize: %w", err)
		}
	}
	for l := range w.layers {
		lw := &w.layers[l]
		dv := []*[]float32{&lw.attnNorm, &lw.attnNormB, &lw.bq, &lw.bk, &lw.bv, &lw.bo,
			&lw.ffnNorm, &lw.ffnNormB, &lw.b1, &lw.b2}
		for i, sv := range src.layers[l].vectors() {
			copy(*dv[i], *sv)
		}
	}
	copy(w.posEmb, src.posEmb)
	copy(w.finalNorm, src.finalNorm)
	copy(w.finalNormB, src.finalNormB)
	m.params, m.w = params, w
	m.inf = viewsOf(c, &m.w)
	return nil
}

// mustF32 is Dequantize for callers without an error path: the only
// failure is a tensor whose size disagrees with its shape, which loading
// already rules out.
func (m *Model) mustF32() {
	if m.params == nil {
		if err := m.Dequantize(); err != nil {
			panic(err)
		}
	}
}
