package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"inferenceruntime/inference/quant"
	"inferenceruntime/internal/testshared"
)

// sharedModelsIfPresent returns ../shared/models (from the repository
// root), or false when it is absent, so that callers can go on with
// synthetic inputs.
func sharedModelsIfPresent(t testing.TB) (string, bool) {
	models, err := testshared.Find("models")
	if err != nil {
		t.Logf("using synthetic inputs only: %v", err)
		return "", false
	}
	return models, true
}

// sharedModels lists every .gguf file under ../shared/models.
func sharedModels(t testing.TB) []string {
	t.Helper()
	root := testshared.Dir(t, "models")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no .gguf files under %s", root)
	}
	return files
}

// f32Bytes encodes floats little-endian.
func f32Bytes(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// sampleWriter builds a small file exercising every value type.
func sampleWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	inner1, _ := NewValue([]int32{1, -2})
	inner2, _ := NewValue([]string{"x"})
	nested, _ := NewValue([]Value{inner1, inner2})
	kvs := []struct {
		k string
		v any
	}{
		{"general.architecture", "llama"},
		{"general.name", "sample"},
		{"u8", uint8(200)}, {"i8", int8(-100)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
		{"u32", uint32(4000000000)}, {"i32", int32(-2000000000)},
		{"u64", uint64(1) << 63}, {"i64", int64(-1) << 62},
		{"f32", float32(1.5)}, {"f64", 2.25}, {"yes", true}, {"no", false},
		{"strs", []string{"a", "", "ccc"}},
		{"scores", []float32{0.5, -1}},
		{"types", []int32{1, 2, 3}},
		{"u32s", []uint32{7, 8}},
		{"bools", []bool{true, false}},
		{"nested", nested},
		{"general.alignment", uint32(64)},
	}
	for _, kv := range kvs {
		if err := w.SetKV(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	must(t, w.AddTensor("a", quant.F32, []uint64{3}, f32Bytes(1, 2, 3)))
	must(t, w.AddTensor("b", quant.F32, []uint64{2, 2}, f32Bytes(4, 5, 6, 7)))
	q := make([]byte, 2*34)
	for i := range q {
		q[i] = byte(i)
	}
	must(t, w.AddTensor("c", quant.Q8_0, []uint64{32, 2}, q))
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	must(t, err)
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := writeBytes(t, sampleWriter(t))
	f, err := Parse(data)
	must(t, err)
	if f.Version != 3 || f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Errorf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if got := f.Architecture(); got != "llama" {
		t.Errorf("architecture %q", got)
	}
	checkU := func(k string, want uint64) {
		if got, ok := f.Uint(k); !ok || got != want {
			t.Errorf("Uint(%s) = %d, %v; want %d", k, got, ok, want)
		}
	}
	checkI := func(k string, want int64) {
		if got, ok := f.Int(k); !ok || got != want {
			t.Errorf("Int(%s) = %d, %v; want %d", k, got, ok, want)
		}
	}
	checkU("u8", 200)
	checkU("u16", 60000)
	checkU("u32", 4000000000)
	checkU("u64", 1<<63)
	checkI("i8", -100)
	checkI("i16", -30000)
	checkI("i32", -2000000000)
	checkI("i64", -1<<62)
	if _, ok := f.Uint("i8"); ok {
		t.Error("Uint of a negative int8 succeeded")
	}
	if _, ok := f.Int("u64"); ok {
		t.Error("Int of 2^63 succeeded")
	}
	if v, ok := f.Float("f32"); !ok || v != 1.5 {
		t.Errorf("f32 = %v", v)
	}
	if v, ok := f.Float("f64"); !ok || v != 2.25 {
		t.Errorf("f64 = %v", v)
	}
	if v, ok := f.Bool("yes"); !ok || !v {
		t.Error("yes")
	}
	if v, ok := f.Bool("no"); !ok || v {
		t.Error("no")
	}
	if v, ok := f.Strings("strs"); !ok || !reflect.DeepEqual(v, []string{"a", "", "ccc"}) {
		t.Errorf("strs = %q", v)
	}
	if v, ok := f.Float32s("scores"); !ok || !reflect.DeepEqual(v, []float32{0.5, -1}) {
		t.Errorf("scores = %v", v)
	}
	if v, ok := f.Int32s("types"); !ok || !reflect.DeepEqual(v, []int32{1, 2, 3}) {
		t.Errorf("types = %v", v)
	}
	if v, _ := f.Get("u32s"); !reflect.DeepEqual(v.Any(), []any{uint32(7), uint32(8)}) {
		t.Errorf("u32s = %v", v.Any())
	}
	if v, _ := f.Get("bools"); !reflect.DeepEqual(v.Any(), []any{true, false}) {
		t.Errorf("bools = %v", v.Any())
	}
	if v, _ := f.Get("nested"); !reflect.DeepEqual(v.Any(), []any{[]any{int32(1), int32(-2)}, []any{"x"}}) {
		t.Errorf("nested = %v", v.Any())
	}
	if _, ok := f.String("u8"); ok {
		t.Error("String of a uint8 succeeded")
	}
	if len(f.KV) != 21 || f.KV[0].Key != "general.architecture" {
		t.Errorf("KV order: %d pairs, first %q", len(f.KV), f.KV[0].Key)
	}
	wantT := []struct {
		name  string
		typ   quant.Type
		dims  []uint64
		size  int64
		elems int64
		first byte
	}{
		{"a", quant.F32, []uint64{3}, 12, 3, 0},
		{"b", quant.F32, []uint64{2, 2}, 16, 4, 0},
		{"c", quant.Q8_0, []uint64{32, 2}, 68, 64, 0},
	}
	if len(f.Tensors) != len(wantT) {
		t.Fatalf("%d tensors", len(f.Tensors))
	}
	for i, w := range wantT {
		ti, ok := f.Tensor(w.name)
		if !ok || ti.Type != w.typ || !reflect.DeepEqual(ti.Dims, w.dims) || ti.Size != w.size || ti.Elements() != w.elems || ti.Offset%64 != 0 {
			t.Errorf("tensor %d: %+v", i, ti)
		}
	}
	a, _ := f.Tensor("a")
	if d, err := f.TensorData(a); err != nil || !bytes.Equal(d, f32Bytes(1, 2, 3)) {
		t.Errorf("data of a: %v %v", d, err)
	}
	c, _ := f.Tensor("c")
	if d, err := f.TensorData(c); err != nil || d[67] != 67 {
		t.Errorf("data of c: %v", err)
	}
	bad := c
	bad.Size++
	if _, err := f.TensorData(bad); err == nil {
		t.Error("TensorData accepted a changed TensorInfo")
	}
	// Writing what we read gives the same bytes back.
	w2 := NewWriter()
	for _, kv := range f.KV {
		must(t, w2.SetKV(kv.Key, kv.Value))
	}
	for _, ti := range f.Tensors {
		d, _ := f.TensorData(ti)
		must(t, w2.AddTensor(ti.Name, ti.Type, ti.Dims, d))
	}
	if again := writeBytes(t, w2); !bytes.Equal(again, data) {
		t.Error("re-writing a parsed file changed its bytes")
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	must(t, sampleWriter(t).WriteFile(path))
	f, err := Open(path)
	must(t, err)
	b, _ := f.Tensor("b")
	d, err := f.TensorData(b)
	if err != nil || !bytes.Equal(d, f32Bytes(4, 5, 6, 7)) {
		t.Fatalf("TensorData: %v %v", d, err)
	}
	st, _ := os.Stat(path)
	if f.Size() != st.Size() {
		t.Errorf("Size %d, file %d", f.Size(), st.Size())
	}
	must(t, f.Close())
	if _, err := f.TensorData(b); err == nil {
		t.Error("TensorData after Close succeeded")
	}
	if name, _ := f.String("general.name"); name != "sample" {
		t.Error("metadata lost after Close")
	}
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	must(t, os.WriteFile(empty, nil, 0o644))
	if _, err := Open(empty); err == nil || !strings.Contains(err.Error(), "not a GGUF file") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Error("missing file opened")
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("directory opened")
	}
}

func TestWriterRejects(t *testing.T) {
	w := NewWriter()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"alignment type", w.SetKV("general.alignment", 64)},
		{"alignment 0", w.SetKV("general.alignment", uint32(0))},
		{"alignment 48", w.SetKV("general.alignment", uint32(48))},
		{"empty key", w.SetKV("", "x")},
		{"go type", w.SetKV("k", struct{}{})},
		{"short data", w.AddTensor("t", quant.F32, []uint64{4}, make([]byte, 15))},
		{"row not blocks", w.AddTensor("t", quant.Q8_0, []uint64{16}, make([]byte, 17))},
		{"0 dims", w.AddTensor("t", quant.F32, nil, nil)},
		{"5 dims", w.AddTensor("t", quant.F32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4))},
		{"zero dim", w.AddTensor("t", quant.F32, []uint64{0}, nil)},
		{"unknown type", w.AddTensor("t", quant.Type(99), []uint64{1}, make([]byte, 4))},
		{"name of 64 bytes", w.AddTensor(strings.Repeat("n", 64), quant.F32, []uint64{1}, make([]byte, 4))},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	must(t, w.AddTensor("t", quant.F32, []uint64{1}, make([]byte, 4)))
	if err := w.AddTensor("t", quant.F32, []uint64{1}, make([]byte, 4)); err == nil {
		t.Error("duplicate tensor accepted")
	}
}

// TestTensorNameLimit: a name of 63 bytes is the longest llama.cpp loads;
// the Writer makes it and the reader takes it (64 is a corrupt fixture).
func TestTensorNameLimit(t *testing.T) {
	w := NewWriter()
	name := strings.Repeat("n", MaxTensorNameLen)
	must(t, w.AddTensor(name, quant.F32, []uint64{1}, make([]byte, 4)))
	f, err := Parse(writeBytes(t, w))
	must(t, err)
	if _, ok := f.Tensor(name); !ok {
		t.Errorf("no tensor %q", name)
	}
}

// TestSharedModels opens every GGUF file of the shared test data.
func TestSharedModels(t *testing.T) {
	for _, path := range sharedModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Architecture() == "" && !strings.Contains(path, "quants") { // the quant zoo holds bare tensors
				t.Error("no general.architecture")
			}
			var total int64
			for _, ti := range f.Tensors {
				d, err := f.TensorData(ti)
				if err != nil || int64(len(d)) != ti.Size {
					t.Fatalf("tensor %s: %d bytes, %v", ti.Name, len(d), err)
				}
				total += ti.Size
			}
			if total > f.Size() {
				t.Errorf("tensors hold %d bytes in a %d byte file", total, f.Size())
			}
		})
	}
}

func TestWriterRejectsBadValues(t *testing.T) {
	w := NewWriter()
	bad := Value{Type: 42}
	if err := w.SetKV("k", bad); err == nil {
		t.Error("value type 42 accepted")
	}
	arr, _ := NewValue([]uint8{1})
	for range MaxArrayDepth {
		arr, _ = NewValue([]Value{arr})
	}
	if err := w.SetKV("deep", arr); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("over-deep array: %v", err)
	}
	if _, err := NewValue([]Value{{Type: Uint8}}); err == nil {
		t.Error("array of arrays with a scalar element accepted")
	}
}

// TestVersion2 checks that a version 2 file, which has the same layout as
// version 3, is read.
func TestVersion2(t *testing.T) {
	data := writeBytes(t, sampleWriter(t))
	binary.LittleEndian.PutUint32(data[4:], 2)
	f, err := Parse(data)
	must(t, err)
	if f.Version != 2 || len(f.Tensors) != 3 {
		t.Errorf("version %d, %d tensors", f.Version, len(f.Tensors))
	}
}

func TestAlignments(t *testing.T) {
	for _, a := range []uint32{1, 8, 32, 4096} {
		w := sampleWriter(t)
		must(t, w.SetKV("general.alignment", a))
		f, err := Parse(writeBytes(t, w))
		must(t, err)
		if f.Alignment != uint64(a) || f.DataOffset%int64(a) != 0 {
			t.Errorf("alignment %d: got %d, data offset %d", a, f.Alignment, f.DataOffset)
		}
		for _, ti := range f.Tensors {
			if ti.Offset%uint64(a) != 0 {
				t.Errorf("alignment %d: tensor %s at %d", a, ti.Name, ti.Offset)
			}
		}
		b, _ := f.Tensor("b")
		if d, err := f.TensorData(b); err != nil || !bytes.Equal(d, f32Bytes(4, 5, 6, 7)) {
			t.Errorf("alignment %d: data of b %v %v", a, d, err)
		}
	}
}
