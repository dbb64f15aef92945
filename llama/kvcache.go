package llama

import (
	"fmt"

	"github.com/ggmi-dev/ggmi/llama/quant"
)

// The key/value cache holds, for every layer and position, the keys and
// values the attention reads: in float32 (the default) or, to halve its
// memory, in half precision (SetKVCacheType(GGMLTypeF16)). In f16 a new
// key or value is computed in float32, rounded to f16 into the cache, and
// every attention step reads the cached prefix back as float32, the
// current position included, as llama.cpp does with its f16 cache.

// SetKVCacheType sets the element type of the key/value cache of States
// created afterwards: GGMLTypeF32 (the default) or GGMLTypeF16. States
// already created keep theirs.
func (m *Model) SetKVCacheType(t GGMLType) error {
	switch t {
	case GGMLTypeF32, GGMLTypeF16:
		m.kvType = t
		return nil
	}
	return fmt.Errorf("key/value cache type %s: want f32 or f16", t)
}

// KVCacheType returns the element type of new States' key/value caches.
func (m *Model) KVCacheType() GGMLType {
	if m.kvType == GGMLTypeF16 {
		return GGMLTypeF16
	}
	return GGMLTypeF32
}

// kv16 is the half-precision cache of a State and its scratch.
type kv16 struct {
	keys, vals []uint16  // [n_layers][ctx][kv_dim]
	k, v       []float32 // [kv_dim] key and value of the current position
	kbuf, vbuf []float32 // [ctx][kv_dim] one layer's prefix read back
}

func newKV16(layers, ctx, kvd int) *kv16 {
	return &kv16{
		keys: make([]uint16, layers*ctx*kvd), vals: make([]uint16, layers*ctx*kvd),
		k: make([]float32, kvd), v: make([]float32, kvd),
		kbuf: make([]float32, ctx*kvd), vbuf: make([]float32, ctx*kvd),
	}
}

// kvSlot returns where the key and value of layer l at pos are computed:
// the f32 cache itself, or the staging rows kst and vst (f16 cache; nil:
// the State's own; kvPut then stores them).
func (s *State) kvSlot(l, pos int, kst, vst []float32) (k, v []float32) {
	kvd := s.m.Config.KVDim()
	if s.h != nil {
		if kst == nil {
			kst, vst = s.h.k, s.h.v
		}
		return kst[:kvd], vst[:kvd]
	}
	off := (l*s.ctx + pos) * kvd
	return s.keyCache[off : off+kvd], s.valueCache[off : off+kvd]
}

// kvPut rounds the staged key and value of layer l at pos into the f16
// cache (nothing to do for an f32 cache).
func (s *State) kvPut(l, pos int, k, v []float32) {
	if s.h == nil {
		return
	}
	kvd := len(k)
	off := (l*s.ctx + pos) * kvd
	putF16(s.h.keys[off:off+kvd], k)
	putF16(s.h.vals[off:off+kvd], v)
}

// kvPrefix returns the keys and values of layer l at positions [0, n) as
// float32: views of the f32 cache, or the f16 cache read into kbuf and
// vbuf (each at least n·kv_dim long; nil: the State's own).
func (s *State) kvPrefix(l, n int, kbuf, vbuf []float32) (keys, vals []float32) {
	kvd := s.m.Config.KVDim()
	off := l * s.ctx * kvd
	if s.h == nil {
		return s.keyCache[off : off+n*kvd], s.valueCache[off : off+n*kvd]
	}
	if kbuf == nil {
		kbuf, vbuf = s.h.kbuf, s.h.vbuf
	}
	keys, vals = kbuf[:n*kvd], vbuf[:n*kvd]
	getF16(keys, s.h.keys[off:off+n*kvd])
	getF16(vals, s.h.vals[off:off+n*kvd])
	return keys, vals
}

func putF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = quant.F32ToF16(v)
	}
}

func getF16(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = quant.F16ToF32(h)
	}
}
