package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// nerr is the normalised error |got - want| / |want| (Euclidean norms).
func nerr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// run computes g on be and reads out.
func run(t *testing.T, be compute.Backend, g *compute.Graph, out *compute.Tensor) []float32 {
	t.Helper()
	g.Output(out)
	if err := be.Compute(g); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, out.Shape().Elements())
	if err := be.Read(out, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func leafF32(t *testing.T, dev compute.Device, vals []float32, s compute.Shape) *compute.Tensor {
	t.Helper()
	buf, err := dev.Alloc(int64(4 * len(vals)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Free() })
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		u := math.Float32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	if err := buf.Write(0, b); err != nil {
		t.Fatal(err)
	}
	x, err := compute.NewTensor(buf, 0, compute.F32, s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestElementwiseOps(t *testing.T) {
	_, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(1, 2))
	const d, n = 96, 5
	a, b, row := randVec(r, d*n, 1), randVec(r, d*n, 1), randVec(r, d, 1)
	ref := func(f func(i int) float64) []float64 {
		out := make([]float64, d*n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	silu := func(x float64) float64 { return x / (1 + math.Exp(-x)) }
	gelu := func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	cases := []struct {
		name  string
		build func(g *compute.Graph, a, b, row *compute.Tensor) *compute.Tensor
		want  []float64
	}{
		{"add", func(g *compute.Graph, a, b, _ *compute.Tensor) *compute.Tensor { return g.Add(a, b) },
			ref(func(i int) float64 { return float64(a[i]) + float64(b[i]) })},
		{"add bias", func(g *compute.Graph, a, _, row *compute.Tensor) *compute.Tensor { return g.Add(a, row) },
			ref(func(i int) float64 { return float64(a[i]) + float64(row[i%d]) })},
		{"mul", func(g *compute.Graph, a, b, _ *compute.Tensor) *compute.Tensor { return g.Mul(a, b) },
			ref(func(i int) float64 { return float64(a[i]) * float64(b[i]) })},
		{"mul broadcast", func(g *compute.Graph, a, _, row *compute.Tensor) *compute.Tensor { return g.Mul(a, row) },
			ref(func(i int) float64 { return float64(a[i]) * float64(row[i%d]) })},
		{"scale", func(g *compute.Graph, a, _, _ *compute.Tensor) *compute.Tensor { return g.Scale(a, -0.37) },
			ref(func(i int) float64 { return float64(a[i]) * float64(float32(-0.37)) })},
		{"softcap", func(g *compute.Graph, a, _, _ *compute.Tensor) *compute.Tensor { return g.Softcap(a, 0.5) },
			ref(func(i int) float64 { return 0.5 * math.Tanh(float64(a[i])/0.5) })},
		{"swiglu", func(g *compute.Graph, a, b, _ *compute.Tensor) *compute.Tensor { return g.SwiGLU(a, b) },
			ref(func(i int) float64 { return silu(float64(a[i])) * float64(b[i]) })},
		{"geglu", func(g *compute.Graph, a, b, _ *compute.Tensor) *compute.Tensor { return g.GeGLU(a, b) },
			ref(func(i int) float64 { return gelu(float64(a[i])) * float64(b[i]) })},
		{"rms_norm", func(g *compute.Graph, a, _, _ *compute.Tensor) *compute.Tensor { return g.RMSNorm(a, 1e-5) },
			ref(func(i int) float64 {
				r0 := i / d * d
				ss := 0.0
				for j := 0; j < d; j++ {
					ss += float64(a[r0+j]) * float64(a[r0+j])
				}
				return float64(a[i]) / math.Sqrt(ss/d+1e-5)
			})},
		{"softmax", func(g *compute.Graph, a, _, _ *compute.Tensor) *compute.Tensor { return g.Softmax(a) },
			ref(func(i int) float64 {
				r0 := i / d * d
				m := math.Inf(-1)
				for j := 0; j < d; j++ {
					m = math.Max(m, float64(a[r0+j]))
				}
				s := 0.0
				for j := 0; j < d; j++ {
					s += math.Exp(float64(a[r0+j]) - m)
				}
				return math.Exp(float64(a[i])-m) / s
			})},
	}
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, c := range cases {
			t.Run(isa+"/"+c.name, func(t *testing.T) {
				g := compute.NewGraph()
				out := c.build(g, g.Float32s(a, compute.Shape{d, n}), g.Float32s(b, compute.Shape{d, n}), g.Float32s(row, compute.Shape{d}))
				if e := nerr(run(t, be, g, out), c.want); e > 1e-6 {
					t.Fatalf("normalised error %.2e", e)
				}
			})
		}
	}
}

func ropeRef(x []float32, hd, nh int, pos []int32, p compute.RopeParams) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = float64(x[i])
	}
	dims := p.Dims
	for t, ps := range pos {
		for h := 0; h < nh; h++ {
			base := (t*nh + h) * hd
			for i := 0; i < dims/2; i++ {
				theta := float64(ps) * math.Pow(float64(p.Base), -2*float64(i)/float64(dims))
				if p.Factors != nil {
					theta /= float64(ropeFactors[i])
				}
				theta *= float64(p.FreqScale)
				i0, i1 := base+2*i, base+2*i+1
				if p.Mode == compute.RopeNeox {
					i0, i1 = base+i, base+i+dims/2
				}
				x0, x1 := float64(x[i0]), float64(x[i1])
				out[i0] = x0*math.Cos(theta) - x1*math.Sin(theta)
				out[i1] = x0*math.Sin(theta) + x1*math.Cos(theta)
			}
		}
	}
	return out
}

var ropeFactors []float32

func TestRope(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(3, 4))
	const hd, nh = 32, 3
	pos := []int32{0, 1, 7, 100, 2047}
	x := randVec(r, hd*nh*len(pos), 1)
	ropeFactors = make([]float32, hd/2)
	for i := range ropeFactors {
		ropeFactors[i] = 1 + float32(i%5)
	}
	factors := leafF32(t, dev, ropeFactors, compute.Shape{hd / 2})
	for _, c := range []struct {
		name string
		p    compute.RopeParams
	}{
		{"norm", compute.RopeParams{Mode: compute.RopeNorm, Dims: hd, Base: 10000, FreqScale: 1}},
		{"neox", compute.RopeParams{Mode: compute.RopeNeox, Dims: hd, Base: 1e6, FreqScale: 1}},
		{"partial neox", compute.RopeParams{Mode: compute.RopeNeox, Dims: hd / 2, Base: 10000, FreqScale: 0.5}},
		{"llama3 factors", compute.RopeParams{Mode: compute.RopeNorm, Dims: hd, Base: 500000, FreqScale: 1, Factors: factors}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := compute.NewGraph()
			out := g.Rope(g.Float32s(x, compute.Shape{hd, nh, len(pos)}), g.Int32s(pos), c.p)
			// Float32 angles at position 2047 carry ~1e-4 absolute error.
			if e := nerr(run(t, be, g, out), ropeRef(x, hd, nh, pos, c.p)); e > 2e-4 {
				t.Fatalf("normalised error %.2e", e)
			}
		})
	}
}

// attnRef is causal attention over all keys/values seen so far.
func attnRef(q []float32, keys, vals [][]float32, pos []int32, hd, nh, nkv int, p compute.AttentionParams) []float64 {
	out := make([]float64, len(q))
	for t, ps := range pos {
		for h := 0; h < nh; h++ {
			kvh := h / (nh / nkv)
			qr := q[(t*nh+h)*hd:][:hd]
			lo := 0
			if p.Window > 0 {
				lo = max(0, int(ps)-p.Window+1)
			}
			var scores []float64
			m := math.Inf(-1)
			for j := lo; j <= int(ps); j++ {
				s := 0.0
				for d := 0; d < hd; d++ {
					s += float64(qr[d]) * float64(keys[j][kvh*hd+d])
				}
				s *= float64(p.Scale)
				if p.Softcap > 0 {
					s = float64(p.Softcap) * math.Tanh(s/float64(p.Softcap))
				}
				scores = append(scores, s)
				m = math.Max(m, s)
			}
			sum := 0.0
			for i := range scores {
				scores[i] = math.Exp(scores[i] - m)
				sum += scores[i]
			}
			for i, w := range scores {
				for d := 0; d < hd; d++ {
					out[(t*nh+h)*hd+d] += w / sum * float64(vals[lo+i][kvh*hd+d])
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	for _, isa := range isaLevels(t) {
		use(t, isa)
		testAttention(t, isa)
	}
}

func testAttention(t *testing.T, isa string) {
	const nh, nkv = 8, 2
	// Short caches hold 29 positions; long ones 620, which decode reads in
	// several chunks.
	short, long := []int{21, 6, 1, 1}, []int{600, 1, 17, 1}
	for _, c := range []struct {
		name  string
		hd    int
		cache compute.DType
		p     compute.AttentionParams
		steps []int
		tol   float64 // 0: 1e-5; see quantTol
	}{
		{"f32", 16, compute.F32, compute.AttentionParams{Scale: 0.25}, short, 0},
		{"f16 cache", 16, compute.F16, compute.AttentionParams{Scale: 0.25}, short, 0},
		{"window", 16, compute.F32, compute.AttentionParams{Scale: 0.25, Window: 3}, short, 0},
		{"softcap", 16, compute.F32, compute.AttentionParams{Scale: 0.25, Softcap: 1.5}, short, 0},
		{"odd head size f16", 12, compute.F16, compute.AttentionParams{Scale: 0.3}, short, 0},
		{"head 64 f16", 64, compute.F16, compute.AttentionParams{Scale: 0.125}, short, 0},
		{"head 128 f32", 128, compute.F32, compute.AttentionParams{Scale: 0.09}, short, 0},
		{"head 80 f16 window", 80, compute.F16, compute.AttentionParams{Scale: 0.1, Window: 20}, short, 0},
		{"long f16", 64, compute.F16, compute.AttentionParams{Scale: 0.125}, long, 0},
		{"long f32 window", 16, compute.F32, compute.AttentionParams{Scale: 0.25, Window: 300}, long, 0},
		{"long odd head softcap", 12, compute.F16, compute.AttentionParams{Scale: 0.3, Softcap: 2}, long, 0},
		{"q8_0 head 32", 32, compute.Q8_0, compute.AttentionParams{Scale: 0.18}, short, quantTol},
		{"q4_0 head 32", 32, compute.Q4_0, compute.AttentionParams{Scale: 0.18}, short, quantTol},
		{"q8_0 head 64", 64, compute.Q8_0, compute.AttentionParams{Scale: 0.125}, short, quantTol},
		{"q4_0 head 128 window", 128, compute.Q4_0, compute.AttentionParams{Scale: 0.09, Window: 9}, short, quantTol},
		{"q8_0 head 96 softcap", 96, compute.Q8_0, compute.AttentionParams{Scale: 0.1, Softcap: 2}, short, quantTol},
		{"q4_0 head 160", 160, compute.Q4_0, compute.AttentionParams{Scale: 0.08}, short, quantTol},
		{"q8_0 head 256", 256, compute.Q8_0, compute.AttentionParams{Scale: 0.0625}, short, quantTol},
		{"long q8_0", 64, compute.Q8_0, compute.AttentionParams{Scale: 0.125}, long, quantTol},
		{"long q4_0 window", 128, compute.Q4_0, compute.AttentionParams{Scale: 0.09, Window: 300}, long, quantTol},
	} {
		hd := c.hd
		capacity := 0
		for _, n := range c.steps {
			capacity += n
		}
		capacity += 3
		t.Run(isa+"/"+c.name, func(t *testing.T) {
			dev, be := newCPU(t, 3)
			r := rand.New(rand.NewPCG(5, 6))
			caches := kvCaches(t, dev, c.cache, compute.Shape{hd, nkv, capacity})
			var keys, vals [][]float32
			round := func(v []float32) []float32 { return roundTo(c.cache, v) }
			// A prompt (batches go in blocks of 16), then shorter steps.
			next := 0
			for _, n := range c.steps {
				pos := make([]int32, n)
				for i := range pos {
					pos[i] = int32(next + i)
				}
				next += n
				q, k, v := randVec(r, hd*nh*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1)
				for i := 0; i < n; i++ {
					keys = append(keys, round(k[i*hd*nkv:][:hd*nkv]))
					vals = append(vals, round(v[i*hd*nkv:][:hd*nkv]))
				}
				g := compute.NewGraph()
				p := g.Int32s(pos)
				out := g.Attention(g.Float32s(q, compute.Shape{hd, nh, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
					g.Float32s(v, compute.Shape{hd, nkv, n}), caches[0], caches[1], p, c.p)
				if e := nerr(run(t, be, g, out), attnRef(q, keys, vals, pos, hd, nh, nkv, c.p)); e > max(c.tol, 1e-5) {
					t.Fatalf("step at %d: normalised error %.2e", pos[0], e)
				}
			}
		})
	}
}

// TestCopyGrowCache copies the used rows of an F16 cache into a bigger one,
// and an F16 tensor into an F32 one.
func TestCopyGrowCache(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(9, 9))
	x := randVec(r, 16*5, 1)
	small, _ := dev.Alloc(16 * 5 * 2)
	big, _ := dev.Alloc(16 * 9 * 2)
	wide, _ := dev.Alloc(16 * 9 * 4)
	defer small.Free()
	defer big.Free()
	defer wide.Free()
	sc, _ := compute.NewTensor(small, 0, compute.F16, compute.Shape{8, 2, 5})
	bc, _ := compute.NewTensor(big, 0, compute.F16, compute.Shape{8, 2, 9})
	wc, _ := compute.NewTensor(wide, 0, compute.F32, compute.Shape{8, 2, 9})
	g := compute.NewGraph()
	g.Copy(sc, g.Float32s(x, compute.Shape{16, 5}))
	flat := func(c *compute.Tensor, n int) *compute.Tensor { return g.Reshape(c, compute.Shape{16, n}) }
	g.Copy(g.Rows(flat(bc, 9), 0, 5), flat(sc, 5))
	g.Copy(g.Rows(flat(wc, 9), 0, 5), g.Rows(flat(bc, 9), 0, 5))
	if err := be.Compute(g); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 16*9)
	if err := be.Read(wc, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		want := float32(0)
		if i < len(x) {
			want = quant.FP16ToFloat32(quant.Float32ToFP16(x[i]))
		}
		if got[i] != want {
			t.Fatalf("element %d: %g, want %g", i, got[i], want)
		}
	}
}

func TestCopyAndViews(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(7, 8))
	x := randVec(r, 8*6, 1)
	buf, _ := dev.Alloc(8 * 6 * 2)
	defer buf.Free()
	dst, _ := compute.NewTensor(buf, 0, compute.F16, compute.Shape{8, 6})
	g := compute.NewGraph()
	g.Copy(g.Rows(dst, 2, 3), g.Rows(g.Float32s(x, compute.Shape{8, 6}), 1, 3))
	if err := be.Compute(g); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 8*6*2)
	buf.Read(0, raw)
	for i := 0; i < 8*6; i++ {
		h := uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
		want := uint16(0)
		if row := i / 8; row >= 2 && row < 5 {
			want = quant.Float32ToFP16(x[i+8*(1-2)])
		}
		if h != want {
			t.Fatalf("element %d: %#04x, want %#04x", i, h, want)
		}
	}
}
