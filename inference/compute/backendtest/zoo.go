package backendtest

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
	"inferenceruntime/internal/testshared"
)

// Zoo checks a device's dequantization and products on llama.cpp's
// quantization zoo (../shared/models/quants): for each type the device
// supports, both tensors (the second full of edge cases) gathered by GetRows
// must match ggml's dequantization, and their products with the zoo's x must
// match float64 on those values. It covers the types package quant cannot
// quantize (IQ4_NL, IQ4_XS, ...).
func Zoo(t *testing.T, dev compute.Device) {
	dir := testshared.Dir(t, "models", "quants")
	x, err := readF32(filepath.Join(dir, "zoo-dot-x.f32"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "zoo-*.gguf"))
	for _, path := range files {
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dt := f.Tensors[0].Type
		t.Run(dt.String(), func(t *testing.T) {
			if !dev.Supports(compute.OpGetRows, dt) || !dev.Supports(compute.OpMulMat, dt) {
				t.Skipf("%s does not support %s", dev.Name(), dt)
			}
			deq, err := readF32(path[:len(path)-len(".gguf")] + ".dequant.f32")
			if err != nil {
				t.Fatal(err)
			}
			for i, ti := range f.Tensors {
				raw, err := f.TensorData(ti)
				if err != nil {
					t.Fatal(err)
				}
				cols, rows := int(ti.Dims[0]), int(ti.Dims[1])
				want := deq[i*rows*cols:][:rows*cols]
				e := newEnv(t, dev)
				w := e.leaf(dt, compute.Shape{cols, rows}, raw)
				ids := make([]int32, rows)
				for r := range ids {
					ids[r] = int32(r)
				}
				if got := e.run(e.g.GetRows(w, e.g.Int32s(ids))); NormErr(got, want) > 1e-6 {
					t.Errorf("%s: get_rows differs from ggml's dequantization by %.3g", ti.Name, NormErr(got, want))
				}
				got := e.run(e.g.MulMat(w, e.g.Float32s(x, compute.Shape{cols})))
				exact := make([]float32, rows)
				for r := range exact {
					var s float64
					for k := range cols {
						s += float64(want[r*cols+k]) * float64(x[k])
					}
					exact[r] = float32(s)
				}
				if err := NormErr(got, exact); !(err <= 1e-5) {
					t.Errorf("%s: product differs from float64 by %.3g", ti.Name, err)
				}
			}
		})
	}
}

func readF32(path string) ([]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// productTypes are the weight types the op suite quantizes itself.
var productTypes = []compute.DType{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1,
	quant.Q5_0, quant.Q5_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K}
