// Package backendtest is the conformance suite every compute device runs:
// each op against the CPU backend by normalised error (Ops), and whole
// models against llama.cpp's reference logits (Models). A backend's tests
// call them for each of its devices; this package's own test runs them on
// every device of every registered driver but the CPU.
package backendtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu" // the reference every device is compared with
	"inferenceruntime/inference/quant"
)

// env builds and runs graphs on one device; a case runs once on the CPU and
// once on the device under test, with the same data.
type env struct {
	t   *testing.T
	dev compute.Device
	be  compute.Backend
	g   *compute.Graph
}

func newEnv(t *testing.T, dev compute.Device) *env {
	t.Helper()
	be, err := dev.NewBackend(compute.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return &env{t: t, dev: dev, be: be, g: compute.NewGraph()}
}

// leaf places raw bytes of type dt and shape s on the device.
func (e *env) leaf(dt compute.DType, s compute.Shape, raw []byte) *compute.Tensor {
	e.t.Helper()
	buf, err := e.dev.WrapHost(raw)
	return e.tensor(buf, err, dt, s)
}

// tensor views a new buffer (or its error) as a tensor freed with the test.
func (e *env) tensor(buf compute.Buffer, err error, dt compute.DType, s compute.Shape) *compute.Tensor {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { buf.Free() })
	x, err := compute.NewTensor(buf, 0, dt, s)
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

// weights quantizes vals to dt and places them.
func (e *env) weights(dt compute.DType, s compute.Shape, vals []float32) *compute.Tensor {
	e.t.Helper()
	raw, err := quant.Quantize(dt, vals)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.leaf(dt, s, raw)
}

// zeros allocates a zeroed leaf (a KV cache).
func (e *env) zeros(dt compute.DType, s compute.Shape) *compute.Tensor {
	e.t.Helper()
	size, err := compute.ByteSize(dt, s)
	if err != nil {
		e.t.Fatal(err)
	}
	buf, err := e.dev.Alloc(size)
	return e.tensor(buf, err, dt, s)
}

// run computes the current graph, reads out and starts a new graph.
func (e *env) run(out *compute.Tensor) []float32 {
	e.t.Helper()
	g := e.g
	e.g = compute.NewGraph()
	g.Output(out)
	if err := e.be.Compute(g); err != nil {
		e.t.Fatalf("%s: %v", e.dev.Name(), err)
	}
	got := make([]float32, out.Shape().Elements())
	if err := e.be.Read(out, got); err != nil {
		e.t.Fatalf("%s: %v", e.dev.Name(), err)
	}
	return got
}

// readLeaf reads an F32 leaf.
func (e *env) readLeaf(x *compute.Tensor) []float32 {
	e.t.Helper()
	got := make([]float32, x.Shape().Elements())
	if err := e.be.Read(x, got); err != nil {
		e.t.Fatal(err)
	}
	return got
}

func randVals(seed uint64, n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 77))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// NormErr is |got - want| / |want| in Euclidean norms (|got - want| when
// want is zero); NaN and infinities make it infinite.
func NormErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if math.IsNaN(num) || math.IsInf(num, 0) {
		return math.Inf(1)
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// opCase is one op test: run builds and runs graphs in an env and returns
// the values to compare; tol bounds the normalised error.
type opCase struct {
	name string
	op   compute.Op
	dt   compute.DType // the type Supports is asked about
	tol  float64
	run  func(e *env) []float32
	// exact, when set, is a float64 reference that the device must meet
	// within 1e-5: the CPU rounds activations to 8 bits for quantized
	// weights, and that noise (tol) could hide a small dequantization error.
	exact func(t *testing.T) []float32
	// ref, when set, is what the CPU runs instead of run: the same results
	// reached another way (a contiguous cache for a paged one).
	ref func(e *env) []float32
}

// Ops runs every op case that dev supports on dev and on the CPU and checks
// the normalised error. Cases the device does not support are listed in
// the log, so a gap is visible rather than silently passed.
func Ops(t *testing.T, dev compute.Device) {
	cpu, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("zoo", func(t *testing.T) { Zoo(t, dev) })
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			if !dev.Supports(c.op, c.dt) {
				t.Skipf("%s does not support %s on %s", dev.Name(), c.op, c.dt)
			}
			ref := c.run
			if c.ref != nil {
				ref = c.ref
			}
			want := ref(newEnv(t, cpu))
			got := c.run(newEnv(t, dev))
			if c.exact != nil {
				if e := NormErr(got, c.exact(t)); !(e <= 1e-5) {
					t.Errorf("%s: normalised error %.3g against float64 on the dequantized weights, want <= 1e-5", dev.Name(), e)
				}
			}
			if e := NormErr(got, want); !(e <= c.tol) {
				t.Errorf("%s: normalised error %.3g against the CPU, want <= %.3g", dev.Name(), e, c.tol)
			} else {
				t.Logf("%s: normalised error %.3g (<= %.3g)", dev.Name(), e, c.tol)
			}
		})
	}
}

// tolerance of a product with weights of type dt: the CPU rounds the
// activations to 8 bits for quantized weights, a GPU may not.
func productTol(dt compute.DType) float64 {
	switch dt {
	case compute.F32:
		return 1e-5
	case compute.F16, compute.BF16:
		return 1e-3
	}
	return 2e-2
}

func opCases() []opCase {
	var cases []opCase
	for _, dt := range productTypes {
		k := 64
		if dt.BlockSize() == 256 {
			k = 256
		}
		if dt.BlockSize() == 1 {
			k = 67 // odd: no whole words of F16
		}
		for _, n := range []int{1, 3, 9, 70} {
			m := 37
			if n > 64 {
				m = 133 // more than one tile of rows and of tokens
			}
			cases = append(cases, opCase{
				name: fmt.Sprintf("mul_mat/%s/k%d/n%d", dt, k, n), op: compute.OpMulMat, dt: dt, tol: productTol(dt),
				run: func(e *env) []float32 {
					w := e.weights(dt, compute.Shape{k, m}, randVals(1, k*m, 1))
					x := e.g.Float32s(randVals(2, k*n, 1), compute.Shape{k, n})
					return e.run(e.g.MulMat(w, x))
				},
				exact: func(t *testing.T) []float32 { return product(t, dt, randVals(1, k*m, 1), randVals(2, k*n, 1), k) },
			})
		}
		cases = append(cases, opCase{
			name: fmt.Sprintf("mul_mat/%s/rows-view", dt), op: compute.OpMulMat, dt: dt, tol: productTol(dt),
			run: func(e *env) []float32 {
				w := e.weights(dt, compute.Shape{k, 40}, randVals(3, k*40, 1))
				x := e.g.Float32s(randVals(4, k*2, 1), compute.Shape{k, 2})
				return e.run(e.g.MulMat(e.g.Rows(w, 5, 11), x))
			},
		})
		cases = append(cases, opCase{
			name: fmt.Sprintf("get_rows/%s", dt), op: compute.OpGetRows, dt: dt, tol: 1e-6,
			run: func(e *env) []float32 {
				w := e.weights(dt, compute.Shape{k, 9}, randVals(5, k*9, 1))
				return e.run(e.g.GetRows(w, e.g.Int32s([]int32{3, 0, 8, 3})))
			},
		})
	}
	for _, dt := range productTypes {
		k := 64
		if dt.BlockSize() == 256 {
			k = 256
		}
		for _, perSlot := range []bool{false, true} {
			cases = append(cases, opCase{
				name: fmt.Sprintf("mul_mat_id/%s/per-slot=%v", dt, perSlot), op: compute.OpMulMatID, dt: dt, tol: productTol(dt),
				run: func(e *env) []float32 {
					const nOut, nExp, slots, tokens = 19, 6, 2, 3
					w := e.weights(dt, compute.Shape{k, nOut, nExp}, randVals(70, k*nOut*nExp, 1))
					ids := e.g.Reshape(e.g.Int32s([]int32{5, 0, 2, 2, 1, 4}), compute.Shape{slots, tokens})
					xs := compute.Shape{k, tokens}
					if perSlot {
						xs = compute.Shape{k, slots, tokens}
					}
					x := e.g.Float32s(randVals(71, int(xs.Elements()), 1), xs)
					return e.run(e.g.MulMatID(w, x, ids))
				},
			})
		}
	}
	cases = append(cases, opCase{
		name: "moe-block", op: compute.OpMulMatID, dt: compute.F32, tol: 1e-5,
		run: func(e *env) []float32 {
			const dim, ff, nExp, tokens = 32, 24, 8, 5
			router := e.weights(compute.F32, compute.Shape{dim, nExp}, randVals(80, dim*nExp, 1))
			gate := e.weights(compute.F32, compute.Shape{dim, ff, nExp}, randVals(81, dim*ff*nExp, 1))
			up := e.weights(compute.F32, compute.Shape{dim, ff, nExp}, randVals(82, dim*ff*nExp, 1))
			down := e.weights(compute.F32, compute.Shape{ff, dim, nExp}, randVals(83, ff*dim*nExp, 1))
			g := e.g
			x := g.Float32s(randVals(84, dim*tokens, 1), compute.Shape{dim, tokens})
			ids, weights := g.TopKExperts(g.MulMat(router, x), 3, true)
			h := g.SwiGLU(g.MulMatID(gate, x, ids), g.MulMatID(up, x, ids))
			return e.run(g.WeightedSum(g.MulMatID(down, h, ids), weights))
		},
	})
	cases = append(cases, opCase{
		name: "concat", op: compute.OpConcat, dt: compute.F32, tol: 0,
		run: func(e *env) []float32 {
			g := e.g
			a := g.Scale(g.Float32s(randVals(90, 12*3, 1), compute.Shape{12, 3}), 2)
			b := g.Float32s(randVals(91, 12*2, 1), compute.Shape{12, 2})
			w := e.leaf(compute.F32, compute.Shape{12, 4}, f32Bytes(randVals(92, 48, 1)))
			return e.run(g.Add(g.Concat(a, b, g.Rows(w, 1, 2), a), g.Float32s(randVals(93, 12, 1), compute.Shape{12})))
		},
	})
	const d, n = 67, 5
	a, b, row := randVals(10, d*n, 1), randVals(11, d*n, 1), randVals(12, d, 1)
	s := compute.Shape{d, n}
	unary := func(name string, op compute.Op, f func(g *compute.Graph, x *compute.Tensor) *compute.Tensor) {
		cases = append(cases, opCase{name: name, op: op, dt: compute.F32, tol: 1e-5, run: func(e *env) []float32 {
			return e.run(f(e.g, e.g.Float32s(a, s)))
		}})
	}
	binary := func(name string, op compute.Op, bv []float32, bs compute.Shape, f func(g *compute.Graph, x, y *compute.Tensor) *compute.Tensor) {
		cases = append(cases, opCase{name: name, op: op, dt: compute.F32, tol: 1e-5, run: func(e *env) []float32 {
			return e.run(f(e.g, e.g.Float32s(a, s), e.g.Float32s(bv, bs)))
		}})
	}
	binary("add", compute.OpAdd, b, s, (*compute.Graph).Add)
	binary("add/row", compute.OpAdd, row, compute.Shape{d}, (*compute.Graph).Add)
	binary("mul", compute.OpMul, b, s, (*compute.Graph).Mul)
	binary("mul/row", compute.OpMul, row, compute.Shape{d}, (*compute.Graph).Mul)
	binary("swiglu", compute.OpSwiGLU, b, s, (*compute.Graph).SwiGLU)
	binary("geglu", compute.OpGeGLU, b, s, (*compute.Graph).GeGLU)
	unary("scale", compute.OpScale, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor { return g.Scale(x, -0.37) })
	unary("softcap", compute.OpSoftcap, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor { return g.Softcap(g.Scale(x, 30), 5) })
	unary("gelu", compute.OpGELU, (*compute.Graph).GELU)
	unary("rms_norm", compute.OpRMSNorm, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor { return g.RMSNorm(x, 1e-5) })
	unary("layer_norm", compute.OpLayerNorm, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor { return g.LayerNorm(x, 1e-6) })
	unary("softmax", compute.OpSoftmax, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor { return g.Softmax(g.Scale(x, 8)) })
	unary("reshape-chain", compute.OpAdd, func(g *compute.Graph, x *compute.Tensor) *compute.Tensor {
		y := g.Reshape(g.Scale(x, 2), compute.Shape{n, d})
		return g.Add(g.Rows(y, 3, 20), g.Rows(y, 30, 20))
	})
	for _, mode := range []compute.RopeMode{compute.RopeNorm, compute.RopeNeox} {
		for _, v := range []struct {
			name    string
			dims    int
			scale   float32
			factors bool
		}{{"full", 0, 0, false}, {"partial", 8, 0, false}, {"scaled", 0, 0.25, false}, {"factors", 0, 0, true}} {
			cases = append(cases, opCase{
				name: fmt.Sprintf("rope/mode%d/%s", mode, v.name), op: compute.OpRope, dt: compute.F32, tol: 1e-5,
				run: func(e *env) []float32 {
					x := e.g.Float32s(randVals(20, 16*4*3, 1), compute.Shape{16, 4, 3})
					p := compute.RopeParams{Mode: mode, Dims: v.dims, Base: 10000, FreqScale: v.scale}
					if v.factors {
						p.Factors = e.leaf(compute.F32, compute.Shape{8}, f32Bytes([]float32{1, 1, 1.5, 2, 4, 8, 16, 32}))
					}
					return e.run(e.g.Rope(x, e.g.Int32s([]int32{0, 5, 17}), p))
				},
			})
		}
	}
	for _, kv := range []compute.DType{compute.F32, compute.F16} {
		for _, v := range []struct {
			name string
			p    compute.AttentionParams
		}{
			{"causal", compute.AttentionParams{Scale: 0.25}},
			{"window", compute.AttentionParams{Scale: 0.25, Window: 4}},
			{"softcap", compute.AttentionParams{Scale: 0.25, Softcap: 2}},
			{"noncausal", compute.AttentionParams{Scale: 0.25, NonCausal: true}},
			{"noncausal-window", compute.AttentionParams{Scale: 0.25, NonCausal: true, Window: 3}},
		} {
			cases = append(cases, opCase{
				name: fmt.Sprintf("attention/%s/%s", kv, v.name), op: compute.OpAttention, dt: compute.F32, tol: 1e-5,
				run: func(e *env) []float32 { return attentionSteps(e, kv, v.p) },
			})
		}
		// Grouped (2 kv heads), one kv head per query head and one for all.
		for _, v := range []struct {
			name string
			nkv  int
			p    compute.AttentionParams
		}{
			{"causal", 2, compute.AttentionParams{Scale: 0.25}},
			{"window", 4, compute.AttentionParams{Scale: 0.25, Window: 11}},
			{"softcap", 1, compute.AttentionParams{Scale: 0.25, Softcap: 2}},
		} {
			cases = append(cases, opCase{
				name: fmt.Sprintf("attention-paged/%s/%s-kv%d", kv, v.name, v.nkv), op: compute.OpAttentionPaged, dt: kv, tol: 1e-5,
				run: func(e *env) []float32 { return pagedAttentionSteps(e, kv, v.nkv, v.p, pagedBlock) },
				ref: func(e *env) []float32 { return pagedAttentionSteps(e, kv, v.nkv, v.p, 0) },
			})
		}
	}
	for _, pair := range [][2]compute.DType{{compute.F32, compute.F32}, {compute.F32, compute.F16}, {compute.F16, compute.F32}, {compute.F16, compute.F16}} {
		src, dst := pair[0], pair[1]
		cases = append(cases, opCase{
			name: fmt.Sprintf("copy/%s-%s", src, dst), op: compute.OpCopy, dt: dst, tol: 1e-6,
			run: func(e *env) []float32 {
				vals := randVals(30, 64*4, 1)
				from := e.weights(src, compute.Shape{64, 4}, vals)
				to := e.zeros(dst, compute.Shape{64, 6})
				e.g.Copy(e.g.Rows(to, 1, 4), from)
				e.run(e.g.Float32s([]float32{0}, compute.Shape{1}))
				if dst == compute.F32 {
					return e.readLeaf(to)
				}
				back := e.zeros(compute.F32, compute.Shape{64, 6})
				return e.run(e.g.Copy(back, to))
			},
		})
	}
	return cases
}

// product is rows of x (k long) times the rows of w quantized to dt and
// back, summed in float64.
func product(t *testing.T, dt compute.DType, w, x []float32, k int) []float32 {
	raw, err := quant.Quantize(dt, w)
	if err != nil {
		t.Fatal(err)
	}
	deq := make([]float32, len(w))
	if err := quant.Dequantize(dt, raw, deq); err != nil {
		t.Fatal(err)
	}
	m, n := len(w)/k, len(x)/k
	out := make([]float32, m*n)
	for c := range n {
		for r := range m {
			var s float64
			for i := range k {
				s += float64(deq[r*k+i]) * float64(x[c*k+i])
			}
			out[c*m+r] = float32(s)
		}
	}
	return out
}

// attentionSteps fills a cache with a prompt of 5 tokens, then decodes 2
// more one at a time, and returns every step's output.
func attentionSteps(e *env, kv compute.DType, p compute.AttentionParams) []float32 {
	const hd, nkv, capacity = 16, 2, 12
	kc := e.zeros(kv, compute.Shape{hd, nkv, capacity})
	vc := e.zeros(kv, compute.Shape{hd, nkv, capacity})
	steps := [][]int32{{0, 1, 2, 3, 4}, {5}, {6}}
	if p.NonCausal {
		steps = [][]int32{{0, 1, 2, 3, 4, 5, 6}}
	}
	return attend(e, kc, vc, steps, p, func(pos []int32) []int32 { return pos })
}

// pagedBlock is the block size of pagedAttentionSteps: positions of one
// shader chunk (64) and one prompt batch span several blocks.
const pagedBlock = 8

// pagedAttentionSteps runs a prompt longer than the attention shader's
// chunk of positions, decode steps and a small prompt batch, in a
// contiguous cache (block 0) or in the blocks of a pool, taken in shuffled
// order, and returns every step's output.
func pagedAttentionSteps(e *env, kv compute.DType, nkv int, p compute.AttentionParams, block int) []float32 {
	const hd, capacity, spare = 16, 80, 3
	first := make([]int32, 70)
	for i := range first {
		first[i] = int32(i)
	}
	steps := [][]int32{first, {70}, {71, 72, 73}, {74}}
	if block == 0 {
		kc, vc := e.zeros(kv, compute.Shape{hd, nkv, capacity}), e.zeros(kv, compute.Shape{hd, nkv, capacity})
		return attend(e, kc, vc, steps, p, func(pos []int32) []int32 { return pos })
	}
	blocks := capacity / block
	pool := compute.Shape{hd, nkv, (blocks + spare) * block}
	kc, vc := e.zeros(kv, pool), e.zeros(kv, pool)
	table := rand.New(rand.NewPCG(5, 6)).Perm(blocks + spare)[:blocks]
	p.BlockSize = block
	return attend(e, kc, vc, steps, p, func(pos []int32) []int32 {
		// The table of the positions so far, then the block size.
		used := (int(pos[len(pos)-1]) + block) / block
		out := slices.Clone(pos)
		for _, id := range table[:used] {
			out = append(out, int32(id))
		}
		return append(out, int32(block))
	})
}

// attend runs an attention of 4 query heads for each step of positions
// (step i's inputs drawn from seeds 40+i, 50+i, 60+i) and returns every
// step's output; input makes a step's positions input.
func attend(e *env, kc, vc *compute.Tensor, steps [][]int32, p compute.AttentionParams, input func([]int32) []int32) []float32 {
	hd, nkv := kc.Shape()[0], kc.Shape()[1]
	const nh = 4
	var out []float32
	for i, pos := range steps {
		nt := len(pos)
		q := e.g.Float32s(randVals(uint64(40+i), hd*nh*nt, 1), compute.Shape{hd, nh, nt})
		k := e.g.Float32s(randVals(uint64(50+i), hd*nkv*nt, 1), compute.Shape{hd, nkv, nt})
		v := e.g.Float32s(randVals(uint64(60+i), hd*nkv*nt, 1), compute.Shape{hd, nkv, nt})
		out = append(out, e.run(e.g.Attention(q, k, v, kc, vc, e.g.Int32s(input(pos)), p))...)
	}
	return out
}
