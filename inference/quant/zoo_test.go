package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// zooDir returns ../shared/models/quants relative to the repository root, or
// skips the test when the reference data is absent.
func zooDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the test directory")
		}
		dir = parent
	}
	zoo := filepath.Join(dir, "..", "shared", "models", "quants")
	if _, err := os.Stat(filepath.Join(zoo, "README.md")); err != nil {
		t.Skipf("quantization zoo not available at %s", zoo)
	}
	return zoo
}

// readFloats reads a little-endian float32 file.
func readFloats(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// zooTypes are the 15 types of the zoo.
var zooTypes = []Type{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, IQ3_S}

// zooTensorData returns the data of zoo.t0 followed by zoo.t1 from a zoo file.
func zooTensorData(t testing.TB, path string, typ Type) []byte {
	t.Helper()
	tensors, err := readZooGGUF(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var all []byte
	for _, name := range []string{"zoo.t0", "zoo.t1"} {
		ti, ok := tensors[name]
		if !ok {
			t.Fatalf("%s: no tensor %s", path, name)
		}
		if ti.typ != typ || len(ti.dims) != 2 || ti.dims[0] != 256 || ti.dims[1] != 32 {
			t.Fatalf("%s: %s is %s %v, want %s [256 32]", path, name, ti.typ, ti.dims, typ)
		}
		all = append(all, ti.data...)
	}
	return all
}

// TestZooDequantize checks that every zoo tensor dequantizes bit for bit to
// what ggml's to_float produced.
func TestZooDequantize(t *testing.T) {
	zoo := zooDir(t)
	for _, typ := range zooTypes {
		t.Run(typ.String(), func(t *testing.T) {
			data := zooTensorData(t, filepath.Join(zoo, "zoo-"+typ.String()+".gguf"), typ)
			want := readFloats(t, filepath.Join(zoo, "zoo-"+typ.String()+".dequant.f32"))
			got := make([]float32, len(want))
			if err := Dequantize(typ, data, got); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					if bad < 5 {
						t.Errorf("element %d (tensor t%d row %d col %d): got %g (%#08x), want %g (%#08x)",
							i, i/8192, i/256%32, i%256, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d elements differ", bad, len(want))
			}
		})
	}
}

// TestZooQuantizeActivations checks that x quantizes byte for byte to the
// vec_dot types ggml produced.
func TestZooQuantizeActivations(t *testing.T) {
	zoo := zooDir(t)
	x := readFloats(t, filepath.Join(zoo, "zoo-dot-x.f32"))
	for _, tc := range []struct {
		typ  Type
		file string
	}{
		{Q8_0, "q8_0"}, {Q8_1, "q8_1"}, {Q8_K, "q8_K"}, {F16, "f16"}, {BF16, "bf16"},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(zoo, "zoo-dot-x."+tc.file+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Quantize(tc.typ, x)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("first difference at byte %d (block %d, offset %d): got %#02x, want %#02x",
						i, i/tc.typ.TypeSize(), i%tc.typ.TypeSize(), got[i], want[i])
				}
			}
		})
	}
}

// TestZooQuantizeWeights checks that the reference quantizers reproduce the
// zoo tensors byte for byte (ggml made them with quantize_row_*_ref).
func TestZooQuantizeWeights(t *testing.T) {
	zoo := zooDir(t)
	for _, typ := range zooTypes {
		if !CanQuantize(typ) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			src := readFloats(t, filepath.Join(zoo, "zoo-"+typ.String()+".source.f32"))
			want := zooTensorData(t, filepath.Join(zoo, "zoo-"+typ.String()+".gguf"), typ)
			got, err := Quantize(typ, src)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
			bad := 0
			for i := range want {
				if got[i] != want[i] {
					if bad < 5 {
						blk := i / typ.TypeSize()
						t.Errorf("byte %d (block %d = tensor t%d row %d, offset %d): got %#02x, want %#02x",
							i, blk, blk*typ.BlockSize()/8192, blk*typ.BlockSize()/256%32, i%typ.TypeSize(), got[i], want[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d bytes differ", bad, len(want))
			}
		})
	}
}

// zooTensor is one tensor found by readZooGGUF.
type zooTensor struct {
	typ  Type
	dims []uint64
	data []byte
}

// readZooGGUF is a minimal GGUF v3 reader for the trusted zoo files, so that
// these tests do not depend on the gguf package (which imports this one).
func readZooGGUF(path string) (map[string]zooTensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &zooReader{b: b}
	if string(r.next(4)) != "GGUF" || r.u32() != 3 {
		return nil, fmt.Errorf("not a GGUF v3 file")
	}
	nt, nkv := r.u64(), r.u64()
	align := uint64(32)
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		key := r.str()
		vt := r.u32()
		if key == "general.alignment" && vt == 4 {
			align = uint64(r.u32())
			continue
		}
		r.skipValue(vt)
	}
	type info struct {
		name string
		zooTensor
		off uint64
	}
	var infos []info
	for i := uint64(0); i < nt && r.err == nil; i++ {
		in := info{name: r.str()}
		nd := r.u32()
		for j := uint32(0); j < nd && r.err == nil; j++ {
			in.dims = append(in.dims, r.u64())
		}
		in.typ = Type(r.u32())
		in.off = r.u64()
		infos = append(infos, in)
	}
	if r.err != nil {
		return nil, r.err
	}
	base := (uint64(r.pos) + align - 1) / align * align
	out := map[string]zooTensor{}
	for _, in := range infos {
		n := int64(1)
		for _, d := range in.dims {
			n *= int64(d)
		}
		size, err := in.typ.RowSize(n)
		if err != nil {
			return nil, err
		}
		start := base + in.off
		if start+uint64(size) > uint64(len(b)) {
			return nil, fmt.Errorf("tensor %s past the end of the file", in.name)
		}
		in.data = b[start : start+uint64(size)]
		out[in.name] = in.zooTensor
	}
	return out, nil
}

type zooReader struct {
	b   []byte
	pos int
	err error
}

func (r *zooReader) next(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)-r.pos) {
		r.err = fmt.Errorf("truncated at %d", r.pos)
		return make([]byte, n%64)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s
}

func (r *zooReader) u32() uint32 {
	b := r.next(4)
	if r.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *zooReader) u64() uint64 {
	b := r.next(8)
	if r.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *zooReader) str() string { return string(r.next(r.u64())) }

// skipValue skips a metadata value of GGUF value type vt.
func (r *zooReader) skipValue(vt uint32) {
	sizes := map[uint32]uint64{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	switch vt {
	case 8:
		r.str()
	case 9:
		et, n := r.u32(), r.u64()
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skipValue(et)
		}
	default:
		sz, ok := sizes[vt]
		if !ok {
			r.err = fmt.Errorf("unknown value type %d", vt)
			return
		}
		r.next(sz)
	}
}
