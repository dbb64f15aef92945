package llama

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// Safetensors files: an 8-byte little-endian header length, a JSON header
// mapping tensor names to dtype, shape and [begin, end) byte offsets into
// the data that follows, then the data.

// maxSafetensorsHeader bounds the JSON header (the largest real headers
// are a few megabytes).
const maxSafetensorsHeader = 100 << 20

// SafeTensor describes one tensor of a safetensors file.
type SafeTensor struct {
	Name  string
	DType string // F32, F16 or BF16 are readable
	Shape []int64
	Begin int64 // byte offsets relative to the data section
	End   int64
}

// NumElements returns the product of the shape.
func (t SafeTensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// SafetensorsFile is the parsed header of a safetensors file.
type SafetensorsFile struct {
	Name     string // file name used in error messages
	Tensors  map[string]SafeTensor
	Metadata map[string]string

	r       io.ReaderAt
	dataOff int64
}

func dtypeSize(dt string) (int64, bool) {
	switch dt {
	case "F32", "I32", "U32":
		return 4, true
	case "F16", "BF16", "I16", "U16":
		return 2, true
	case "F64", "I64", "U64":
		return 8, true
	case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2":
		return 1, true
	}
	return 0, false
}

// ReadSafetensors parses the header of a safetensors file of size bytes
// read through r. Every tensor's dtype, shape and offsets are checked
// against each other and against the file size before anything else is
// allocated; name is used in error messages.
func ReadSafetensors(r io.ReaderAt, size int64, name string) (*SafetensorsFile, error) {
	fail := func(format string, a ...any) (*SafetensorsFile, error) {
		return nil, fmt.Errorf("safetensors %s: %s", name, fmt.Sprintf(format, a...))
	}
	if size < 8 {
		return fail("file of %d bytes is too short for a header", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return fail("read header length: %v", err)
	}
	hl := binary.LittleEndian.Uint64(lb[:])
	if hl > maxSafetensorsHeader || int64(hl) > size-8 {
		return fail("header length %d exceeds the file (%d bytes)", hl, size)
	}
	hb := make([]byte, hl)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return fail("read header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return fail("header is not a JSON object: %v", err)
	}
	f := &SafetensorsFile{Name: name, Tensors: make(map[string]SafeTensor, len(raw)), r: r, dataOff: 8 + int64(hl)}
	dataSize := size - f.dataOff
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &f.Metadata); err != nil {
				return fail("__metadata__: %v", err)
			}
			continue
		}
		var e struct {
			DType   string    `json:"dtype"`
			Shape   []int64   `json:"shape"`
			Offsets [2]*int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return fail("tensor %q: %v", k, err)
		}
		es, ok := dtypeSize(e.DType)
		if !ok {
			return fail("tensor %q: unknown dtype %q", k, e.DType)
		}
		if e.Offsets[0] == nil || e.Offsets[1] == nil {
			return fail("tensor %q: missing data_offsets", k)
		}
		b, end := *e.Offsets[0], *e.Offsets[1]
		if b < 0 || end < b || end > dataSize {
			return fail("tensor %q: data offsets [%d, %d) outside the %d data bytes", k, b, end, dataSize)
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && n > dataSize/d) {
				return fail("tensor %q: shape %v does not fit the file", k, e.Shape)
			}
			n *= d
		}
		if n*es != end-b {
			return fail("tensor %q: shape %v of %s needs %d bytes, offsets give %d", k, e.Shape, e.DType, n*es, end-b)
		}
		f.Tensors[k] = SafeTensor{Name: k, DType: e.DType, Shape: e.Shape, Begin: b, End: end}
	}
	return f, nil
}

// ReadF32 reads tensor t (F32, F16 or BF16) into dst, which must hold
// exactly its number of elements.
func (f *SafetensorsFile) ReadF32(t SafeTensor, dst []float32) error {
	n := t.NumElements()
	if int64(len(dst)) != n {
		return fmt.Errorf("safetensors %s: tensor %q has %d elements, want %d", f.Name, t.Name, n, len(dst))
	}
	es, _ := dtypeSize(t.DType)
	switch t.DType {
	case "F32", "F16", "BF16":
	default:
		return fmt.Errorf("safetensors %s: tensor %q: dtype %s is not a float type (want F32, F16 or BF16)", f.Name, t.Name, t.DType)
	}
	const chunk = 1 << 16 // elements per read
	buf := make([]byte, min(n, chunk)*es)
	for i := int64(0); i < n; i += chunk {
		m := min(chunk, n-i)
		b := buf[:m*es]
		if _, err := f.r.ReadAt(b, f.dataOff+t.Begin+i*es); err != nil {
			return fmt.Errorf("safetensors %s: read tensor %q: %w", f.Name, t.Name, err)
		}
		d := dst[i : i+m]
		switch t.DType {
		case "F32":
			for j := range d {
				d[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			}
		case "F16":
			for j := range d {
				d[j] = F16ToF32(binary.LittleEndian.Uint16(b[2*j:]))
			}
		case "BF16":
			for j := range d {
				d[j] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*j:])) << 16)
			}
		}
	}
	return nil
}

// NamedTensor is a float32 tensor with a name and a row-major shape, as
// written to safetensors files.
type NamedTensor struct {
	Name  string
	Shape []int64
	Data  []float32
}

// WriteSafetensors writes tensors as F32 in a safetensors file, sorted by
// name as the reference implementation does, with optional metadata.
func WriteSafetensors(w io.Writer, tensors []NamedTensor, meta map[string]string) error {
	ts := append([]NamedTensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	hdr := make(map[string]any, len(ts)+1)
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	var off int64
	for _, t := range ts {
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if n != int64(len(t.Data)) {
			return fmt.Errorf("write safetensors: tensor %q: shape %v for %d values", t.Name, t.Shape, len(t.Data))
		}
		if _, dup := hdr[t.Name]; dup {
			return fmt.Errorf("write safetensors: duplicate tensor %q", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		hdr[t.Name] = map[string]any{"dtype": "F32", "shape": shape, "data_offsets": []int64{off, off + 4*n}}
		off += 4 * n
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("write safetensors header: %w", err)
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(len(hb)))
	bw.Write(lb[:])
	bw.Write(hb)
	var buf []byte
	for _, t := range ts {
		for i := 0; i < len(t.Data); i += 1 << 14 {
			buf = appendF32(buf[:0], t.Data[i:min(len(t.Data), i+1<<14)])
			if _, err := bw.Write(buf); err != nil {
				return fmt.Errorf("write safetensors tensor %q: %w", t.Name, err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	return nil
}

// OpenSafetensors opens and parses the header of the safetensors file at
// path; the returned closer closes the file.
func OpenSafetensors(path string) (*SafetensorsFile, io.Closer, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := ReadSafetensors(fh, st.Size(), path)
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	return f, fh, nil
}
