package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// ValueType is the type tag of a GGUF metadata value.
type ValueType uint32

// The GGUF metadata value types. The numbering is fixed by the file format.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// Valid reports whether t is one of the 13 types the format defines.
func (t ValueType) Valid() bool { return t <= Float64 }

// String returns the lower-case name of the type, or "type(N)" if unknown.
func (t ValueType) String() string {
	if t.Valid() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types, whose size is not fixed.
func (t ValueType) fixedSize() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type t can take; it bounds
// how many elements an array can claim given the bytes left in the file.
func (t ValueType) minSize() int {
	switch t {
	case String:
		return 8 // the length prefix
	case Array:
		return 4 + 8 // element type and count
	}
	return t.fixedSize()
}

// Value is one metadata value: a scalar, a string or an array. Read it with
// the As* methods; the zero Value is an empty uint8.
//
// Arrays of scalars keep their elements in the file's little-endian encoding
// (a private copy, so a Value stays valid after File.Close), which keeps large
// vocabularies compact.
type Value struct {
	// Type is the value's type; for arrays see ElemType.
	Type ValueType

	bits uint64 // scalar: the raw little-endian bits, zero-extended
	str  string // String

	elem ValueType // Array: element type
	n    int       // Array: element count
	raw  []byte    // Array of fixed-size scalars: n*elem.fixedSize() bytes
	strs []string  // Array of strings
	vals []Value   // Array of arrays
}

// ElemType is the element type of an array value (meaningless otherwise).
func (v Value) ElemType() ValueType { return v.elem }

// Len is the number of elements of an array, the byte length of a string,
// and 0 for other values.
func (v Value) Len() int {
	switch v.Type {
	case Array:
		return v.n
	case String:
		return len(v.str)
	}
	return 0
}

// Index returns element i of an array value, and false when v is not an
// array or i is out of range.
func (v Value) Index(i int) (Value, bool) {
	if v.Type != Array || i < 0 || i >= v.n {
		return Value{}, false
	}
	switch {
	case v.elem == String:
		return Value{Type: String, str: v.strs[i]}, true
	case v.elem == Array:
		return v.vals[i], true
	}
	sz := v.elem.fixedSize()
	return Value{Type: v.elem, bits: leBits(v.raw[i*sz : (i+1)*sz])}, true
}

// leBits reads a 1, 2, 4 or 8 byte little-endian integer.
func leBits(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// AsString returns the value of a string.
func (v Value) AsString() (string, bool) {
	if v.Type != String {
		return "", false
	}
	return v.str, true
}

// AsBool returns the value of a bool.
func (v Value) AsBool() (bool, bool) {
	if v.Type != Bool {
		return false, false
	}
	return v.bits != 0, true
}

// AsInt returns any integer value that fits in an int64.
func (v Value) AsInt() (int64, bool) {
	switch v.Type {
	case Uint8, Uint16, Uint32:
		return int64(v.bits), true
	case Uint64:
		if v.bits > math.MaxInt64 {
			return 0, false
		}
		return int64(v.bits), true
	case Int8:
		return int64(int8(v.bits)), true
	case Int16:
		return int64(int16(v.bits)), true
	case Int32:
		return int64(int32(v.bits)), true
	case Int64:
		return int64(v.bits), true
	}
	return 0, false
}

// AsUint returns any non-negative integer value.
func (v Value) AsUint() (uint64, bool) {
	switch v.Type {
	case Uint8, Uint16, Uint32, Uint64:
		return v.bits, true
	}
	i, ok := v.AsInt()
	if !ok || i < 0 {
		return 0, false
	}
	return uint64(i), true
}

// AsFloat returns a float32 or float64 value, or an integer converted to
// float64.
func (v Value) AsFloat() (float64, bool) {
	switch v.Type {
	case Float32:
		return float64(math.Float32frombits(uint32(v.bits))), true
	case Float64:
		return math.Float64frombits(v.bits), true
	case Uint64:
		return float64(v.bits), true
	}
	i, ok := v.AsInt()
	return float64(i), ok
}

// AsStrings returns the elements of an array of strings. The slice is shared:
// do not modify it.
func (v Value) AsStrings() ([]string, bool) {
	if v.Type != Array || v.elem != String {
		return nil, false
	}
	return v.strs, true
}

// AsFloat32s returns the elements of an array of float32.
func (v Value) AsFloat32s() ([]float32, bool) { return words(v, Float32, math.Float32frombits) }

// AsInt32s returns the elements of an array of int32.
func (v Value) AsInt32s() ([]int32, bool) {
	return words(v, Int32, func(u uint32) int32 { return int32(u) })
}

// AsUint32s returns the elements of an array of uint32.
func (v Value) AsUint32s() ([]uint32, bool) {
	return words(v, Uint32, func(u uint32) uint32 { return u })
}

// words decodes an array of 4-byte elements of type elem.
func words[T any](v Value, elem ValueType, conv func(uint32) T) ([]T, bool) {
	if v.Type != Array || v.elem != elem {
		return nil, false
	}
	out := make([]T, v.n)
	for i := range out {
		out[i] = conv(binary.LittleEndian.Uint32(v.raw[4*i:]))
	}
	return out, true
}

// Any converts the value to a plain Go value: uint8 … float64, bool, string,
// or []any for arrays (recursively). Meant for display and JSON, not for
// large vocabularies.
func (v Value) Any() any {
	switch v.Type {
	case Uint8:
		return uint8(v.bits)
	case Int8:
		return int8(v.bits)
	case Uint16:
		return uint16(v.bits)
	case Int16:
		return int16(v.bits)
	case Uint32:
		return uint32(v.bits)
	case Int32:
		return int32(v.bits)
	case Uint64:
		return v.bits
	case Int64:
		return int64(v.bits)
	case Float32:
		return math.Float32frombits(uint32(v.bits))
	case Float64:
		return math.Float64frombits(v.bits)
	case Bool:
		return v.bits != 0
	case String:
		return v.str
	case Array:
		out := make([]any, v.n)
		for i := range out {
			e, _ := v.Index(i)
			out[i] = e.Any()
		}
		return out
	}
	return nil
}

// String formats the value for people: scalars as themselves, strings
// quoted (cut at 60 bytes), arrays as "[N x type]".
func (v Value) String() string {
	switch v.Type {
	case String:
		s := v.str
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		return fmt.Sprintf("%q", s)
	case Array:
		return fmt.Sprintf("[%d x %s]", v.n, v.elem)
	}
	return fmt.Sprint(v.Any())
}

// NewValue converts a Go value to a Value. Accepted: uint8, int8, uint16,
// int16, uint32, int32, uint64, int64, int (stored as int64), float32,
// float64, bool, string, a Value, and slices of any of those ([]Value makes
// an array of arrays; its elements must all be arrays).
func NewValue(x any) (Value, error) {
	switch x := x.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{Type: Uint8, bits: uint64(x)}, nil
	case int8:
		return Value{Type: Int8, bits: uint64(uint8(x))}, nil
	case uint16:
		return Value{Type: Uint16, bits: uint64(x)}, nil
	case int16:
		return Value{Type: Int16, bits: uint64(uint16(x))}, nil
	case uint32:
		return Value{Type: Uint32, bits: uint64(x)}, nil
	case int32:
		return Value{Type: Int32, bits: uint64(uint32(x))}, nil
	case uint64:
		return Value{Type: Uint64, bits: x}, nil
	case int64:
		return Value{Type: Int64, bits: uint64(x)}, nil
	case int:
		return Value{Type: Int64, bits: uint64(int64(x))}, nil
	case float32:
		return Value{Type: Float32, bits: uint64(math.Float32bits(x))}, nil
	case float64:
		return Value{Type: Float64, bits: math.Float64bits(x)}, nil
	case bool:
		var b uint64
		if x {
			b = 1
		}
		return Value{Type: Bool, bits: b}, nil
	case string:
		return Value{Type: String, str: x}, nil
	case []string:
		return Value{Type: Array, elem: String, n: len(x), strs: append([]string(nil), x...)}, nil
	case []Value:
		for i, e := range x {
			if e.Type != Array {
				return Value{}, fmt.Errorf("array of arrays: element %d is a %s", i, e.Type)
			}
		}
		return Value{Type: Array, elem: Array, n: len(x), vals: append([]Value(nil), x...)}, nil
	case []uint8:
		return scalarArray(Uint8, x)
	case []int8:
		return scalarArray(Int8, x)
	case []uint16:
		return scalarArray(Uint16, x)
	case []int16:
		return scalarArray(Int16, x)
	case []uint32:
		return scalarArray(Uint32, x)
	case []int32:
		return scalarArray(Int32, x)
	case []uint64:
		return scalarArray(Uint64, x)
	case []int64:
		return scalarArray(Int64, x)
	case []int:
		return scalarArray(Int64, x)
	case []float32:
		return scalarArray(Float32, x)
	case []float64:
		return scalarArray(Float64, x)
	case []bool:
		return scalarArray(Bool, x)
	}
	return Value{}, fmt.Errorf("unsupported Go type %T for a GGUF value", x)
}

// scalarArray encodes a slice of scalars as an array value.
func scalarArray[T any](t ValueType, xs []T) (Value, error) {
	sz := t.fixedSize()
	raw := make([]byte, 0, len(xs)*sz)
	for _, x := range xs {
		v, err := NewValue(x)
		if err != nil {
			return Value{}, err
		}
		raw = binary.LittleEndian.AppendUint64(raw, v.bits)[:len(raw)+sz]
	}
	return Value{Type: Array, elem: t, n: len(xs), raw: raw}, nil
}

// check verifies that a Value (whose Type field callers may have changed)
// can be encoded: a valid type, consistent array contents, and nesting
// within MaxArrayDepth.
func (v Value) check(depth int) error {
	if !v.Type.Valid() {
		return fmt.Errorf("unknown value type %d", uint32(v.Type))
	}
	if v.Type != Array {
		return nil
	}
	if depth++; depth > MaxArrayDepth {
		return fmt.Errorf("arrays nested deeper than %d", MaxArrayDepth)
	}
	var ok bool
	switch v.elem {
	case String:
		ok = len(v.strs) == v.n
	case Array:
		ok = len(v.vals) == v.n
		for _, e := range v.vals {
			if err := e.check(depth); err != nil {
				return err
			}
		}
	default:
		ok = v.elem.Valid() && len(v.raw) == v.n*v.elem.fixedSize()
	}
	if !ok {
		return fmt.Errorf("malformed array of %s", v.elem)
	}
	return nil
}

// describe is a short form of the type of v for error messages, e.g.
// "array of string".
func (v Value) describe() string {
	if v.Type != Array {
		return v.Type.String()
	}
	return "array of " + v.elem.String()
}
