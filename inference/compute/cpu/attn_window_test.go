package cpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
)

// TestNonCausalWindow runs the tokens of an "image" (a batch that attends
// both ways) after causal text, in sliding-window layers: a query at p
// sees keys p-Window+1 .. the batch's last position, as llama.cpp masks
// Gemma 3's local layers. Long, short and single batches take the block,
// split and per-token paths.
func TestNonCausalWindow(t *testing.T) {
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, c := range []struct {
			name  string
			hd    int
			cache compute.DType
		}{{"f32", 16, compute.F32}, {"head 64 f16", 64, compute.F16}, {"odd head f16", 12, compute.F16}} {
			t.Run(isa+"/"+c.name, func(t *testing.T) { testNonCausalWindow(t, c.hd, c.cache) })
		}
	}
}

func testNonCausalWindow(t *testing.T, hd int, dt compute.DType) {
	const nh, nkv, capacity, window = 4, 2, 64, 7
	dev, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(3, 4))
	caches := kvCaches(t, dev, dt, compute.Shape{hd, nkv, capacity})
	keys, vals := make([][]float32, capacity), make([][]float32, capacity)
	batches := []struct {
		pos       []int32
		nonCausal bool
	}{
		{[]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false},
		{[]int32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27}, true},
		{[]int32{28, 29, 30}, true},
		{[]int32{31}, true},
		{[]int32{32, 33, 34, 35, 36}, false},
	}
	for _, b := range batches {
		n := len(b.pos)
		q, k, v := randVec(r, hd*nh*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1)
		for i, ps := range b.pos {
			keys[ps] = roundTo(dt, k[i*hd*nkv:][:hd*nkv])
			vals[ps] = roundTo(dt, v[i*hd*nkv:][:hd*nkv])
		}
		p := compute.AttentionParams{Scale: 0.3, Window: window, NonCausal: b.nonCausal}
		g := compute.NewGraph()
		out := g.Attention(g.Float32s(q, compute.Shape{hd, nh, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
			g.Float32s(v, compute.Shape{hd, nkv, n}), caches[0], caches[1], g.Int32s(b.pos), p)
		want := make([]float64, len(q))
		for i, ps := range b.pos {
			lo, hi := max(0, int(ps)-window+1), int(ps)
			if b.nonCausal {
				hi = int(slices.Max(b.pos))
			}
			rangeAttention(want[i*hd*nh:][:hd*nh], q[i*hd*nh:][:hd*nh], keys[lo:hi+1], vals[lo:hi+1], hd, nh, nkv, p.Scale)
		}
		if e := nerr(run(t, be, g, out), want); e > 1e-5 {
			t.Fatalf("batch at %v (non-causal %v): normalised error %.2e", b.pos, b.nonCausal, e)
		}
	}
}

// rangeAttention is one token's attention over exactly the given keys and
// values, in float64.
func rangeAttention(out []float64, q []float32, keys, vals [][]float32, hd, nh, nkv int, scale float32) {
	for h := 0; h < nh; h++ {
		kvh := h / (nh / nkv)
		scores := make([]float64, len(keys))
		m := math.Inf(-1)
		for j, key := range keys {
			s := 0.0
			for d := 0; d < hd; d++ {
				s += float64(q[h*hd+d]) * float64(key[kvh*hd+d])
			}
			scores[j] = s * float64(scale)
			m = math.Max(m, scores[j])
		}
		sum := 0.0
		for j := range scores {
			scores[j] = math.Exp(scores[j] - m)
			sum += scores[j]
		}
		for j, val := range vals {
			for d := 0; d < hd; d++ {
				out[h*hd+d] += scores[j] / sum * float64(val[kvh*hd+d])
			}
		}
	}
}
