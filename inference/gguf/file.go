// Package gguf reads and writes GGUF, the file format of ggml models: typed
// metadata, a tensor index and the tensor data. The reader faces untrusted
// files: it validates every count, length, type, shape and offset against
// the size of the file before it allocates or slices anything, and reports
// problems as errors that name the key or tensor and the byte offset.
//
// Open maps the file into memory, so tensor data is read without copying;
// Parse does the same validation over a buffer. The Writer produces valid
// files for tests and fixtures.
//
// A File is read-only once parsed and may be shared between goroutines;
// only Close must not race with other use. A mapped file that another
// process truncates while it is open can fault on access (SIGBUS): model
// files are expected to be replaced, not rewritten in place.
package gguf

import (
	"errors"
	"fmt"

	"inferenceruntime/inference/quant"
)

// KeyValue is one metadata pair, in file order.
type KeyValue struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of the file.
type TensorInfo struct {
	Name string
	Type quant.Type
	// Dims is the shape in ggml order: Dims[0] (ne0) is the row length, the
	// fastest-varying dimension.
	Dims []uint64
	// Offset is where the data starts, relative to File.DataOffset.
	Offset uint64
	// Size is the data's length in bytes.
	Size int64
}

// Elements is the number of elements (the product of Dims).
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d) // validated at parse time not to overflow
	}
	return n
}

// File is a parsed GGUF file. Its exported fields describe the header; the
// tensor data is reached through TensorData.
type File struct {
	Version   uint32
	Alignment uint64 // general.alignment, or DefaultAlignment
	KV        []KeyValue
	Tensors   []TensorInfo
	// DataOffset is the absolute file offset of the tensor data section.
	DataOffset int64

	data        []byte // the whole file (mapped or read); nil for ParseHeader
	size        int64  // the file's length
	headerOnly  bool   // from ParseHeader: no tensor data
	unmap       func() error
	lockErr     error // LoadOptions.Mlock refused
	closed      bool
	kvIndex     map[string]int
	tensorIndex map[string]int
	alignAt     int // byte offset of general.alignment, for errors
}

// ErrClosed is returned by TensorData after Close.
var ErrClosed = errors.New("gguf: file is closed")

// ErrNoData is returned by TensorData on a File from ParseHeader.
var ErrNoData = errors.New("gguf: only the header was parsed; tensor data is not available")

// Close releases the file's memory mapping. Tensor data slices obtained
// before must not be used afterwards; metadata stays readable.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data, f.size = nil, 0
	if f.unmap != nil {
		return f.unmap()
	}
	return nil
}

// Size is the file's length in bytes (0 after Close).
func (f *File) Size() int64 { return f.size }

// Get returns the value of a metadata key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Get(key)
	return v.AsString()
}

// Uint returns an integer value of any type that is not negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsUint()
}

// Int returns an integer value of any type that fits in an int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsInt()
}

// Float returns a float32, float64 or integer value as a float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsFloat()
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Get(key)
	return v.AsBool()
}

// Strings returns an array of strings. The slice is shared: do not modify it.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Get(key)
	return v.AsStrings()
}

// Float32s returns an array of float32 (a fresh copy).
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.Get(key)
	return v.AsFloat32s()
}

// Int32s returns an array of int32 (a fresh copy).
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.Get(key)
	return v.AsInt32s()
}

// Architecture is general.architecture, or "" if absent.
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// Tensor returns the info of the tensor with the given name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns the bytes of a tensor: a slice of the mapping (or
// buffer), valid until Close. Do not write to it. t must be one of the file's
// tensors; a changed or foreign TensorInfo is refused.
func (f *File) TensorData(t TensorInfo) ([]byte, error) {
	if f.closed {
		return nil, ErrClosed
	}
	if f.headerOnly {
		return nil, ErrNoData
	}
	own, ok := f.Tensor(t.Name)
	if !ok {
		return nil, fmt.Errorf("gguf: no tensor %q in this file", t.Name)
	}
	if own.Offset != t.Offset || own.Size != t.Size {
		return nil, fmt.Errorf("gguf: tensor %q: offset/size %d/%d do not match the file's %d/%d", t.Name, t.Offset, t.Size, own.Offset, own.Size)
	}
	start := f.DataOffset + int64(own.Offset)
	return f.data[start : start+own.Size : start+own.Size], nil
}
