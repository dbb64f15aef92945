package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Header is what a model file says about itself without its weights: the
// format and the shape.
type Header struct {
	// Format is "gguf", "llama2c" or "hf" (a Hugging Face folder).
	Format string
	// Config holds the shape: Dim, HiddenDim, NLayers, NHeads, NKVHeads,
	// VocabSize and SeqLen (the other fields are left zero for GGUF).
	Config Config
	// Bytes is the size of the weight file(s) on disk.
	Bytes int64
}

// ReadHeader reads the header of the model at path (a GGUF file, a
// llama2.c checkpoint or a Hugging Face folder) and checks that it
// describes a model this package can load, reading a few kilobytes
// instead of the weights. It is meant for checking a configuration before
// any work starts; [Load] still checks every tensor.
func ReadHeader(path string) (Header, error) {
	if IsHFFolder(path) {
		data, err := os.ReadFile(filepath.Join(path, "config.json"))
		if err != nil {
			return Header{}, err
		}
		c, err := ParseHFConfig(data)
		if err != nil {
			return Header{}, fmt.Errorf("%s: %w", filepath.Join(path, "config.json"), err)
		}
		files, err := hfWeightFiles(path)
		if err != nil {
			return Header{}, err
		}
		var n int64
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				return Header{}, err
			}
			n += st.Size()
		}
		return Header{Format: "hf", Config: c, Bytes: n}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Header{}, err
	}
	if st.IsDir() {
		return Header{}, fmt.Errorf("%s is a directory without config.json, not a model", path)
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil && err != io.EOF {
		return Header{}, err
	}
	if bytes.Equal(magic[:], []byte("GGUF")) {
		g, err := ReadGGUFHeader(f, st.Size())
		if err != nil {
			return Header{}, fmt.Errorf("not a readable GGUF file: %w", err)
		}
		arch, err := g.ggufArch()
		if err != nil {
			return Header{}, err
		}
		c, err := g.ggufConfig(arch)
		if err != nil {
			return Header{}, err
		}
		return Header{Format: "gguf", Config: c, Bytes: st.Size()}, nil
	}
	c, err := llama2cHeader(f, st.Size())
	if err != nil {
		return Header{}, fmt.Errorf("neither a GGUF file, a Hugging Face folder nor a llama2.c checkpoint: %w", err)
	}
	return Header{Format: "llama2c", Config: c, Bytes: st.Size()}, nil
}

// llama2cHeader reads and checks the seven int32 fields of a llama2.c
// legacy checkpoint and that the file has exactly the bytes they imply.
func llama2cHeader(r io.ReaderAt, size int64) (Config, error) {
	if size < llama2cHeaderSize {
		return Config{}, fmt.Errorf("file too short for a header: %d bytes", size)
	}
	var hdr [llama2cHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return Config{}, fmt.Errorf("header: %w", err)
	}
	if binary.LittleEndian.Uint32(hdr[:]) == 0x616b3432 { // "ak42"
		return Config{}, fmt.Errorf("llama2.c export format version %d (magic \"ak42\") is not supported; use the legacy format or GGUF",
			int32(binary.LittleEndian.Uint32(hdr[4:])))
	}
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(hdr[4*i:]))
	}
	vocab := int64(h[5])
	shared := vocab > 0
	if vocab < 0 {
		vocab = -vocab
	}
	cfg := Config{
		Dim: int(h[0]), HiddenDim: int(h[1]), NLayers: int(h[2]), NHeads: int(h[3]),
		NKVHeads: int(h[4]), VocabSize: int(vocab), SeqLen: int(h[6]),
		SharedClassifier: shared,
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("header: %w", err)
	}
	need := llama2cHeaderSize + 4*(cfg.NumParams()+int64(cfg.SeqLen)*int64(cfg.HeadSize()))
	shape := fmt.Sprintf("dim %d, hidden %d, %d layers, %d heads, %d key/value heads, vocabulary %d, context %d",
		cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen)
	if size < need {
		return Config{}, fmt.Errorf("file has %d bytes, its header (%s) needs %d", size, shape, need)
	}
	if size > need {
		// The legacy format has no trailer: extra bytes mean that the
		// header does not describe the file (corrupted, or another format).
		return Config{}, fmt.Errorf("file has %d bytes, its header (%s) needs exactly %d (%d extra bytes): header does not match the weights",
			size, shape, need, size-need)
	}
	return cfg, nil
}
