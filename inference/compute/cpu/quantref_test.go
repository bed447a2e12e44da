package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// weightTypes are the weight types the CPU backend runs.
var weightTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
	quant.Q8_0, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS, quant.IQ3_S}

func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestDequantizeRandomBlocks feeds random bytes (every bit pattern of scales
// and quants) to the C dequantizers and to package quant's reference.
func TestDequantizeRandomBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, qt := range weightTypes {
		if !quant.CanDequantize(qt) {
			t.Logf("%s: no reference dequantizer", qt)
			continue
		}
		n := 4 * qt.BlockSize() * 8
		if qt.BlockSize() == 1 {
			n = 256
		}
		data := make([]byte, n/qt.BlockSize()*qt.TypeSize())
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		want := make([]float32, n)
		if err := quant.Dequantize(qt, data, want); err != nil {
			t.Fatal(err)
		}
		got, err := DequantizeRow(qt, data, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !sameFloat(got[i], want[i]) {
				t.Fatalf("%s element %d: got %g (%#x), want %g (%#x)", qt, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestAgainstQuantReference quantizes random rows with package quant, then
// checks the C activation quantizers (byte for byte) and the C dot products
// at every ISA level against quant.VecDotQuantized.
func TestAgainstQuantReference(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const n, rows = 1024, 24
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, qt := range weightTypes {
			vdt, ok := VecDotType(qt)
			if !ok {
				t.Fatalf("%s unsupported", qt)
			}
			if vdt == quant.F32 || !quant.CanQuantize(qt) || !quant.CanVecDot(qt) {
				continue // float rows: see the zoo test; IQ types: no reference quantizer
			}
			if quant.VecDotType(qt) != vdt {
				t.Fatalf("%s: vec_dot type %s, reference says %s", qt, vdt, quant.VecDotType(qt))
			}
			worst := 0.0
			for row := 0; row < rows; row++ {
				scale := math.Pow(2, float64(row%9-4))
				w := randVec(r, n, scale)
				if row%6 == 5 {
					for i := range w {
						w[i] = float32(math.Abs(float64(w[i]))) // one-signed rows stress the mins
					}
				}
				x := randVec(r, n, 1)
				wq, err := quant.Quantize(qt, w)
				if err != nil {
					t.Fatal(err)
				}
				xqGo, err := quant.Quantize(vdt, x)
				if err != nil {
					t.Fatal(err)
				}
				xq, err := QuantizeRow(vdt, x)
				if err != nil {
					t.Fatal(err)
				}
				if string(xq) != string(xqGo) {
					t.Fatalf("%s: %s activations differ from the reference quantizer", isa, vdt)
				}
				want, err := quant.VecDotQuantized(qt, wq, xq)
				if err != nil {
					t.Fatal(err)
				}
				got, err := VecDot(qt, wq, xq, n)
				if err != nil {
					t.Fatal(err)
				}
				deq := make([]float32, n)
				quant.Dequantize(qt, wq, deq)
				mag := 0.0
				for i := range deq {
					mag += math.Abs(float64(deq[i]) * float64(x[i]))
				}
				worst = max(worst, math.Abs(float64(got)-float64(want))/mag)
			}
			if worst > 1e-6 {
				t.Errorf("%s %s: relative difference from quant.VecDotQuantized %.2e", isa, qt, worst)
			}
		}
	}
}

// TestKernelEntryErrors checks the single-kernel entry points refuse bad
// sizes instead of reading out of bounds.
func TestKernelEntryErrors(t *testing.T) {
	if _, err := VecDot(quant.Q4_0, make([]byte, 17), make([]byte, 34), 32); err == nil {
		t.Error("VecDot accepted a short row")
	}
	if _, err := VecDot(quant.Q4_0, make([]byte, 18), make([]byte, 34), 48); err == nil {
		t.Error("VecDot accepted a partial block")
	}
	if _, err := DequantizeRow(quant.Q4_K, make([]byte, 100), 256); err == nil {
		t.Error("DequantizeRow accepted a short block")
	}
	if _, err := QuantizeRow(quant.Q8_K, make([]float32, 100)); err == nil {
		t.Error("QuantizeRow accepted a partial block")
	}
	if _, ok := VecDotType(compute.DType(999)); ok {
		t.Error("unknown type reported as supported")
	}
}

// TestActivationTies checks rounding ties and edge values of the activation
// quantizers against package quant at every ISA level.
func TestActivationTies(t *testing.T) {
	x := make([]float32, 512)
	edge := []float32{127, -127, 2.5, -3.5, 0.5, -0.5, 0.49999997, -0.49999997, 126.5, -126.5, 1.5, 0, float32(math.Copysign(0, -1))}
	for i := range x {
		x[i] = edge[i%len(edge)]
	}
	for i := 256; i < 288; i++ {
		x[i] = 0 // an all-zero block
	}
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, vdt := range []quant.Type{quant.Q8_0, quant.Q8_1, quant.Q8_K} {
			want, err := quant.Quantize(vdt, x)
			if err != nil {
				t.Fatal(err)
			}
			got, err := QuantizeRow(vdt, x)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s %s: quantized ties differ from the reference", isa, vdt)
			}
		}
	}
}
