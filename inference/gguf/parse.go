package gguf

import (
	"encoding/binary"
	"fmt"
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
	// MaxKeyLen is the longest metadata key or tensor name accepted.
	MaxKeyLen = 65535
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

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s (at byte offset %d)", e.Msg, e.Offset)
}

// decoder walks the header of a GGUF file. Every read checks the bytes left
// before touching them.
type decoder struct {
	b      []byte
	off    int
	arrays int // arrays decoded so far, against maxArrays
}

func (d *decoder) errorf(off int, format string, args ...any) error {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) left() int { return len(d.b) - d.off }

// take returns the next n bytes, or an error naming what was being read.
func (d *decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || n > d.left() {
		return nil, d.errorf(d.off, "file ends inside %s: need %d bytes, %d left", what, n, d.left())
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
// least minSize bytes each could fit in what is left of the file.
func (d *decoder) count(what string, minSize int) (int, error) {
	at := d.off
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.left()/minSize) {
		return 0, d.errorf(at, "%s is %d, but only %d bytes are left (each needs at least %d)", what, n, d.left(), minSize)
	}
	return int(n), nil
}

// str reads a length-prefixed string of at most maxLen bytes.
func (d *decoder) str(what string, maxLen int) (string, error) {
	at := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.left()) {
		return "", d.errorf(at, "%s length %d runs past the end of the file (%d bytes left)", what, n, d.left())
	}
	if n > uint64(maxLen) {
		return "", d.errorf(at, "%s length %d exceeds the limit of %d", what, n, maxLen)
	}
	b, _ := d.take(int(n), what)
	return string(b), nil
}

// Parse decodes and validates a whole GGUF file held in memory. The File
// refers to data for tensor contents, so data must not change while the File
// is in use.
func Parse(data []byte) (*File, error) {
	f := &File{data: data}
	if err := f.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) parse() error {
	d := &decoder{b: f.data}
	m, err := d.u32("magic")
	if err != nil {
		return fmt.Errorf("not a GGUF file: %w", err)
	}
	if m != magic {
		return d.errorf(0, "not a GGUF file: magic is %q, want \"GGUF\"", f.data[:4])
	}
	if f.Version, err = d.u32("version"); err != nil {
		return err
	}
	if f.Version < minVersion || f.Version > maxVersion {
		if sw := bits.ReverseBytes32(f.Version); sw >= 1 && sw <= maxVersion {
			return d.errorf(4, "big-endian GGUF files are not supported (version field reads as %d byte-swapped)", sw)
		}
		return d.errorf(4, "unsupported GGUF version %d (supported: 2 and 3)", f.Version)
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
		key, err := d.str(fmt.Sprintf("key of metadata pair %d", i), MaxKeyLen)
		if err != nil {
			return err
		}
		if key == "" {
			return d.errorf(at, "metadata pair %d has an empty key", i)
		}
		if _, dup := f.kvIndex[key]; dup {
			return d.errorf(at, "duplicate metadata key %q", key)
		}
		tat := d.off
		t, err := d.u32(fmt.Sprintf("type of %q", key))
		if err != nil {
			return err
		}
		v, err := d.value(ValueType(t), key, tat, 0)
		if err != nil {
			return err
		}
		if key == "general.alignment" {
			f.alignAt = at
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KeyValue{Key: key, Value: v})
	}
	return nil
}

// value decodes one value of type t for key; tat is where its type tag was.
func (d *decoder) value(t ValueType, key string, tat, depth int) (Value, error) {
	if !t.Valid() {
		return Value{}, d.errorf(tat, "key %q has unknown value type %d", key, uint32(t))
	}
	switch t {
	case String:
		s, err := d.str(fmt.Sprintf("string value of %q", key), math.MaxInt)
		return Value{Type: String, str: s}, err
	case Array:
		return d.array(key, depth+1)
	}
	b, err := d.take(t.fixedSize(), fmt.Sprintf("%s value of %q", t, key))
	if err != nil {
		return Value{}, err
	}
	if t == Bool && b[0] > 1 {
		return Value{}, d.errorf(d.off-1, "key %q: bool value is %d, want 0 or 1", key, b[0])
	}
	return Value{Type: t, bits: leBits(b)}, nil
}

func (d *decoder) array(key string, depth int) (Value, error) {
	at := d.off
	if depth > MaxArrayDepth {
		return Value{}, d.errorf(at, "key %q: arrays nested deeper than %d", key, MaxArrayDepth)
	}
	if d.arrays++; d.arrays > maxArrays {
		return Value{}, d.errorf(at, "key %q: more than %d arrays in one file", key, maxArrays)
	}
	et, err := d.u32(fmt.Sprintf("array element type of %q", key))
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, d.errorf(at, "key %q: array has unknown element type %d", key, et)
	}
	n, err := d.count(fmt.Sprintf("array length of %q", key), elem.minSize())
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: Array, elem: elem, n: n}
	switch elem {
	case String:
		v.strs = make([]string, n)
		for i := range v.strs {
			if v.strs[i], err = d.str(fmt.Sprintf("element %d of %q", i, key), math.MaxInt); err != nil {
				return Value{}, err
			}
		}
	case Array:
		v.vals = make([]Value, n)
		for i := range v.vals {
			if v.vals[i], err = d.array(key, depth+1); err != nil {
				return Value{}, err
			}
		}
	default:
		raw, _ := d.take(n*elem.fixedSize(), "") // count checked the size
		if elem == Bool {
			for i, b := range raw {
				if b > 1 {
					return Value{}, d.errorf(d.off-len(raw)+i, "key %q: bool element %d is %d, want 0 or 1", key, i, b)
				}
			}
		}
		v.raw = append([]byte(nil), raw...)
	}
	return v, nil
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
		return &FormatError{Offset: int64(f.alignAt), Msg: fmt.Sprintf("general.alignment is a %s, want uint32", v.describe())}
	}
	a := v.bits
	if a == 0 || a&(a-1) != 0 {
		return &FormatError{Offset: int64(f.alignAt), Msg: fmt.Sprintf("general.alignment is %d, want a non-zero power of two", a)}
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
		name, err := d.str(fmt.Sprintf("name of tensor %d", i), MaxKeyLen)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, d.errorf(at, "tensor %d has an empty name", i)
		}
		if _, dup := f.tensorIndex[name]; dup {
			return nil, d.errorf(at, "duplicate tensor name %q", name)
		}
		t, err := f.tensorInfo(d, name)
		if err != nil {
			return nil, err
		}
		f.tensorIndex[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		infoAt = append(infoAt, at)
	}
	return infoAt, nil
}

// tensorInfo decodes the rest of one tensor info after its name and checks
// its shape and type.
func (f *File) tensorInfo(d *decoder, name string) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	at := d.off
	nd, err := d.u32(fmt.Sprintf("dimension count of tensor %q", name))
	if err != nil {
		return t, err
	}
	if nd < 1 || nd > MaxDims {
		return t, d.errorf(at, "tensor %q has %d dimensions, want 1 to %d", name, nd, MaxDims)
	}
	t.Dims = make([]uint64, nd)
	for j := range t.Dims {
		dat := d.off
		if t.Dims[j], err = d.u64(fmt.Sprintf("dimension %d of tensor %q", j, name)); err != nil {
			return t, err
		}
		if t.Dims[j] == 0 {
			return t, d.errorf(dat, "tensor %q: dimension %d is 0", name, j)
		}
	}
	tat := d.off
	typ, err := d.u32(fmt.Sprintf("type of tensor %q", name))
	if err != nil {
		return t, err
	}
	t.Type = quant.Type(typ)
	if t.Offset, err = d.u64(fmt.Sprintf("data offset of tensor %q", name)); err != nil {
		return t, err
	}
	if !t.Type.Known() {
		return t, d.errorf(tat, "tensor %q has unknown tensor type %d", name, typ)
	}
	if t.Size, err = tensorSize(t.Type, t.Dims); err != nil {
		return t, d.errorf(at, "tensor %q: %v", name, err)
	}
	return t, nil
}

// tensorSize computes the bytes of a tensor from its type and dims, refusing
// shapes whose element count would overflow or whose rows are not whole
// blocks.
func tensorSize(typ quant.Type, dims []uint64) (int64, error) {
	elems := uint64(1)
	for j, n := range dims {
		hi, lo := bits.Mul64(elems, n)
		if hi != 0 || lo > maxElements {
			return 0, fmt.Errorf("shape %v: element count overflows (dimension %d)", dims, j)
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
	// Block sizes are >= 1 byte per element at most 8, so elems <= 2^56
	// keeps this product below 2^63.
	return row * int64(elems/dims[0]), nil
}

// placeTensors fixes the data section after the header ending at end and
// checks every tensor's offset, alignment, extent and overlap. infoAt[i] is
// where tensor i's info starts in the file.
func (f *File) placeTensors(end int, infoAt []int) error {
	a := f.Alignment
	start := (uint64(end) + a - 1) / a * a // end < 2^63 and a <= 2^31: no overflow
	f.DataOffset = int64(start)
	if len(f.Tensors) == 0 {
		return nil
	}
	if start > uint64(len(f.data)) {
		return &FormatError{Offset: int64(end), Msg: fmt.Sprintf("tensor data section would start at %d, past the end of the file (%d bytes)", start, len(f.data))}
	}
	avail := uint64(len(f.data)) - start
	order := make([]int, len(f.Tensors))
	for i, t := range f.Tensors {
		order[i] = i
		if t.Offset%a != 0 {
			return &FormatError{Offset: int64(infoAt[i]), Msg: fmt.Sprintf("tensor %q: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, a)}
		}
		if t.Offset > avail || uint64(t.Size) > avail-t.Offset {
			return &FormatError{Offset: int64(infoAt[i]), Msg: fmt.Sprintf("tensor %q: data [%d, +%d) runs past the end of the file (data section holds %d bytes)", t.Name, t.Offset, t.Size, avail)}
		}
	}
	sort.Slice(order, func(i, j int) bool { return f.Tensors[order[i]].Offset < f.Tensors[order[j]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := f.Tensors[order[k-1]], f.Tensors[order[k]]
		if p.Offset+uint64(p.Size) > q.Offset {
			return &FormatError{Offset: int64(infoAt[order[k]]), Msg: fmt.Sprintf("tensors %q [%d, +%d) and %q [%d, +%d) overlap", p.Name, p.Offset, p.Size, q.Name, q.Offset, q.Size)}
		}
	}
	return nil
}
