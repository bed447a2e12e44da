package cpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// TestEncoderOps checks LayerNorm and GELU against float64 references, on
// rows with a large mean (where E[x²] - mean² would cancel).
func TestEncoderOps(t *testing.T) {
	_, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(7, 8))
	const d, n = 128, 5
	a := randVec(r, d*n, 1)
	for i := range a {
		a[i] += 40
	}
	layerNorm := make([]float64, d*n)
	for row := range n {
		x := a[row*d:][:d]
		mean, v := 0.0, 0.0
		for _, e := range x {
			mean += float64(e)
		}
		mean /= d
		for _, e := range x {
			v += (float64(e) - mean) * (float64(e) - mean)
		}
		for j, e := range x {
			layerNorm[row*d+j] = (float64(e) - mean) / math.Sqrt(v/d+1e-12)
		}
	}
	b := randVec(r, d*n, 2)
	gelu := make([]float64, d*n)
	for i, e := range b {
		x := float64(e)
		gelu[i] = 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	for _, isa := range isaLevels(t) {
		use(t, isa)
		g := compute.NewGraph()
		if e := nerr(run(t, be, g, g.LayerNorm(g.Float32s(a, compute.Shape{d, n}), 1e-12)), layerNorm); e > 1e-5 {
			t.Errorf("%s: layer_norm: normalised error %.2e", isa, e)
		}
		g = compute.NewGraph()
		if e := nerr(run(t, be, g, g.GELU(g.Float32s(b, compute.Shape{d, n}))), gelu); e > 1e-6 {
			t.Errorf("%s: gelu: normalised error %.2e", isa, e)
		}
	}
	g := compute.NewGraph()
	if g.LayerNorm(g.Float32s(a, compute.Shape{d, n}), float32(math.NaN())); g.Err() == nil {
		t.Error("LayerNorm took a NaN eps")
	}
}

// TestNonCausalAttention runs batches whose queries must see the whole
// batch, later positions included: a prompt (blocks of tokens), a short
// batch in reverse order (decode's chunked path), and a single token.
func TestNonCausalAttention(t *testing.T) {
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, c := range []struct {
			name  string
			hd    int
			cache compute.DType
		}{{"f32", 16, compute.F32}, {"head 64 f16", 64, compute.F16}, {"odd head f16", 12, compute.F16}} {
			t.Run(isa+"/"+c.name, func(t *testing.T) { testNonCausal(t, c.hd, c.cache) })
		}
	}
}

func testNonCausal(t *testing.T, hd int, dt compute.DType) {
	const nh, nkv, capacity = 4, 2, 40
	dev, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(9, 10))
	caches := kvCaches(t, dev, dt, compute.Shape{hd, nkv, capacity})
	round := func(v []float32) []float32 { return roundTo(dt, v) }
	keys, vals := make([][]float32, capacity), make([][]float32, capacity)
	p := compute.AttentionParams{Scale: 0.3, NonCausal: true}
	for _, pos := range [][]int32{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		{23, 22, 21},
		{24},
	} {
		n := len(pos)
		q, k, v := randVec(r, hd*nh*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1)
		for i, ps := range pos {
			keys[ps] = round(k[i*hd*nkv:][:hd*nkv])
			vals[ps] = round(v[i*hd*nkv:][:hd*nkv])
		}
		// Every query sees what the causal reference shows the last position.
		last := slices.Max(pos)
		all := make([]int32, n)
		for i := range all {
			all[i] = last
		}
		g := compute.NewGraph()
		out := g.Attention(g.Float32s(q, compute.Shape{hd, nh, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
			g.Float32s(v, compute.Shape{hd, nkv, n}), caches[0], caches[1], g.Int32s(pos), p)
		if e := nerr(run(t, be, g, out), attnRef(q, keys, vals, all, hd, nh, nkv, p)); e > 1e-5 {
			t.Fatalf("batch at %v: normalised error %.2e", pos, e)
		}
	}
}

// kvCaches allocates a key and a value cache of type dt and shape s.
func kvCaches(t *testing.T, dev compute.Device, dt compute.DType, s compute.Shape) [2]*compute.Tensor {
	t.Helper()
	size, err := compute.ByteSize(dt, s)
	if err != nil {
		t.Fatal(err)
	}
	var caches [2]*compute.Tensor
	for i := range caches {
		buf, err := dev.Alloc(size)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { buf.Free() })
		if caches[i], err = compute.NewTensor(buf, 0, dt, s); err != nil {
			t.Fatal(err)
		}
	}
	return caches
}

// roundTo returns v as a cache of type dt holds it (quantized caches:
// rounded by the Go reference, in blocks along v).
func roundTo(dt compute.DType, v []float32) []float32 {
	if dt == compute.Q8_0 || dt == compute.Q4_0 {
		raw, err := quant.Quantize(dt, v)
		out := make([]float32, len(v))
		if err == nil {
			err = quant.Dequantize(dt, raw, out)
		}
		if err != nil {
			panic(err) // the tests' rows are whole blocks
		}
		return out
	}
	if dt != compute.F16 {
		return v
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = quant.FP16ToFloat32(quant.Float32ToFP16(x))
	}
	return out
}
