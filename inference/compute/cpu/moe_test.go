package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// experts places ne random matrices of type dt, each [nIn, nOut], as one
// 3-D weight [nIn, nOut, ne], and returns it with its dequantized values.
// Experts differ in scale so that a product with the wrong one shows.
func experts(t testing.TB, dev compute.Device, dt compute.DType, nIn, nOut, ne int, r *rand.Rand) (*compute.Tensor, []float32) {
	t.Helper()
	vals := make([]float32, 0, nIn*nOut*ne)
	for e := 0; e < ne; e++ {
		vals = append(vals, randVec(r, nIn*nOut, 0.05*float64(e+1))...)
	}
	data, err := quant.Quantize(dt, vals)
	if err != nil {
		t.Fatal(err)
	}
	deq := make([]float32, len(vals))
	if err := quant.Dequantize(dt, data, deq); err != nil {
		t.Fatal(err)
	}
	return placeBytes(t, dev, data, dt, compute.Shape{nIn, nOut, ne}), deq
}

func placeBytes(t testing.TB, dev compute.Device, data []byte, dt compute.DType, s compute.Shape) *compute.Tensor {
	t.Helper()
	buf, err := dev.WrapHost(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Free() })
	w, err := compute.NewTensor(buf, 0, dt, s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// expertView is expert e of a 3-D weight as a plain [nIn, nOut] matrix.
func expertView(t testing.TB, w *compute.Tensor, e int) *compute.Tensor {
	t.Helper()
	s := w.Shape()
	buf, _ := w.Buffer()
	size, _ := compute.ByteSize(w.DType(), compute.Shape{s[0], s[1]})
	v, err := compute.NewTensor(buf, int64(e)*size, w.DType(), compute.Shape{s[0], s[1]})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// routes draws k distinct experts of ne for each of n tokens. Slot 0 goes
// to expert 0 or 3 by turns, so that with many tokens those two get more
// rows than one tile of the kernel takes.
func routes(r *rand.Rand, ne, k, n int) []int32 {
	ids := make([]int32, 0, k*n)
	for t := 0; t < n; t++ {
		perm := r.Perm(ne)
		first := 3 * (t % 2)
		ids = append(ids, int32(first))
		for _, e := range perm {
			if len(ids)%k == 0 {
				break
			}
			if e != first {
				ids = append(ids, int32(e))
			}
		}
	}
	return ids
}

// readInt32s reads an I32 output of the last graph (Backend.Read takes
// F32 only).
func readInt32s(t *testing.T, be compute.Backend, x *compute.Tensor) []int32 {
	t.Helper()
	p, ok := be.(*backend).outputs[x]
	if !ok {
		t.Fatalf("%v is not an output", x)
	}
	return append([]int32(nil), unsafe.Slice((*int32)(p), x.Shape().Elements())...)
}

// TestMulMatID checks MulMatID over weight types, slots per token (k) and
// batch sizes (one token; a few; enough that two experts take more rows
// than a tile), with activations shared by a token's slots or one row per
// slot: against float64, bit for bit against MulMat of each expert alone on
// the rows routed to it, and bit for bit across thread counts.
func TestMulMatID(t *testing.T) {
	const nIn, nOut, ne = 256, 40, 6
	dev, _ := newCPU(t, 1)
	saved := packWeights
	packWeights = false // MulMat of a plain matrix runs the kernels MulMatID runs
	t.Cleanup(func() { packWeights = saved })
	r := rand.New(rand.NewPCG(21, 22))
	best := isaNames[detectISA()]
	for _, dt := range []compute.DType{compute.F32, compute.F16, quant.Q8_0, quant.Q4_0, quant.Q4_K, quant.Q6_K} {
		w, deq := experts(t, dev, dt, nIn, nOut, ne, r)
		tol := 1e-2 // activations quantized to 8 bits
		if vdt, _ := VecDotType(dt); vdt == compute.F32 {
			tol = 1e-6
		}
		for k := 1; k <= 4; k++ {
			for _, n := range []int{1, 5, 130} {
				for _, perSlot := range []bool{false, true} {
					ids := routes(r, ne, k, n)
					rows := n
					if perSlot {
						rows = k * n
					}
					x := randVec(r, nIn*rows, 1)
					xs := compute.Shape{nIn, n}
					if perSlot {
						xs = compute.Shape{nIn, k, n}
					}
					// Row of x and expert of each (token, slot) pair.
					src := func(p int) []float32 {
						if perSlot {
							return x[p*nIn : (p+1)*nIn]
						}
						return x[p/k*nIn : (p/k+1)*nIn]
					}
					want := make([]float64, nOut*k*n)
					for p, e := range ids {
						xr := src(p)
						for o := 0; o < nOut; o++ {
							wr := deq[(int(e)*nOut+o)*nIn:]
							for i, v := range xr {
								want[p*nOut+o] += float64(wr[i]) * float64(v)
							}
						}
					}
					name := fmt.Sprintf("%s/k%d/n%d/perSlot=%v", dt, k, n, perSlot)
					t.Run(name, func(t *testing.T) {
						for _, isa := range isaLevels(t) {
							use(t, isa)
							threads := []int{2}
							if isa == best {
								threads = []int{1, 2, 3}
							}
							var first []float32
							for _, th := range threads {
								_, be := newCPU(t, th)
								g := compute.NewGraph()
								got := run(t, be, g, g.MulMatID(w, g.Float32s(x, xs), g.Reshape(g.Int32s(ids), compute.Shape{k, n})))
								if first != nil {
									if !sameBits(got, first) {
										t.Fatalf("%s: %d threads differ from %d", isa, th, threads[0])
									}
									continue
								}
								first = got
								if e := nerr(got, want); e > tol {
									t.Fatalf("%s: normalised error %.2e vs float64", isa, e)
								}
								checkAgainstMulMat(t, be, w, ids, src, got)
							}
						}
					})
				}
			}
		}
	}
}

// checkAgainstMulMat multiplies each expert alone (MulMat) by the rows
// routed to it and expects MulMatID's bits.
func checkAgainstMulMat(t *testing.T, be compute.Backend, w *compute.Tensor, ids []int32, src func(p int) []float32, got []float32) {
	t.Helper()
	nIn, nOut := w.Shape()[0], w.Shape()[1]
	for e := 0; e < w.Shape()[2]; e++ {
		var pairs []int
		var rows []float32
		for p, id := range ids {
			if int(id) == e {
				pairs = append(pairs, p)
				rows = append(rows, src(p)...)
			}
		}
		if len(pairs) == 0 {
			continue
		}
		g := compute.NewGraph()
		alone := run(t, be, g, g.MulMat(expertView(t, w, e), g.Float32s(rows, compute.Shape{nIn, len(pairs)})))
		for c, p := range pairs {
			if !sameBits(alone[c*nOut:(c+1)*nOut], got[p*nOut:(p+1)*nOut]) {
				t.Fatalf("pair %d (expert %d) differs from MulMat of the expert alone", p, e)
			}
		}
	}
}

// TestMulMatIDBadIDs: ids are data, so the kernel checks them too. The
// graph refuses them at build time; ids changed after that must give an
// error, not a read outside the weight.
func TestMulMatIDBadIDs(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(23, 24))
	w, _ := experts(t, dev, quant.Q8_0, 64, 16, 4, r)
	x := randVec(r, 64*3, 1)
	for _, bad := range []int32{4, -1, math.MaxInt32} {
		g := compute.NewGraph()
		ids := g.Int32s([]int32{0, 1, 2, 3, 1, 2})
		out := g.MulMatID(w, g.Float32s(x, compute.Shape{64, 3}), g.Reshape(ids, compute.Shape{2, 3}))
		g.Output(out)
		if g.Err() != nil {
			t.Fatal(g.Err())
		}
		u := uint32(bad)
		data := ids.InputData()
		data[16], data[17], data[18], data[19] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		if err := be.Compute(g); err == nil || !strings.Contains(err.Error(), "expert id") {
			t.Fatalf("id %d: error %v", bad, err)
		}
	}
}

// TestTopKExperts checks routing on rows with distinct logits, ties (the
// lowest id wins) and a NaN, with and without normalisation, against the
// backend's own softmax probabilities.
func TestTopKExperts(t *testing.T) {
	const ne, n = 10, 6
	_, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(25, 26))
	logits := randVec(r, ne*n, 2)
	for e := 0; e < ne; e++ {
		logits[1*ne+e] = 0.5                     // all equal
		logits[2*ne+e] = float32(e%3) * 0.25     // three levels, ties inside each
		logits[3*ne+e] = float32(e) * 1e-7 * 0.5 // near-ties
	}
	logits[4*ne+7] = float32(math.NaN())
	for _, k := range []int{1, 2, 4, ne} {
		for _, norm := range []bool{false, true} {
			t.Run(fmt.Sprintf("k%d/norm=%v", k, norm), func(t *testing.T) {
				g := compute.NewGraph()
				l := g.Float32s(logits, compute.Shape{ne, n})
				probs := g.Softmax(l)
				ids, weights := g.TopKExperts(l, k, norm)
				g.Output(probs)
				g.Output(ids)
				got := run(t, be, g, weights)
				p := make([]float32, ne*n)
				if err := be.Read(probs, p); err != nil {
					t.Fatal(err)
				}
				gotIDs := readInt32s(t, be, ids)
				for tok := 0; tok < n; tok++ {
					row := p[tok*ne : (tok+1)*ne]
					order := make([]int, ne)
					for i := range order {
						order[i] = i
					}
					key := func(e int) float32 {
						if v := row[e]; v == v {
							return v
						}
						return float32(math.Inf(-1))
					}
					sort.SliceStable(order, func(a, b int) bool { return key(order[a]) > key(order[b]) })
					var sum float64
					for j := 0; j < k; j++ {
						if int(gotIDs[tok*k+j]) != order[j] {
							t.Fatalf("token %d: ids %v, want the first %d of %v", tok, gotIDs[tok*k:(tok+1)*k], k, order)
						}
						sum += float64(row[order[j]])
					}
					for j := 0; j < k; j++ {
						want := row[order[j]]
						if norm {
							want /= max(float32(sum), compute.MoEWeightsFloor)
						}
						if v := got[tok*k+j]; math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
							t.Fatalf("token %d slot %d: weight %v, want %v", tok, j, v, want)
						}
					}
				}
			})
		}
	}
}

// TestWeightedSum checks the mix of slots against float64.
func TestWeightedSum(t *testing.T) {
	const d, n = 72, 5
	_, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(27, 28))
	for k := 1; k <= 4; k++ {
		a, w := randVec(r, d*k*n, 1), randVec(r, k*n, 1)
		want := make([]float64, d*n)
		for tok := 0; tok < n; tok++ {
			for j := 0; j < k; j++ {
				for i := 0; i < d; i++ {
					want[tok*d+i] += float64(w[tok*k+j]) * float64(a[(tok*k+j)*d+i])
				}
			}
		}
		g := compute.NewGraph()
		got := run(t, be, g, g.WeightedSum(g.Float32s(a, compute.Shape{d, k, n}), g.Float32s(w, compute.Shape{k, n})))
		if e := nerr(got, want); e > 1e-6 {
			t.Fatalf("k %d: normalised error %.2e", k, e)
		}
	}
}

// moeBlock builds a Qwen3-MoE feed-forward block on x [nEmbd, n] and returns
// its output and routing ids.
type moeWeights struct{ router, gate, up, down *compute.Tensor }

func (m moeWeights) build(g *compute.Graph, x *compute.Tensor, k int) (out, ids *compute.Tensor) {
	ids, weights := g.TopKExperts(g.MulMat(m.router, x), k, true)
	h := g.SwiGLU(g.MulMatID(m.gate, x, ids), g.MulMatID(m.up, x, ids))
	return g.WeightedSum(g.MulMatID(m.down, h, ids), weights), ids
}

// TestMoEBlock runs a whole block: against float64 along the routes the
// backend chose, each token of a batch bit for bit as when it runs alone,
// and the same bits on 1..3 threads.
func TestMoEBlock(t *testing.T) {
	const nEmbd, nFF, ne, k, n = 256, 512, 8, 3, 9
	dev, _ := newCPU(t, 1)
	r := rand.New(rand.NewPCG(29, 30))
	router, dr := experts(t, dev, compute.F32, nEmbd, ne, 1, r)
	gate, dg := experts(t, dev, quant.Q4_K, nEmbd, nFF, ne, r)
	up, du := experts(t, dev, quant.Q4_K, nEmbd, nFF, ne, r)
	down, dd := experts(t, dev, quant.Q6_K, nFF, nEmbd, ne, r)
	m := moeWeights{router, gate, up, down}
	x := randVec(r, nEmbd*n, 1)
	var first []float32
	var ids []int32
	for threads := 1; threads <= 3; threads++ {
		_, be := newCPU(t, threads)
		g := compute.NewGraph()
		out, idt := m.build(g, g.Float32s(x, compute.Shape{nEmbd, n}), k)
		g.Output(idt)
		got := run(t, be, g, out)
		if first == nil {
			first, ids = got, readInt32s(t, be, idt)
			for tok := 0; tok < n; tok++ {
				g := compute.NewGraph()
				alone, _ := m.build(g, g.Float32s(x[tok*nEmbd:(tok+1)*nEmbd], compute.Shape{nEmbd, 1}), k)
				if !sameBits(run(t, be, g, alone), got[tok*nEmbd:(tok+1)*nEmbd]) {
					t.Fatalf("token %d alone differs from the batch", tok)
				}
			}
		} else if !sameBits(got, first) {
			t.Fatalf("%d threads differ from 1", threads)
		}
	}
	dot := func(w []float32, row int, x []float64) float64 {
		s := 0.0
		for i, v := range x {
			s += float64(w[row*len(x)+i]) * v
		}
		return s
	}
	want := make([]float64, nEmbd*n)
	for tok := 0; tok < n; tok++ {
		xt := make([]float64, nEmbd)
		for i := range xt {
			xt[i] = float64(x[tok*nEmbd+i])
		}
		probs := make([]float64, ne)
		var z float64
		for e := range probs {
			probs[e] = math.Exp(dot(dr, e, xt))
			z += probs[e]
		}
		var sum float64
		for _, e := range ids[tok*k : (tok+1)*k] {
			sum += probs[e] / z
		}
		for _, e := range ids[tok*k : (tok+1)*k] {
			h := make([]float64, nFF)
			for o := range h {
				gv, uv := dot(dg, int(e)*nFF+o, xt), dot(du, int(e)*nFF+o, xt)
				h[o] = gv / (1 + math.Exp(-gv)) * uv
			}
			for o := 0; o < nEmbd; o++ {
				want[tok*nEmbd+o] += probs[e] / z / sum * dot(dd, int(e)*nEmbd+o, h)
			}
		}
	}
	if e := nerr(first, want); e > 2e-2 {
		t.Fatalf("normalised error %.2e vs float64", e)
	}
}
