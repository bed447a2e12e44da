package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"inferenceruntime/inference/quant"
)

// Limits that no real model comes near; they stop a hostile header from
// making the reader do unbounded work even where the file size would allow it.
const (
	// MaxArrayDepth is how deeply arrays may nest (an array of arrays of
	// scalars has depth 2).
	MaxArrayDepth = 8
	// MaxKeyLen is the longest metadata key accepted.
	MaxKeyLen = 65535
	// MaxTensorNameLen is the longest tensor name accepted. llama.cpp keeps
	// names in a 64-byte buffer with a terminating NUL (GGML_MAX_NAME) and
	// refuses a file with a longer one, so such a file is no model.
	MaxTensorNameLen = 63
	// MaxDims is the largest number of dimensions a tensor may have.
	MaxDims = 4
	// maxArrays bounds the number of array values in one file: nested
	// arrays cost far more memory than the 12 bytes each takes on disk.
	maxArrays = 1 << 20
	// maxElements bounds a tensor's element count so that byte sizes of
	// every type stay far from int64 overflow.
	maxElements = 1 << 56
)

// Version numbers the reader accepts. Version 1 used 32-bit counts and was
// replaced in 2023; version 3 only added big-endian files, which we reject.
const (
	minVersion = 2
	maxVersion = 3
)

// magic is "GGUF" read as a little-endian uint32.
const magic = 0x46554747

// DefaultAlignment is the data alignment used when general.alignment is
// absent.
const DefaultAlignment = 32

// FormatError describes what is wrong with a GGUF file and where.
type FormatError struct {
	Offset int64  // byte offset in the file where the problem was found
	Msg    string // what is wrong, naming the key or tensor involved
}

// Error formats the problem with its offset.
func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s (at byte offset %d)", e.Msg, e.Offset)
}

// within prefixes the message of a FormatError with where it happened, e.g.
// `key "general.name"`. Callers add context only on the error path, so the
// hot loops over vocabularies format nothing.
func within(err error, format string, args ...any) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		fe.Msg = fmt.Sprintf(format, args...) + ": " + fe.Msg
	}
	return err
}

// ErrShortHeader means that the bytes given to ParseHeader end before the
// header does: the caller should retry with a longer prefix. It matches
// io.ErrUnexpectedEOF too.
var ErrShortHeader = fmt.Errorf("gguf: the header runs past the bytes given: %w", io.ErrUnexpectedEOF)

// decoder walks the header of a GGUF file. Every read checks the bytes left
// before touching them: first against the file's size (running past it is
// a format error), then against the bytes at hand, which ParseHeader may
// give as a prefix of the file (running past those is ErrShortHeader).
type decoder struct {
	b      []byte // the file, or a prefix of it
	size   int64  // the file's length, >= len(b)
	off    int
	arrays int // arrays decoded so far, against maxArrays
}

func errorAt(off int, format string, args ...any) error {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// left is how many bytes of the file follow the current offset.
func (d *decoder) left() int64 { return d.size - int64(d.off) }

// short is the error for a read of n bytes that lies in the file but past
// the bytes at hand.
func (d *decoder) short(n int64) error {
	return fmt.Errorf("%w: %d bytes given, at least %d needed", ErrShortHeader, len(d.b), int64(d.off)+n)
}

// take returns the next n bytes; what names them in the error.
func (d *decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || int64(n) > d.left() {
		return nil, errorAt(d.off, "file ends inside the %s: need %d bytes, %d left", what, n, d.left())
	}
	if n > len(d.b)-d.off {
		return nil, d.short(int64(n))
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a 64-bit element count and checks that count elements of at
// least minSize bytes each could fit in what is left of the file, and in
// the bytes at hand (which bounds what the caller allocates).
func (d *decoder) count(what string, minSize int) (int, error) {
	at := d.off
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.left()/int64(minSize)) {
		return 0, errorAt(at, "%s is %d, but only %d bytes are left (each needs at least %d)", what, n, d.left(), minSize)
	}
	if n > uint64((len(d.b)-d.off)/minSize) {
		return 0, d.short(int64(n) * int64(minSize))
	}
	return int(n), nil
}

// strBytes reads a length-prefixed string of at most maxLen bytes and returns
// its bytes, still pointing into the file.
func (d *decoder) strBytes(maxLen int) ([]byte, error) {
	at := d.off
	n, err := d.u64("string length")
	if err != nil {
		return nil, err
	}
	if n > uint64(d.left()) {
		return nil, errorAt(at, "string length %d runs past the end of the file (%d bytes left)", n, d.left())
	}
	if n > uint64(maxLen) {
		return nil, errorAt(at, "string length %d exceeds the limit of %d", n, maxLen)
	}
	return d.take(int(n), "string")
}

// str reads a string and copies it out of the file.
func (d *decoder) str(maxLen int) (string, error) {
	b, err := d.strBytes(maxLen)
	return string(b), err
}

// Parse decodes and validates a whole GGUF file held in memory. The File
// refers to data for tensor contents, so data must not change while the File
// is in use.
func Parse(data []byte) (*File, error) {
	f := &File{data: data, size: int64(len(data))}
	if err := f.parse(data); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseHeader decodes and validates the metadata and tensor infos of a GGUF
// file of fileSize bytes from a prefix of it, without its tensor data (to
// inspect a remote file before downloading it, say). Tensor offsets and
// sizes are checked against fileSize. When prefix ends before the header
// does, the error matches ErrShortHeader (and io.ErrUnexpectedEOF): fetch
// more and call again. The File keeps no reference to prefix; its
// TensorData returns ErrNoData.
func ParseHeader(prefix []byte, fileSize int64) (*File, error) {
	if fileSize < int64(len(prefix)) {
		return nil, fmt.Errorf("gguf: a prefix of %d bytes is longer than the file size %d", len(prefix), fileSize)
	}
	f := &File{size: fileSize, headerOnly: true}
	if err := f.parse(prefix); err != nil {
		return nil, err
	}
	return f, nil
}

// parse decodes the header from b, the file or a prefix of it; f.size is
// the file's length.
func (f *File) parse(b []byte) error {
	d := &decoder{b: b, size: f.size}
	if f.size < 4 {
		return errorAt(0, "not a GGUF file: only %d bytes", f.size)
	}
	m, err := d.u32("magic")
	switch {
	case err != nil:
		return err
	case m == bits.ReverseBytes32(magic):
		return errorAt(0, "big-endian GGUF files are not supported (magic reads \"FUGG\")")
	case m != magic:
		return errorAt(0, "not a GGUF file: magic is %q, want \"GGUF\"", b[:4])
	}
	if f.Version, err = d.u32("version"); err != nil {
		return err
	}
	if f.Version < minVersion || f.Version > maxVersion {
		if sw := bits.ReverseBytes32(f.Version); sw >= 1 && sw <= maxVersion {
			return errorAt(4, "big-endian GGUF files are not supported (version field reads as %d byte-swapped)", sw)
		}
		return errorAt(4, "unsupported GGUF version %d (supported: 2 and 3)", f.Version)
	}
	// The smallest tensor info: name length, 1 dim, type, offset.
	nTensors, err := d.count("tensor count", 8+4+8+4+8)
	if err != nil {
		return err
	}
	// The smallest key-value pair: key length, one key byte, type, 1-byte value.
	nKV, err := d.count("metadata key-value count", 8+1+4+1)
	if err != nil {
		return err
	}
	if err := f.parseKV(d, nKV); err != nil {
		return err
	}
	if err := f.parseAlignment(); err != nil {
		return err
	}
	infoAt, err := f.parseTensorInfos(d, nTensors)
	if err != nil {
		return err
	}
	return f.placeTensors(d.off, infoAt)
}

func (f *File) parseKV(d *decoder, n int) error {
	f.KV = make([]KeyValue, 0, n)
	f.kvIndex = make(map[string]int, n)
	for i := range n {
		at := d.off
		key, err := d.str(MaxKeyLen)
		if err != nil {
			return within(err, "key of metadata pair %d", i)
		}
		if key == "" {
			return errorAt(at, "metadata pair %d has an empty key", i)
		}
		if _, dup := f.kvIndex[key]; dup {
			return errorAt(at, "duplicate metadata key %q", key)
		}
		v, err := d.value(0)
		if err != nil {
			return within(err, "key %q", key)
		}
		if key == "general.alignment" {
			f.alignAt = at
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KeyValue{Key: key, Value: v})
	}
	return nil
}

// value decodes one type tag and value; depth counts the enclosing arrays.
func (d *decoder) value(depth int) (Value, error) {
	at := d.off
	tag, err := d.u32("value type")
	if err != nil {
		return Value{}, err
	}
	t := ValueType(tag)
	switch {
	case !t.Valid():
		return Value{}, errorAt(at, "unknown value type %d", tag)
	case t == String:
		s, err := d.str(math.MaxInt)
		return Value{Type: String, str: s}, err
	case t == Array:
		return d.array(depth + 1)
	}
	b, err := d.take(t.fixedSize(), t.String()+" value")
	if err != nil {
		return Value{}, err
	}
	if t == Bool && b[0] > 1 {
		return Value{}, errorAt(d.off-1, "bool value is %d, want 0 or 1", b[0])
	}
	return Value{Type: t, bits: leBits(b)}, nil
}

// array decodes an array's element type, length and elements; depth counts
// the arrays enclosing its elements (1 for a top-level array).
func (d *decoder) array(depth int) (Value, error) {
	at := d.off
	if depth > MaxArrayDepth {
		return Value{}, errorAt(at, "arrays nested deeper than %d", MaxArrayDepth)
	}
	if d.arrays++; d.arrays > maxArrays {
		return Value{}, errorAt(at, "more than %d arrays in one file", maxArrays)
	}
	et, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, errorAt(at, "array has unknown element type %d", et)
	}
	n, err := d.count("array length", elem.minSize())
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: Array, elem: elem, n: n}
	switch elem {
	case String:
		v.strs, err = d.strings(n)
	case Array:
		v.vals = make([]Value, n)
		for i := range v.vals {
			if v.vals[i], err = d.array(depth + 1); err != nil {
				return Value{}, within(err, "element %d", i)
			}
		}
	default:
		raw, _ := d.take(n*elem.fixedSize(), "") // count checked the size
		if elem == Bool {
			for i, b := range raw {
				if b > 1 {
					return Value{}, errorAt(d.off-len(raw)+i, "bool element %d is %d, want 0 or 1", i, b)
				}
			}
		}
		v.raw = append([]byte(nil), raw...)
	}
	return v, err
}

// strings decodes n length-prefixed strings. It validates them all first and
// then copies their whole region out of the file at once, so a vocabulary of
// 150k tokens costs two allocations, not 150k.
func (d *decoder) strings(n int) ([]string, error) {
	start := d.off
	for i := range n {
		if _, err := d.strBytes(math.MaxInt); err != nil {
			return nil, within(err, "element %d", i)
		}
	}
	blob := string(d.b[start:d.off])
	out := make([]string, n)
	p := 0
	for i := range out {
		l := int(binary.LittleEndian.Uint64(d.b[start+p:]))
		out[i] = blob[p+8 : p+8+l]
		p += 8 + l
	}
	return out, nil
}

// parseAlignment applies general.alignment, which must be a uint32 power of
// two.
func (f *File) parseAlignment() error {
	f.Alignment = DefaultAlignment
	v, ok := f.Get("general.alignment")
	if !ok {
		return nil
	}
	if v.Type != Uint32 {
		return errorAt(f.alignAt, "general.alignment is a %s, want uint32", v.describe())
	}
	a := v.bits
	if a == 0 || a&(a-1) != 0 {
		return errorAt(f.alignAt, "general.alignment is %d, want a non-zero power of two", a)
	}
	f.Alignment = a
	return nil
}

// parseTensorInfos decodes n tensor infos and returns the byte offset of
// each, for error messages.
func (f *File) parseTensorInfos(d *decoder, n int) ([]int, error) {
	f.Tensors = make([]TensorInfo, 0, n)
	f.tensorIndex = make(map[string]int, n)
	infoAt := make([]int, 0, n)
	for i := range n {
		at := d.off
		name, err := d.str(MaxKeyLen)
		if err != nil {
			return nil, within(err, "name of tensor %d", i)
		}
		if name == "" {
			return nil, errorAt(at, "tensor %d has an empty name", i)
		}
		if len(name) > MaxTensorNameLen {
			return nil, errorAt(at, "tensor %d has a name of %d bytes, longer than the %d GGUF allows: %q...",
				i, len(name), MaxTensorNameLen, name[:MaxTensorNameLen])
		}
		if _, dup := f.tensorIndex[name]; dup {
			return nil, errorAt(at, "duplicate tensor name %q", name)
		}
		t, err := d.tensorInfo(name)
		if err != nil {
			return nil, within(err, "tensor %q", name)
		}
		f.tensorIndex[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		infoAt = append(infoAt, at)
	}
	return infoAt, nil
}

// tensorInfo decodes the rest of one tensor info after its name and checks
// its shape and type.
func (d *decoder) tensorInfo(name string) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	at := d.off
	nd, err := d.u32("dimension count")
	if err != nil {
		return t, err
	}
	if nd < 1 || nd > MaxDims {
		return t, errorAt(at, "%d dimensions, want 1 to %d", nd, MaxDims)
	}
	t.Dims = make([]uint64, nd)
	for j := range t.Dims {
		dat := d.off
		if t.Dims[j], err = d.u64("dimensions"); err != nil {
			return t, err
		}
		if t.Dims[j] == 0 {
			return t, errorAt(dat, "dimension %d is 0", j)
		}
	}
	tat := d.off
	typ, err := d.u32("tensor type")
	if err != nil {
		return t, err
	}
	t.Type = quant.Type(typ)
	if t.Offset, err = d.u64("data offset"); err != nil {
		return t, err
	}
	if !t.Type.Known() {
		return t, errorAt(tat, "unknown tensor type %d", typ)
	}
	if t.Size, err = tensorSize(t.Type, t.Dims); err != nil {
		return t, errorAt(at, "%v", err)
	}
	return t, nil
}

// tensorSize computes the bytes of a tensor from its type and dims, refusing
// shapes whose element count would overflow or whose rows are not whole
// blocks.
func tensorSize(typ quant.Type, dims []uint64) (int64, error) {
	elems := uint64(1)
	for _, n := range dims {
		hi, lo := bits.Mul64(elems, n)
		if hi != 0 || lo > maxElements {
			return 0, fmt.Errorf("shape %v: element count overflows (limit 2^56)", dims)
		}
		elems = lo
	}
	if bs := uint64(typ.BlockSize()); dims[0]%bs != 0 {
		return 0, fmt.Errorf("%s row length %d is not a multiple of the block size %d", typ, dims[0], bs)
	}
	row, err := typ.RowSize(int64(dims[0]))
	if err != nil {
		return 0, err
	}
	// No type takes more than 8 bytes per element, so elems <= 2^56 keeps
	// this product below 2^59.
	return row * int64(elems/dims[0]), nil
}

// placeTensors fixes the data section after the header ending at end and
// checks every tensor's offset, alignment, extent and overlap. infoAt[i] is
// where tensor i's info starts in the file.
func (f *File) placeTensors(end int, infoAt []int) error {
	a := f.Alignment
	start := alignUp(uint64(end), a) // end < 2^63 and a <= 2^31: no overflow
	f.DataOffset = int64(start)
	if len(f.Tensors) == 0 {
		return nil
	}
	if start > uint64(f.size) {
		return errorAt(end, "tensor data section would start at %d, past the end of the file (%d bytes)", start, f.size)
	}
	avail := uint64(f.size) - start
	order := make([]int, len(f.Tensors))
	for i, t := range f.Tensors {
		order[i] = i
		if t.Offset%a != 0 {
			return errorAt(infoAt[i], "tensor %q: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, a)
		}
		if t.Offset > avail || uint64(t.Size) > avail-t.Offset {
			return errorAt(infoAt[i], "tensor %q: data [%d, +%d) runs past the end of the file (data section holds %d bytes)", t.Name, t.Offset, t.Size, avail)
		}
	}
	sort.Slice(order, func(i, j int) bool { return f.Tensors[order[i]].Offset < f.Tensors[order[j]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := f.Tensors[order[k-1]], f.Tensors[order[k]]
		if p.Offset+uint64(p.Size) > q.Offset {
			return errorAt(infoAt[order[k]], "tensors %q [%d, +%d) and %q [%d, +%d) overlap", p.Name, p.Offset, p.Size, q.Name, q.Offset, q.Size)
		}
	}
	return nil
}
