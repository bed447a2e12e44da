package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// packedTypes are the weight types that may have a packed layout (packed*.c);
// tests skip those without one at the kernel level in use.
var packedTypes = []compute.DType{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16}

// quantMatrix quantizes random weights to typ and returns them in a CPU
// buffer with their dequantized values.
func quantMatrix(t *testing.T, dev compute.Device, r *rand.Rand, typ compute.DType, k, m int) (compute.Buffer, *compute.Tensor, []float32) {
	t.Helper()
	raw := randWeights(t, r, typ, k*m)
	buf, err := dev.WrapHost(raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Free() })
	w, err := compute.NewTensor(buf, 0, typ, compute.Shape{k, m})
	if err != nil {
		t.Fatal(err)
	}
	deq, err := DequantizeRow(typ, raw, k*m)
	if err != nil {
		t.Fatal(err)
	}
	return buf, w, deq
}

// randWeights returns n random weights of type typ.
func randWeights(t *testing.T, r *rand.Rand, typ compute.DType, n int) []byte {
	t.Helper()
	if typ == quant.F16 {
		var raw []byte
		for _, v := range randVec(r, n, 1) {
			h := quant.Float32ToFP16(v)
			raw = append(raw, byte(h), byte(h>>8))
		}
		return raw
	}
	raw, err := quant.Quantize(typ, randVec(r, n, 1))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// withPacking runs f with weight packing on or off.
func withPacking(on bool, f func()) {
	old := packWeights
	packWeights = on
	defer func() { packWeights = old }()
	f()
}

// TestPackedWeights compares products through packed weights with the
// unpacked kernels and a float64 reference, on shapes with partial panels,
// an odd number of blocks, and batches that end mid column chunk; a column
// alone must give the batch's bits, and so must any thread count.
func TestPackedWeights(t *testing.T) {
	dev, _ := newCPU(t, 1)
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range packedTypes {
		block := int(typ.BlockSize())
		for _, k := range []int{block, 3 * block, 2048} {
			for _, m := range []int{1, 17, 48} {
				for _, n := range []int{1, 9, 70} {
					t.Run(fmt.Sprintf("%v/%dx%d/n%d", typ, k, m, n), func(t *testing.T) {
						if !hasPacked(typ) {
							t.Skip("no packed kernel at this kernel level")
						}
						_, w, deq := quantMatrix(t, dev, r, typ, k, m)
						x := randVec(r, k*n, 1)
						_, be := newCPU(t, 2)
						var plain, packed []float32
						withPacking(false, func() { plain = mulMat(t, be, w, x, n) })
						withPacking(true, func() { packed = mulMat(t, be, w, x, n) })
						for j := 0; j < n; j++ {
							for i := 0; i < m; i++ {
								want, mag := dot64(deq[i*k:(i+1)*k], x[j*k:(j+1)*k])
								got := float64(packed[j*m+i])
								if d := math.Abs(got - float64(plain[j*m+i])); d > 2e-6*mag {
									t.Fatalf("[%d,%d]: packed %g, unpacked %g (sum|w*x| %g)", j, i, got, plain[j*m+i], mag)
								}
								tol := 2e-2 // activations quantized to 8 bits
								if typ == quant.F16 {
									tol = 1e-6
								}
								if d := math.Abs(got - want); d > tol*mag+1e-6 {
									t.Fatalf("[%d,%d]: packed %g, float64 %g", j, i, got, want)
								}
							}
						}
						withPacking(true, func() {
							for j := 0; j < n; j += 4 {
								if !sameBits(mulMat(t, be, w, x[j*k:(j+1)*k], 1), packed[j*m:(j+1)*m]) {
									t.Fatalf("column %d alone differs from the batch", j)
								}
							}
							_, be3 := newCPU(t, 3)
							if !sameBits(mulMat(t, be3, w, x, n), packed) {
								t.Fatal("3 threads differ from 2")
							}
						})
					})
				}
			}
		}
	}
}

// TestPackedWeightsFollowWrites checks that a packed copy is dropped when
// its buffer is written: the product must use the new weights.
func TestPackedWeightsFollowWrites(t *testing.T) {
	const k, m = 256, 32
	r := rand.New(rand.NewPCG(23, 24))
	dev, be := newCPU(t, 2)
	for _, typ := range packedTypes {
		if !hasPacked(typ) {
			continue
		}
		buf, w, _ := quantMatrix(t, dev, r, typ, k, m)
		x := randVec(r, k, 1)
		withPacking(true, func() {
			first := mulMat(t, be, w, x, 1)
			if err := buf.Write(0, randWeights(t, r, typ, k*m)); err != nil {
				t.Fatal(err)
			}
			second := mulMat(t, be, w, x, 1)
			var want []float32
			withPacking(false, func() { want = mulMat(t, be, w, x, 1) })
			if sameBits(first, second) {
				t.Fatal("the product did not change after the weights were written")
			}
			for i := range want {
				if math.Abs(float64(second[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("row %d: %g after the write, want %g", i, second[i], want[i])
				}
			}
		})
	}
}
