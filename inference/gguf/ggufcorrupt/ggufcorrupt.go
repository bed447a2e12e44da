// Package ggufcorrupt makes malformed GGUF files for tests: a byte builder
// that writes headers the gguf Writer refuses to make, and the catalogue of
// corrupt files every GGUF reader in the project must refuse with a clear
// error. The files are made when a test runs, not kept in the repository.
package ggufcorrupt

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"inferenceruntime/inference/quant"
)

// GGUF value type codes and limits, as package gguf numbers them (its
// tests check that they agree; this package cannot import gguf, whose own
// tests import it).
const (
	Uint8   = 0
	Int8    = 1
	Int16   = 3
	Uint32  = 4
	Float32 = 6
	Bool    = 7
	String  = 8
	Array   = 9
	Uint64  = 10
	Float64 = 12

	// Alignment is the default alignment of the tensor data section.
	Alignment     = 32
	maxArrayDepth = 8
)

// Raw assembles GGUF bytes field by field.
type Raw struct{ B []byte }

// New starts an empty file.
func New() *Raw { return &Raw{} }

// Header starts a version 3 file with the given counts.
func Header(nTensors, nKV uint64) *Raw {
	return New().Bytes([]byte("GGUF")).U32(3).U64(nTensors).U64(nKV)
}

func (r *Raw) U8(v uint8) *Raw   { r.B = append(r.B, v); return r }
func (r *Raw) U32(v uint32) *Raw { r.B = binary.LittleEndian.AppendUint32(r.B, v); return r }
func (r *Raw) U64(v uint64) *Raw { r.B = binary.LittleEndian.AppendUint64(r.B, v); return r }
func (r *Raw) Str(s string) *Raw { return r.U64(uint64(len(s))).Bytes([]byte(s)) }
func (r *Raw) Bytes(b []byte) *Raw {
	r.B = append(r.B, b...)
	return r
}

// KV appends a key with a type tag; the caller appends the value.
func (r *Raw) KV(key string, t uint32) *Raw { return r.Str(key).U32(t) }

// Tensor appends a tensor info.
func (r *Raw) Tensor(name string, t quant.Type, offset uint64, dims ...uint64) *Raw {
	r.Str(name).U32(uint32(len(dims)))
	for _, d := range dims {
		r.U64(d)
	}
	return r.U32(uint32(t)).U64(offset)
}

// Data pads to the default alignment and appends n bytes of tensor data.
func (r *Raw) Data(n int) *Raw {
	for len(r.B)%Alignment != 0 {
		r.B = append(r.B, 0)
	}
	return r.Bytes(make([]byte, n))
}

// Case is one corrupt file: parsing Make's bytes must fail with an error
// that contains Want.
type Case struct {
	Name string
	Want string
	Make func() []byte
}

// Write writes every case into dir as NAME.gguf and returns the paths.
func Write(dir string) ([]string, error) {
	paths := make([]string, 0, len(Cases))
	for _, c := range Cases {
		p, err := c.Write(dir)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Write writes the case into dir as NAME.gguf and returns the path.
func (c Case) Write(dir string) (string, error) {
	p := filepath.Join(dir, c.Name+".gguf")
	if err := os.WriteFile(p, c.Make(), 0o644); err != nil {
		return "", fmt.Errorf("ggufcorrupt: %w", err)
	}
	return p, nil
}

// Find returns the case of that name.
func Find(name string) (Case, bool) {
	for _, c := range Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// Cases are the corrupt files.
var Cases = []Case{
	{"empty", "not a GGUF file", func() []byte { return nil }},
	{"short-magic", "not a GGUF file", func() []byte { return []byte("GGU") }},
	{"bad-magic", "magic is \"GGML\"", func() []byte { return New().Bytes([]byte("GGML")).U32(3).U64(0).U64(0).B }},
	{"no-version", "file ends inside the version", func() []byte { return []byte("GGUF\x03\x00") }},
	{"version-1", "unsupported GGUF version 1", func() []byte { return New().Bytes([]byte("GGUF")).U32(1).U32(0).U32(0).B }},
	{"version-4", "unsupported GGUF version 4", func() []byte { return New().Bytes([]byte("GGUF")).U32(4).U64(0).U64(0).B }},
	{"version-huge", "unsupported GGUF version 4294967295", func() []byte { return New().Bytes([]byte("GGUF")).U32(math.MaxUint32).U64(0).U64(0).B }},
	{"big-endian-version", "big-endian", func() []byte {
		return New().Bytes([]byte("GGUF")).Bytes([]byte{0, 0, 0, 3}).Bytes(make([]byte, 16)).B
	}},
	{"big-endian-magic", "big-endian", func() []byte {
		return New().Bytes([]byte("FUGG")).Bytes([]byte{0, 0, 0, 3}).Bytes(make([]byte, 16)).B
	}},
	{"no-counts", "file ends inside the tensor count", func() []byte { return New().Bytes([]byte("GGUF")).U32(3).U32(0).B }},
	{"huge-tensor-count", "tensor count is 9223372036854775807", func() []byte { return Header(math.MaxInt64, 0).B }},
	{"huge-tensor-count-max", "tensor count is 18446744073709551615", func() []byte { return Header(math.MaxUint64, 0).B }},
	{"huge-kv-count", "metadata key-value count is 1099511627776", func() []byte { return Header(0, 1<<40).KV("a", Uint8).U8(1).B }},
	{"second-key-past-end", "key of metadata pair 1: string length 100 runs past the end", func() []byte {
		return Header(0, 2).KV("a", Uint32).U32(7).U64(100).Bytes(make([]byte, 10)).B
	}},
	{"key-length-past-end", "key of metadata pair 0: string length 4096 runs past the end", func() []byte {
		return Header(0, 1).U64(4096).Bytes([]byte("general.name")).U32(8).U64(1).B
	}},
	{"key-length-huge", "string length 18446744073709551615 runs past the end", func() []byte {
		return Header(0, 1).U64(math.MaxUint64).Bytes(make([]byte, 32)).B
	}},
	{"key-too-long", "string length 70000 exceeds the limit of 65535", func() []byte {
		return Header(0, 1).Str(strings.Repeat("k", 70000)).U32(uint32(Uint8)).U8(0).B
	}},
	{"empty-key", "metadata pair 0 has an empty key", func() []byte { return Header(0, 1).Str("").U32(uint32(Uint8)).U8(0).U8(0).B }},
	{"duplicate-key", "duplicate metadata key \"general.name\"", func() []byte {
		return Header(0, 2).KV("general.name", String).Str("a").KV("general.name", String).Str("b").B
	}},
	{"unknown-value-type", "key \"x\": unknown value type 13", func() []byte { return Header(0, 1).KV("x", 13).U64(0).B }},
	{"unknown-value-type-huge", "unknown value type 4294967295", func() []byte { return Header(0, 1).KV("x", math.MaxUint32).U64(0).B }},
	{"truncated-scalar", "key \"x\": file ends inside the uint64 value", func() []byte { return Header(0, 1).KV("x", Uint64).U32(5).B }},
	{"bool-2", "bool value is 2", func() []byte { return Header(0, 1).KV("flag", Bool).U8(2).B }},
	{"string-length-past-end", "key \"general.name\": string length 1000 runs past the end", func() []byte {
		return Header(0, 1).KV("general.name", String).U64(1000).Bytes([]byte("tiny")).B
	}},
	{"string-length-huge", "string length 9223372036854775808 runs past the end", func() []byte {
		return Header(0, 1).KV("general.name", String).U64(1 << 63).Bytes([]byte("tiny")).B
	}},
	{"array-unknown-elem-type", "key \"arr\": array has unknown element type 77", func() []byte {
		return Header(0, 1).KV("arr", Array).U32(77).U64(1).U64(0).B
	}},
	{"array-u32-length-past-end", "key \"arr\": array length is 1000, but only 16 bytes are left (each needs at least 4)", func() []byte {
		return Header(0, 1).KV("arr", Array).U32(uint32(Uint32)).U64(1000).Bytes(make([]byte, 16)).B
	}},
	{"array-length-huge", "array length is 18446744073709551615", func() []byte {
		return Header(0, 1).KV("arr", Array).U32(uint32(Float64)).U64(math.MaxUint64).Bytes(make([]byte, 64)).B
	}},
	{"array-length-overflow", "array length is 4611686018427387904", func() []byte {
		// 2^62 uint32 elements: 2^64 bytes, which wraps to 0 in 64-bit math.
		return Header(0, 1).KV("arr", Array).U32(uint32(Uint32)).U64(1 << 62).Bytes(make([]byte, 64)).B
	}},
	{"string-array-length", "key \"tokenizer.ggml.tokens\": array length is 100, but only 40 bytes are left (each needs at least 8)", func() []byte {
		return Header(0, 1).KV("tokenizer.ggml.tokens", Array).U32(uint32(String)).U64(100).Bytes(make([]byte, 40)).B
	}},
	{"string-array-element-past-end", "key \"tokenizer.ggml.tokens\": element 2: string length 999 runs past the end", func() []byte {
		return Header(0, 1).KV("tokenizer.ggml.tokens", Array).U32(uint32(String)).U64(3).Str("a").Str("b").U64(999).Bytes([]byte("c")).B
	}},
	{"array-of-arrays-length", "key \"nest\": array length is 1000000, but only 24 bytes are left (each needs at least 12)", func() []byte {
		return Header(0, 1).KV("nest", Array).U32(uint32(Array)).U64(1000000).Bytes(make([]byte, 24)).B
	}},
	{"array-nested-inner-past-end", "key \"nest\": element 1: array length is 1000", func() []byte {
		return Header(0, 1).KV("nest", Array).U32(uint32(Array)).U64(2).
			U32(uint32(Int8)).U64(1).U8(1).
			U32(uint32(Int16)).U64(1000).U64(0).B
	}},
	{"array-nested-too-deep", "arrays nested deeper than 8", func() []byte {
		r := Header(0, 1).KV("deep", Array)
		for range maxArrayDepth {
			r.U32(uint32(Array)).U64(1)
		}
		return r.U32(uint32(Uint8)).U64(1).U8(0).B
	}},
	{"array-bool-2", "bool element 1 is 7", func() []byte { return Header(0, 1).KV("flags", Array).U32(uint32(Bool)).U64(2).U8(1).U8(7).B }},
	{"alignment-0", "general.alignment is 0, want a non-zero power of two", func() []byte {
		return Header(0, 1).KV("general.alignment", Uint32).U32(0).B
	}},
	{"alignment-48", "general.alignment is 48, want a non-zero power of two", func() []byte {
		return Header(0, 1).KV("general.alignment", Uint32).U32(48).B
	}},
	{"alignment-uint64", "general.alignment is a uint64, want uint32", func() []byte {
		return Header(0, 1).KV("general.alignment", Uint64).U64(32).B
	}},
	{"alignment-string", "general.alignment is a string, want uint32", func() []byte {
		return Header(0, 1).KV("general.alignment", String).Str("32").B
	}},
	{"tensor-name-past-end", "name of tensor 0: string length 300 runs past the end", func() []byte {
		return Header(1, 0).U64(300).Bytes(make([]byte, 40)).B
	}},
	{"tensor-name-too-long", "tensor 0 has a name of 64 bytes, longer than the 63 GGUF allows", func() []byte {
		return Header(1, 0).Tensor("blk.0."+strings.Repeat("x", 58), quant.F32, 0, 4).Data(16).B
	}},
	{"tensor-empty-name", "tensor 0 has an empty name", func() []byte { return Header(1, 0).Tensor("", quant.F32, 0, 4).Data(16).B }},
	{"tensor-ndims-0", "tensor \"w\": 0 dimensions, want 1 to 4", func() []byte { return Header(1, 0).Tensor("w", quant.F32, 0).Data(64).B }},
	{"tensor-ndims-5", "tensor \"w\": 5 dimensions, want 1 to 4", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 0, 1, 1, 1, 1, 1).Data(64).B
	}},
	{"tensor-ndims-huge", "tensor \"w\": 4294967295 dimensions", func() []byte {
		return Header(1, 0).Str("w").U32(math.MaxUint32).Bytes(make([]byte, 64)).B
	}},
	{"tensor-dim-0", "tensor \"w\": dimension 1 is 0", func() []byte { return Header(1, 0).Tensor("w", quant.F32, 0, 4, 0).Data(64).B }},
	{"tensor-dims-overflow", "tensor \"w\": shape [4294967296 4294967296 4294967296]: element count overflows", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 0, 1<<32, 1<<32, 1<<32).Data(64).B
	}},
	{"tensor-dims-overflow-2", "element count overflows", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 0, math.MaxUint64, 2).Data(64).B
	}},
	{"tensor-elements-huge", "element count overflows (limit 2^56)", func() []byte {
		// 2^62 elements fit in 64 bits but their 2^64 bytes do not.
		return Header(1, 0).Tensor("w", quant.F32, 0, 1<<31, 1<<31).Data(64).B
	}},
	{"tensor-type-retired", "tensor \"w\": unknown tensor type 4", func() []byte { return Header(1, 0).Tensor("w", 4, 0, 32).Data(64).B }},
	{"tensor-type-unknown", "tensor \"w\": unknown tensor type 1000", func() []byte { return Header(1, 0).Tensor("w", 1000, 0, 32).Data(64).B }},
	{"tensor-row-not-blocks", "Q4_0 row length 48 is not a multiple of the block size 32", func() []byte {
		return Header(1, 0).Tensor("w", quant.Q4_0, 0, 48).Data(64).B
	}},
	{"tensor-truncated-info", "tensor \"w\": file ends inside the data offset", func() []byte {
		return Header(1, 0).Str("w").U32(1).U64(4).U32(0).U32(0).B
	}},
	{"tensor-duplicate-name", "duplicate tensor name \"w\"", func() []byte {
		return Header(2, 0).Tensor("w", quant.F32, 0, 8).Tensor("w", quant.F32, 32, 8).Data(64).B
	}},
	{"tensor-offset-misaligned", "tensor \"w\": data offset 4 is not a multiple of the alignment 32", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 4, 4).Data(64).B
	}},
	{"tensor-offset-misaligned-64", "data offset 32 is not a multiple of the alignment 64", func() []byte {
		return Header(1, 1).KV("general.alignment", Uint32).U32(64).Tensor("w", quant.F32, 32, 4).Data(128).B
	}},
	{"tensor-offset-past-end", "tensor \"w\": data [4096, +16) runs past the end of the file", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 4096, 4).Data(64).B
	}},
	{"tensor-size-past-end", "tensor \"w\": data [0, +1024) runs past the end of the file (data section holds 64 bytes)", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 0, 16, 16).Data(64).B
	}},
	{"tensor-offset-wraps", "runs past the end of the file", func() []byte {
		// offset + size wraps around 2^64 to a small number.
		return Header(1, 0).Tensor("w", quant.F32, math.MaxUint64-31, 16).Data(64).B
	}},
	{"tensor-no-data-section", "tensor data section would start at", func() []byte {
		return Header(1, 0).Tensor("w", quant.F32, 0, 4).Bytes([]byte{1}).B
	}},
	{"tensors-overlap", "tensors \"a\" [0, +64) and \"b\" [32, +32) overlap", func() []byte {
		return Header(2, 0).Tensor("a", quant.F32, 0, 16).Tensor("b", quant.F32, 32, 8).Data(128).B
	}},
	{"tensors-overlap-same-offset", "overlap", func() []byte {
		return Header(2, 0).Tensor("a", quant.F32, 64, 1).Tensor("b", quant.F32, 64, 1).Data(128).B
	}},
}
