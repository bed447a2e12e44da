package quant_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/quant"
)

// zooDot is the part of a zoo-<T>.dot.json file the tests use.
type zooDot struct {
	Type       string    `json:"type"`
	NRows      int       `json:"n_rows"`
	NCols      int       `json:"n_cols"`
	VecDotType string    `json:"vec_dot_type"`
	XFile      string    `json:"x_quantized_file"`
	VecDot     []float64 `json:"vec_dot"`
	ExactQX    []float64 `json:"exact_qx_f64"`
}

// TestZooVecDot compares VecDot on each row of zoo.t0 with ggml's vec_dot
// result, relative to sum|w*x| (the scale of the rounding errors).
func TestZooVecDot(t *testing.T) {
	zoo := zooDir(t)
	x := readFloats(t, filepath.Join(zoo, "zoo-dot-x.f32"))
	for _, typ := range zooTypes {
		t.Run(typ.String(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(zoo, "zoo-"+typ.String()+".dot.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref zooDot
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			if ref.Type != typ.String() || ref.NCols != len(x) || len(ref.VecDot) != ref.NRows {
				t.Fatalf("unexpected reference file: %+v", ref)
			}
			if got := quant.VecDotType(typ).String(); !strings.EqualFold(got, ref.VecDotType) {
				t.Fatalf("VecDotType = %s, reference says %s", got, ref.VecDotType)
			}
			// The activations we quantize must be the ones ggml used.
			xq, err := quant.Quantize(quant.VecDotType(typ), x)
			if err != nil {
				t.Fatal(err)
			}
			wantXQ, err := os.ReadFile(filepath.Join(zoo, ref.XFile))
			if err != nil {
				t.Fatal(err)
			}
			if string(xq) != string(wantXQ) {
				t.Fatalf("x quantized to %s differs from %s", quant.VecDotType(typ), ref.XFile)
			}
			// ggml_vec_dot_f16 accumulates in fp16 on CPUs with AVX512-FP16,
			// which the reference machine had (see the zoo README).
			// Elsewhere the sums are exact integers and only float rounding
			// differs (observed up to 6.3e-8).
			tol := 2e-7
			if typ == quant.F16 {
				tol = 2e-4
			}
			data := zooTensorData(t, filepath.Join(zoo, "zoo-"+typ.String()+".gguf"), typ)
			rowSize := len(data) / 64
			w := make([]float32, len(x))
			worst := 0.0
			for r := 0; r < ref.NRows; r++ {
				row := data[r*rowSize : (r+1)*rowSize]
				got, err := quant.VecDot(typ, row, x)
				if err != nil {
					t.Fatal(err)
				}
				if err := quant.Dequantize(typ, row, w); err != nil {
					t.Fatal(err)
				}
				scale := 0.0
				for i := range w {
					scale += math.Abs(float64(w[i]) * float64(x[i]))
				}
				rel := math.Abs(float64(got)-ref.VecDot[r]) / scale
				worst = max(worst, rel)
				if rel > tol {
					t.Errorf("row %d: got %.9g, ggml %.9g (error %.3g of sum|w*x| = %.4g)", r, got, ref.VecDot[r], rel, scale)
				}
				// Our integer sums are the exact ones; only float rounding
				// separates us from the float64 evaluation of the same terms.
				if relQX := math.Abs(float64(got)-ref.ExactQX[r]) / scale; relQX > 2e-7 && typ != quant.F16 {
					t.Errorf("row %d: got %.9g, exact_qx_f64 %.9g (error %.3g)", r, got, ref.ExactQX[r], relQX)
				}
			}
			t.Logf("%s: worst error vs ggml vec_dot %.3g of sum|w*x| over %d rows", typ, worst, ref.NRows)
		})
	}
}

func TestVecDotErrors(t *testing.T) {
	x := make([]float32, 256)
	for _, c := range []struct {
		name string
		typ  quant.Type
		row  []byte
		x    []float32
		want string
	}{
		{"unsupported", quant.IQ2_XXS, make([]byte, 66), x, "IQ2_XXS is not supported"},
		{"partial block", quant.Q4_K, make([]byte, 143), x, "not a whole number of blocks"},
		{"x too short", quant.Q4_K, make([]byte, 144), x[:255], "not a multiple"},
		{"x too long", quant.Q4_0, make([]byte, 18), x[:64], "take 34 bytes, got 68"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := quant.VecDot(c.typ, c.row, c.x)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := quant.VecDotQuantized(quant.Q4_0, make([]byte, 18), make([]byte, 33)); err == nil {
		t.Error("VecDotQuantized with a short activation block: no error")
	}
	if quant.VecDotType(quant.IQ2_XXS) != quant.F32 || quant.CanVecDot(quant.IQ2_XXS) {
		t.Error("IQ2_XXS should not be dottable")
	}
}
