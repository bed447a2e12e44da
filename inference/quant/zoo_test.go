package quant_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
	"inferenceruntime/internal/testshared"
)

// zooDir returns ../shared/models/quants (from the repository root), or
// skips the test when the reference data is absent.
func zooDir(t testing.TB) string {
	t.Helper()
	return testshared.Dir(t, "models", "quants")
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
var zooTypes = []quant.Type{
	quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
	quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS, quant.IQ3_S,
}

// zooTensorData returns a copy of the data of zoo.t0 followed by zoo.t1
// from a zoo file, read with the gguf package.
func zooTensorData(t testing.TB, path string, typ quant.Type) []byte {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []byte
	for _, name := range []string{"zoo.t0", "zoo.t1"} {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("%s: no tensor %s", path, name)
		}
		if ti.Type != typ || len(ti.Dims) != 2 || ti.Dims[0] != 256 || ti.Dims[1] != 32 {
			t.Fatalf("%s: %s is %s %v, want %s [256 32]", path, name, ti.Type, ti.Dims, typ)
		}
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, data...)
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
			if err := quant.Dequantize(typ, data, got); err != nil {
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
		typ  quant.Type
		file string
	}{
		{quant.Q8_0, "q8_0"}, {quant.Q8_1, "q8_1"}, {quant.Q8_K, "q8_K"}, {quant.F16, "f16"}, {quant.BF16, "bf16"},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(zoo, "zoo-dot-x."+tc.file+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := quant.Quantize(tc.typ, x)
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
		if !quant.CanQuantize(typ) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			src := readFloats(t, filepath.Join(zoo, "zoo-"+typ.String()+".source.f32"))
			want := zooTensorData(t, filepath.Join(zoo, "zoo-"+typ.String()+".gguf"), typ)
			got, err := quant.Quantize(typ, src)
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
