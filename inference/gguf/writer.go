package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"inferenceruntime/inference/quant"
)

// Writer builds a GGUF file (version 3, little-endian) in memory and writes
// it out. It is meant for test fixtures and synthetic models, so it keeps
// tensor data in memory.
type Writer struct {
	kv      []KeyValue
	kvIndex map[string]int
	tensors []writerTensor
	names   map[string]bool
}

type writerTensor struct {
	info TensorInfo
	data []byte
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// SetKV sets a metadata key; the value's GGUF type follows its Go type (see
// NewValue). Setting a key again replaces the value but keeps its position.
// general.alignment must be a uint32 power of two.
func (w *Writer) SetKV(key string, v any) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("gguf writer: key length %d, want 1 to %d", len(key), MaxKeyLen)
	}
	val, err := NewValue(v)
	if err != nil {
		return fmt.Errorf("gguf writer: key %q: %w", key, err)
	}
	if err := val.check(0); err != nil {
		return fmt.Errorf("gguf writer: key %q: %w", key, err)
	}
	if key == "general.alignment" {
		a, _ := val.AsUint()
		if val.Type != Uint32 || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf writer: general.alignment must be a uint32 power of two, got %s %v", val.describe(), val)
		}
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = val
		return nil
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KeyValue{Key: key, Value: val})
	return nil
}

// AddTensor appends a tensor. dims are in ggml order (dims[0] = row length);
// data must be exactly the size the type and shape imply.
func (w *Writer) AddTensor(name string, t quant.Type, dims []uint64, data []byte) error {
	if name == "" || len(name) > MaxTensorNameLen {
		return fmt.Errorf("gguf writer: tensor name length %d, want 1 to %d", len(name), MaxTensorNameLen)
	}
	if w.names[name] {
		return fmt.Errorf("gguf writer: duplicate tensor %q", name)
	}
	if len(dims) < 1 || len(dims) > MaxDims {
		return fmt.Errorf("gguf writer: tensor %q has %d dimensions, want 1 to %d", name, len(dims), MaxDims)
	}
	if !t.Known() {
		return fmt.Errorf("gguf writer: tensor %q has unknown type %d", name, uint32(t))
	}
	for j, d := range dims {
		if d == 0 {
			return fmt.Errorf("gguf writer: tensor %q: dimension %d is 0", name, j)
		}
	}
	size, err := tensorSize(t, dims)
	if err != nil {
		return fmt.Errorf("gguf writer: tensor %q: %w", name, err)
	}
	if int64(len(data)) != size {
		return fmt.Errorf("gguf writer: tensor %q: %s %v needs %d bytes, got %d", name, t, dims, size, len(data))
	}
	w.names[name] = true
	info := TensorInfo{Name: name, Type: t, Dims: append([]uint64(nil), dims...), Size: size}
	w.tensors = append(w.tensors, writerTensor{info: info, data: data})
	return nil
}

// alignment is the data alignment the written file will declare.
func (w *Writer) alignment() uint64 {
	if i, ok := w.kvIndex["general.alignment"]; ok {
		a, _ := w.kv[i].Value.AsUint()
		return a
	}
	return DefaultAlignment
}

// WriteTo writes the file: header, metadata, tensor infos, then each
// tensor's data at an aligned offset.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	cw := &countingWriter{w: bufio.NewWriter(out)}
	a := w.alignment()
	var hdr []byte
	hdr = binary.LittleEndian.AppendUint32(hdr, magic)
	hdr = binary.LittleEndian.AppendUint32(hdr, 3)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(w.tensors)))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(w.kv)))
	for _, kv := range w.kv {
		hdr = appendString(hdr, kv.Key)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(kv.Value.Type))
		hdr = appendValue(hdr, kv.Value)
	}
	var off uint64
	for i := range w.tensors {
		t := &w.tensors[i].info
		t.Offset = off
		hdr = appendString(hdr, t.Name)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			hdr = binary.LittleEndian.AppendUint64(hdr, d)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(t.Type))
		hdr = binary.LittleEndian.AppendUint64(hdr, t.Offset)
		off = alignUp(off+uint64(t.Size), a)
	}
	cw.Write(hdr)
	if len(w.tensors) > 0 {
		cw.pad(a)
	}
	for _, t := range w.tensors {
		cw.Write(t.data)
		cw.pad(a)
	}
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("gguf writer: %w", cw.err)
	}
	return cw.n, nil
}

// WriteFile writes the file to path (created or truncated).
func (w *Writer) WriteFile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf writer: %w", err)
	}
	if _, err := w.WriteTo(fh); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("gguf writer: %w", err)
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue encodes v without its type tag.
func appendValue(b []byte, v Value) []byte {
	switch v.Type {
	case String:
		return appendString(b, v.str)
	case Array:
		b = binary.LittleEndian.AppendUint32(b, uint32(v.elem))
		b = binary.LittleEndian.AppendUint64(b, uint64(v.n))
		switch v.elem {
		case String:
			for _, s := range v.strs {
				b = appendString(b, s)
			}
		case Array:
			for _, e := range v.vals {
				b = appendValue(b, e)
			}
		default:
			b = append(b, v.raw...)
		}
		return b
	}
	sz := v.Type.fixedSize()
	return binary.LittleEndian.AppendUint64(b, v.bits)[:len(b)+sz]
}

// countingWriter counts bytes and keeps the first error, so WriteTo can
// write without checking each call.
type countingWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

// pad writes zeros up to the next multiple of a.
func (c *countingWriter) pad(a uint64) {
	if r := uint64(c.n) % a; r != 0 {
		c.Write(make([]byte, a-r))
	}
}
