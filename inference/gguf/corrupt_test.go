package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/quant"
)

var update = flag.Bool("update", false, "rewrite testdata/corrupt from the generators in corrupt_test.go")

// raw assembles GGUF bytes field by field, so tests can write headers the
// Writer refuses to make.
type raw struct{ b []byte }

func (r *raw) u8(v uint8) *raw   { r.b = append(r.b, v); return r }
func (r *raw) u32(v uint32) *raw { r.b = binary.LittleEndian.AppendUint32(r.b, v); return r }
func (r *raw) u64(v uint64) *raw { r.b = binary.LittleEndian.AppendUint64(r.b, v); return r }
func (r *raw) str(s string) *raw { return r.u64(uint64(len(s))).bytes([]byte(s)) }
func (r *raw) bytes(b []byte) *raw {
	r.b = append(r.b, b...)
	return r
}

// header starts a version 3 file with the given counts.
func header(nTensors, nKV uint64) *raw {
	return new(raw).bytes([]byte("GGUF")).u32(3).u64(nTensors).u64(nKV)
}

// kv appends a key with a type tag; the caller appends the value.
func (r *raw) kv(key string, t ValueType) *raw { return r.str(key).u32(uint32(t)) }

// tensor appends a tensor info.
func (r *raw) tensor(name string, t quant.Type, offset uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(t)).u64(offset)
}

// data pads to the 32-byte alignment and appends n bytes of tensor data.
func (r *raw) data(n int) *raw {
	for len(r.b)%DefaultAlignment != 0 {
		r.b = append(r.b, 0)
	}
	return r.bytes(make([]byte, n))
}

// corruptCases are the hand-made corrupt files of testdata/corrupt: each
// must fail to parse with an error containing want.
var corruptCases = []struct {
	name string
	want string
	make func() []byte
}{
	{"empty", "not a GGUF file", func() []byte { return nil }},
	{"short-magic", "not a GGUF file", func() []byte { return []byte("GGU") }},
	{"bad-magic", "magic is \"GGML\"", func() []byte { return new(raw).bytes([]byte("GGML")).u32(3).u64(0).u64(0).b }},
	{"no-version", "file ends inside the version", func() []byte { return []byte("GGUF\x03\x00") }},
	{"version-1", "unsupported GGUF version 1", func() []byte { return new(raw).bytes([]byte("GGUF")).u32(1).u32(0).u32(0).b }},
	{"version-4", "unsupported GGUF version 4", func() []byte { return new(raw).bytes([]byte("GGUF")).u32(4).u64(0).u64(0).b }},
	{"version-huge", "unsupported GGUF version 4294967295", func() []byte { return new(raw).bytes([]byte("GGUF")).u32(math.MaxUint32).u64(0).u64(0).b }},
	{"big-endian-version", "big-endian", func() []byte {
		return new(raw).bytes([]byte("GGUF")).bytes([]byte{0, 0, 0, 3}).bytes(make([]byte, 16)).b
	}},
	{"big-endian-magic", "big-endian", func() []byte {
		return new(raw).bytes([]byte("FUGG")).bytes([]byte{0, 0, 0, 3}).bytes(make([]byte, 16)).b
	}},
	{"no-counts", "file ends inside the tensor count", func() []byte { return new(raw).bytes([]byte("GGUF")).u32(3).u32(0).b }},
	{"huge-tensor-count", "tensor count is 9223372036854775807", func() []byte { return header(math.MaxInt64, 0).b }},
	{"huge-tensor-count-max", "tensor count is 18446744073709551615", func() []byte { return header(math.MaxUint64, 0).b }},
	{"huge-kv-count", "metadata key-value count is 1099511627776", func() []byte { return header(0, 1<<40).kv("a", Uint8).u8(1).b }},
	{"second-key-past-end", "key of metadata pair 1: string length 100 runs past the end", func() []byte {
		return header(0, 2).kv("a", Uint32).u32(7).u64(100).bytes(make([]byte, 10)).b
	}},
	{"key-length-past-end", "key of metadata pair 0: string length 4096 runs past the end", func() []byte {
		return header(0, 1).u64(4096).bytes([]byte("general.name")).u32(8).u64(1).b
	}},
	{"key-length-huge", "string length 18446744073709551615 runs past the end", func() []byte {
		return header(0, 1).u64(math.MaxUint64).bytes(make([]byte, 32)).b
	}},
	{"key-too-long", "string length 70000 exceeds the limit of 65535", func() []byte {
		return header(0, 1).str(strings.Repeat("k", 70000)).u32(uint32(Uint8)).u8(0).b
	}},
	{"empty-key", "metadata pair 0 has an empty key", func() []byte { return header(0, 1).str("").u32(uint32(Uint8)).u8(0).u8(0).b }},
	{"duplicate-key", "duplicate metadata key \"general.name\"", func() []byte {
		return header(0, 2).kv("general.name", String).str("a").kv("general.name", String).str("b").b
	}},
	{"unknown-value-type", "key \"x\": unknown value type 13", func() []byte { return header(0, 1).kv("x", 13).u64(0).b }},
	{"unknown-value-type-huge", "unknown value type 4294967295", func() []byte { return header(0, 1).kv("x", math.MaxUint32).u64(0).b }},
	{"truncated-scalar", "key \"x\": file ends inside the uint64 value", func() []byte { return header(0, 1).kv("x", Uint64).u32(5).b }},
	{"bool-2", "bool value is 2", func() []byte { return header(0, 1).kv("flag", Bool).u8(2).b }},
	{"string-length-past-end", "key \"general.name\": string length 1000 runs past the end", func() []byte {
		return header(0, 1).kv("general.name", String).u64(1000).bytes([]byte("tiny")).b
	}},
	{"string-length-huge", "string length 9223372036854775808 runs past the end", func() []byte {
		return header(0, 1).kv("general.name", String).u64(1 << 63).bytes([]byte("tiny")).b
	}},
	{"array-unknown-elem-type", "key \"arr\": array has unknown element type 77", func() []byte {
		return header(0, 1).kv("arr", Array).u32(77).u64(1).u64(0).b
	}},
	{"array-u32-length-past-end", "key \"arr\": array length is 1000, but only 16 bytes are left (each needs at least 4)", func() []byte {
		return header(0, 1).kv("arr", Array).u32(uint32(Uint32)).u64(1000).bytes(make([]byte, 16)).b
	}},
	{"array-length-huge", "array length is 18446744073709551615", func() []byte {
		return header(0, 1).kv("arr", Array).u32(uint32(Float64)).u64(math.MaxUint64).bytes(make([]byte, 64)).b
	}},
	{"array-length-overflow", "array length is 4611686018427387904", func() []byte {
		// 2^62 uint32 elements: 2^64 bytes, which wraps to 0 in 64-bit math.
		return header(0, 1).kv("arr", Array).u32(uint32(Uint32)).u64(1 << 62).bytes(make([]byte, 64)).b
	}},
	{"string-array-length", "key \"tokenizer.ggml.tokens\": array length is 100, but only 40 bytes are left (each needs at least 8)", func() []byte {
		return header(0, 1).kv("tokenizer.ggml.tokens", Array).u32(uint32(String)).u64(100).bytes(make([]byte, 40)).b
	}},
	{"string-array-element-past-end", "key \"tokenizer.ggml.tokens\": element 2: string length 999 runs past the end", func() []byte {
		return header(0, 1).kv("tokenizer.ggml.tokens", Array).u32(uint32(String)).u64(3).str("a").str("b").u64(999).bytes([]byte("c")).b
	}},
	{"array-of-arrays-length", "key \"nest\": array length is 1000000, but only 24 bytes are left (each needs at least 12)", func() []byte {
		return header(0, 1).kv("nest", Array).u32(uint32(Array)).u64(1000000).bytes(make([]byte, 24)).b
	}},
	{"array-nested-inner-past-end", "key \"nest\": element 1: array length is 1000", func() []byte {
		return header(0, 1).kv("nest", Array).u32(uint32(Array)).u64(2).
			u32(uint32(Int8)).u64(1).u8(1).
			u32(uint32(Int16)).u64(1000).u64(0).b
	}},
	{"array-nested-too-deep", "arrays nested deeper than 8", func() []byte {
		r := header(0, 1).kv("deep", Array)
		for range MaxArrayDepth {
			r.u32(uint32(Array)).u64(1)
		}
		return r.u32(uint32(Uint8)).u64(1).u8(0).b
	}},
	{"array-bool-2", "bool element 1 is 7", func() []byte { return header(0, 1).kv("flags", Array).u32(uint32(Bool)).u64(2).u8(1).u8(7).b }},
	{"alignment-0", "general.alignment is 0, want a non-zero power of two", func() []byte {
		return header(0, 1).kv("general.alignment", Uint32).u32(0).b
	}},
	{"alignment-48", "general.alignment is 48, want a non-zero power of two", func() []byte {
		return header(0, 1).kv("general.alignment", Uint32).u32(48).b
	}},
	{"alignment-uint64", "general.alignment is a uint64, want uint32", func() []byte {
		return header(0, 1).kv("general.alignment", Uint64).u64(32).b
	}},
	{"alignment-string", "general.alignment is a string, want uint32", func() []byte {
		return header(0, 1).kv("general.alignment", String).str("32").b
	}},
	{"tensor-name-past-end", "name of tensor 0: string length 300 runs past the end", func() []byte {
		return header(1, 0).u64(300).bytes(make([]byte, 40)).b
	}},
	{"tensor-name-too-long", "tensor 0 has a name of 64 bytes, longer than the 63 GGUF allows", func() []byte {
		return header(1, 0).tensor("blk.0."+strings.Repeat("x", 58), quant.F32, 0, 4).data(16).b
	}},
	{"tensor-empty-name", "tensor 0 has an empty name", func() []byte { return header(1, 0).tensor("", quant.F32, 0, 4).data(16).b }},
	{"tensor-ndims-0", "tensor \"w\": 0 dimensions, want 1 to 4", func() []byte { return header(1, 0).tensor("w", quant.F32, 0).data(64).b }},
	{"tensor-ndims-5", "tensor \"w\": 5 dimensions, want 1 to 4", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 0, 1, 1, 1, 1, 1).data(64).b
	}},
	{"tensor-ndims-huge", "tensor \"w\": 4294967295 dimensions", func() []byte {
		return header(1, 0).str("w").u32(math.MaxUint32).bytes(make([]byte, 64)).b
	}},
	{"tensor-dim-0", "tensor \"w\": dimension 1 is 0", func() []byte { return header(1, 0).tensor("w", quant.F32, 0, 4, 0).data(64).b }},
	{"tensor-dims-overflow", "tensor \"w\": shape [4294967296 4294967296 4294967296]: element count overflows", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 0, 1<<32, 1<<32, 1<<32).data(64).b
	}},
	{"tensor-dims-overflow-2", "element count overflows", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 0, math.MaxUint64, 2).data(64).b
	}},
	{"tensor-elements-huge", "element count overflows (limit 2^56)", func() []byte {
		// 2^62 elements fit in 64 bits but their 2^64 bytes do not.
		return header(1, 0).tensor("w", quant.F32, 0, 1<<31, 1<<31).data(64).b
	}},
	{"tensor-type-retired", "tensor \"w\": unknown tensor type 4", func() []byte { return header(1, 0).tensor("w", 4, 0, 32).data(64).b }},
	{"tensor-type-unknown", "tensor \"w\": unknown tensor type 1000", func() []byte { return header(1, 0).tensor("w", 1000, 0, 32).data(64).b }},
	{"tensor-row-not-blocks", "Q4_0 row length 48 is not a multiple of the block size 32", func() []byte {
		return header(1, 0).tensor("w", quant.Q4_0, 0, 48).data(64).b
	}},
	{"tensor-truncated-info", "tensor \"w\": file ends inside the data offset", func() []byte {
		return header(1, 0).str("w").u32(1).u64(4).u32(0).u32(0).b
	}},
	{"tensor-duplicate-name", "duplicate tensor name \"w\"", func() []byte {
		return header(2, 0).tensor("w", quant.F32, 0, 8).tensor("w", quant.F32, 32, 8).data(64).b
	}},
	{"tensor-offset-misaligned", "tensor \"w\": data offset 4 is not a multiple of the alignment 32", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 4, 4).data(64).b
	}},
	{"tensor-offset-misaligned-64", "data offset 32 is not a multiple of the alignment 64", func() []byte {
		return header(1, 1).kv("general.alignment", Uint32).u32(64).tensor("w", quant.F32, 32, 4).data(128).b
	}},
	{"tensor-offset-past-end", "tensor \"w\": data [4096, +16) runs past the end of the file", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 4096, 4).data(64).b
	}},
	{"tensor-size-past-end", "tensor \"w\": data [0, +1024) runs past the end of the file (data section holds 64 bytes)", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 0, 16, 16).data(64).b
	}},
	{"tensor-offset-wraps", "runs past the end of the file", func() []byte {
		// offset + size wraps around 2^64 to a small number.
		return header(1, 0).tensor("w", quant.F32, math.MaxUint64-31, 16).data(64).b
	}},
	{"tensor-no-data-section", "tensor data section would start at", func() []byte {
		return header(1, 0).tensor("w", quant.F32, 0, 4).bytes([]byte{1}).b
	}},
	{"tensors-overlap", "tensors \"a\" [0, +64) and \"b\" [32, +32) overlap", func() []byte {
		return header(2, 0).tensor("a", quant.F32, 0, 16).tensor("b", quant.F32, 32, 8).data(128).b
	}},
	{"tensors-overlap-same-offset", "overlap", func() []byte {
		return header(2, 0).tensor("a", quant.F32, 64, 1).tensor("b", quant.F32, 64, 1).data(128).b
	}},
}

func TestCorruptFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "corrupt")
	if *update {
		must(t, os.MkdirAll(dir, 0o755))
	}
	seen := map[string]bool{}
	for _, tc := range corruptCases {
		path := filepath.Join(dir, tc.name+".gguf")
		seen[filepath.Base(path)] = true
		t.Run(tc.name, func(t *testing.T) {
			want := tc.make()
			if *update {
				must(t, os.WriteFile(path, want, 0o644))
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCorruptFixtures -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from its generator (run go test -run TestCorruptFixtures -update)", path)
			}
			_, err = Parse(got)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %q is not a *FormatError", err)
			}
			if _, err := Open(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: %v", err)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	must(t, err)
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("testdata/corrupt/%s has no case in corruptCases", e.Name())
		}
	}
}

// validFiles are valid files to cut: a Writer file, and three real models
// (one per family of the shared models) when present.
func validFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{"writer-sample": writeBytes(t, sampleWriter(t))}
	if models, ok := sharedModelsIfPresent(t); ok {
		for _, name := range []string{"stories260K-Q4_0.gguf", "quants/zoo-Q4_K.gguf", "conf-tiny/tiny-qwen2-Q8_0.gguf"} {
			b, err := os.ReadFile(filepath.Join(models, name))
			must(t, err)
			files[name] = b
		}
	}
	return files
}

// TestTruncation cuts real files at every byte of their header (and at
// steps through their tensor data): every cut that loses part of the header
// or of a tensor must be an error.
func TestTruncation(t *testing.T) {
	for name, data := range validFiles(t) {
		f, err := Parse(data)
		must(t, err)
		// The data that must be present: through the end of the last tensor.
		need := f.DataOffset
		for _, ti := range f.Tensors {
			need = max(need, f.DataOffset+int64(ti.Offset)+ti.Size)
		}
		headerEnd := int(f.DataOffset)
		cuts := 0
		for n := 0; n < int(need); n++ {
			if n > headerEnd && (n-headerEnd)%97 != 0 {
				continue // sample the tensor data; every header byte is tried
			}
			cuts++
			if _, err := Parse(data[:n]); err == nil {
				t.Fatalf("%s cut at %d of %d bytes parsed without error", name, n, len(data))
			}
		}
		t.Logf("%s: %d cuts, header %d bytes", name, cuts, headerEnd)
	}
}
