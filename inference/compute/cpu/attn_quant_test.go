package cpu

import (
	"math/rand/v2"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// quantTol bounds testAttention's cases with a quantized cache. The
// reference attends over the keys and values rounded as the cache holds
// them, so the bound measures the kernels and not the cache's own rounding
// (which TestQuantizedKVCache in package inference bounds). What remains
// is the queries' rounding to Q8_0 before the integer dots with the keys
// (as llama.cpp rounds them): a step of max|q|/127 per block of 32, about
// 0.3% of a query element's size, which moves these scores (unit Gaussian
// q and k, standard deviation about 1) by a few thousandths and the
// outputs by as much: 3e-3 to 6e-3 measured on every ISA, so 1e-2. Prompt
// blocks on AVX-512 dot float queries with dequantized keys and come
// within 1e-5.
const quantTol = 1e-2

// TestQuantizedCacheRows checks that the rows attention writes into a
// quantized cache are the Go reference's blocks, up to the last bit of a
// rounding tie.
func TestQuantizedCacheRows(t *testing.T) {
	const hd, nkv, n = 64, 2, 5
	for _, dt := range []compute.DType{compute.Q8_0, compute.Q4_0} {
		dev, be := newCPU(t, 2)
		caches := kvCaches(t, dev, dt, compute.Shape{hd, nkv, n})
		r := rand.New(rand.NewPCG(1, 2))
		q, k, v := randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 0.01)
		g := compute.NewGraph()
		out := g.Attention(g.Float32s(q, compute.Shape{hd, nkv, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
			g.Float32s(v, compute.Shape{hd, nkv, n}), caches[0], caches[1], g.Int32s([]int32{0, 1, 2, 3, 4}), compute.AttentionParams{Scale: 0.125})
		run(t, be, g, out)
		for i, want := range [][]float32{k, v} {
			buf, off := caches[i].Buffer()
			raw := make([]byte, len(want)/32*dt.TypeSize())
			if err := buf.Read(off, raw); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			if err := quant.Dequantize(dt, raw, got); err != nil {
				t.Fatal(err)
			}
			if e := nerr(got, float64s(roundTo(dt, want))); e > 1e-3 {
				t.Errorf("%s cache %d: normalised error %.2e against the reference blocks", dt, i, e)
			}
		}
	}
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestQuantizedCacheHeadSize: a quantized cache needs whole blocks per head.
func TestQuantizedCacheHeadSize(t *testing.T) {
	for _, dt := range []compute.DType{compute.Q8_0, compute.Q4_0} {
		err := compute.CheckKVType(dt, 80)
		if err == nil || !strings.Contains(err.Error(), "multiple of 32") {
			t.Errorf("%s with head size 80: %v", dt, err)
		}
		if err := compute.CheckKVType(dt, 96); err != nil {
			t.Errorf("%s with head size 96: %v", dt, err)
		}
	}
	if !theCPU.Supports(compute.OpAttention, compute.Q4_0) || theCPU.Supports(compute.OpAttention, quant.Q4_K) {
		t.Error("the CPU attends over Q8_0 and Q4_0 caches, not Q4_K ones")
	}
}
