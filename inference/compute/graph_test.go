package compute

import (
	"errors"
	"inferenceruntime/inference/quant"
	"math/rand/v2"
	"strings"
	"testing"
)

// memBuffer is a plain host buffer for building graphs in tests.
type memBuffer struct{ b []byte }

func (m *memBuffer) Device() Device { return nil }
func (m *memBuffer) Size() int64    { return int64(len(m.b)) }
func (m *memBuffer) Write(off int64, src []byte) error {
	copy(m.b[off:], src)
	return nil
}
func (m *memBuffer) Read(off int64, dst []byte) error {
	copy(dst, m.b[off:])
	return nil
}
func (m *memBuffer) Free() error { return nil }

func leaf(t *testing.T, dt DType, s Shape) *Tensor {
	t.Helper()
	n, err := ByteSize(dt, s)
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewTensor(&memBuffer{make([]byte, n)}, 0, dt, s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestNewTensorBounds(t *testing.T) {
	buf := &memBuffer{make([]byte, 18*4)}
	if _, err := NewTensor(buf, 0, quant.Q4_0, Shape{64, 2}); err != nil {
		t.Fatalf("fits: %v", err)
	}
	for _, c := range []struct {
		off int64
		dt  DType
		s   Shape
	}{
		{18, quant.Q4_0, Shape{64, 2}}, // one block past the end
		{-1, F32, Shape{1}},
		{0, quant.Q4_0, Shape{48}}, // not whole blocks
		{0, F32, Shape{0}},
		{0, F32, Shape{4, -1}},
		{0, DType(999), Shape{1}},
	} {
		if _, err := NewTensor(buf, c.off, c.dt, c.s); err == nil {
			t.Errorf("NewTensor(off %d, %v, %v) accepted", c.off, c.dt, c.s)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	w := leaf(t, quant.Q4_0, Shape{64, 10})
	cache := leaf(t, F32, Shape{8, 2, 16})
	other := NewGraph()
	foreign := other.Float32s(make([]float32, 64), Shape{64})
	cases := []builderCase{
		{"id out of range", func(g *Graph) *Tensor { return g.GetRows(w, g.Int32s([]int32{3, 10})) }, "outside"},
		{"negative id", func(g *Graph) *Tensor { return g.GetRows(w, g.Int32s([]int32{-1})) }, "outside"},
		{"row length", func(g *Graph) *Tensor { return g.MulMat(w, g.Float32s(make([]float32, 32), Shape{32})) }, "row lengths"},
		{"foreign operand", func(g *Graph) *Tensor { return g.MulMat(w, foreign) }, "another graph"},
		{"nil operand", func(g *Graph) *Tensor { return g.Add(nil, nil) }, "nil"},
		{"broadcast", func(g *Graph) *Tensor {
			return g.Add(g.Float32s(make([]float32, 8), Shape{4, 2}), g.Float32s(make([]float32, 3), Shape{3}))
		}, "broadcast"},
		{"reshape count", func(g *Graph) *Tensor { return g.Reshape(g.Float32s(make([]float32, 8), Shape{8}), Shape{3, 3}) }, "element count"},
		{"rows range", func(g *Graph) *Tensor { return g.Rows(w, 9, 2) }, "rows"},
		{"rope dims", func(g *Graph) *Tensor {
			x := g.Float32s(make([]float32, 8*2), Shape{8, 2, 1})
			return g.Rope(x, g.Int32s([]int32{0}), RopeParams{Dims: 7, Base: 1e4})
		}, "dims"},
		{"rope positions", func(g *Graph) *Tensor {
			x := g.Float32s(make([]float32, 8*2*2), Shape{8, 2, 2})
			return g.Rope(x, g.Int32s([]int32{0}), RopeParams{Base: 1e4})
		}, "positions"},
		{"gqa", func(g *Graph) *Tensor {
			q := g.Float32s(make([]float32, 8*3), Shape{8, 3, 1})
			k := g.Float32s(make([]float32, 8*2), Shape{8, 2, 1})
			return g.Attention(q, k, k, cache, cache, g.Int32s([]int32{0}), AttentionParams{Scale: 1})
		}, "multiple"},
		{"position beyond cache", func(g *Graph) *Tensor {
			q := g.Float32s(make([]float32, 8*4), Shape{8, 4, 1})
			k := g.Float32s(make([]float32, 8*2), Shape{8, 2, 1})
			return g.Attention(q, k, k, cache, cache, g.Int32s([]int32{16}), AttentionParams{Scale: 1})
		}, "outside"},
		{"duplicate positions", func(g *Graph) *Tensor {
			q := g.Float32s(make([]float32, 8*4*2), Shape{8, 4, 2})
			k := g.Float32s(make([]float32, 8*2*2), Shape{8, 2, 2})
			return g.Attention(q, k, k, cache, cache, g.Int32s([]int32{3, 3}), AttentionParams{Scale: 1})
		}, "twice"},
		{"copy to node", func(g *Graph) *Tensor {
			a := g.Float32s(make([]float32, 4), Shape{4})
			return g.Copy(g.Scale(a, 2), a)
		}, "leaf"},
	}
	expectBuildErrors(t, cases)
}

// builderCase is a graph that a builder must refuse with an error that
// contains want.
type builderCase struct {
	name  string
	build func(g *Graph) *Tensor
	want  string
}

func expectBuildErrors(t *testing.T, cases []builderCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGraph()
			out := c.build(g)
			if out == nil {
				t.Fatal("builder returned nil")
			}
			if g.Err() == nil || !strings.Contains(g.Err().Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", g.Err(), c.want)
			}
			// Later calls keep the first error and still return a tensor.
			first := g.Err()
			if g.Scale(out, 2) == nil || !errors.Is(g.Err(), first) {
				t.Fatalf("first error not kept: %v", g.Err())
			}
		})
	}
}

// TestPlanNoOverlap checks that tensors alive at the same time never share
// arena bytes, and that bytes are reused.
func TestPlanNoOverlap(t *testing.T) {
	g := NewGraph()
	x := g.Float32s(make([]float32, 64*4), Shape{64, 4})
	w := leaf(t, F32, Shape{64, 64})
	for i := 0; i < 6; i++ {
		h := g.Mul(g.RMSNorm(x, 1e-5), g.Float32s(make([]float32, 64), Shape{64}))
		x = g.Add(x, g.MulMat(w, h))
	}
	last := g.Rows(x, 3, 1)
	g.Output(last)
	if g.Err() != nil {
		t.Fatal(g.Err())
	}
	p := NewPlan(g, 64)
	nodes := g.Nodes()
	lastUse := make([]int, len(nodes))
	for i, n := range nodes {
		lastUse[i] = i
		for j := 0; j < n.NumSrc(); j++ {
			if r, _ := n.Src(j).Root(); r.ID() >= 0 {
				lastUse[r.ID()] = max(lastUse[r.ID()], i)
			}
		}
	}
	root, _ := last.Root()
	lastUse[root.ID()] = len(nodes)
	first := make([]int, len(nodes)) // inputs are written before the first op
	for i, n := range nodes {
		if n.Op() != OpInput {
			first[i] = i
		}
	}
	var sum int64
	for i := range nodes {
		if p.Offsets[i] < 0 {
			continue
		}
		sum += nodes[i].Bytes()
		for j := 0; j < len(nodes); j++ {
			if j == i || p.Offsets[j] < 0 || first[j] > lastUse[i] || first[i] > lastUse[j] {
				continue
			}
			a0, a1 := p.Offsets[i], p.Offsets[i]+nodes[i].Bytes()
			b0, b1 := p.Offsets[j], p.Offsets[j]+nodes[j].Bytes()
			if a0 < b1 && b0 < a1 {
				t.Fatalf("nodes %d %v and %d %v overlap while both alive", i, nodes[i], j, nodes[j])
			}
		}
		if p.Offsets[i]%64 != 0 || p.Offsets[i]+nodes[i].Bytes() > p.Size {
			t.Fatalf("node %d at %d outside arena %d or misaligned", i, p.Offsets[i], p.Size)
		}
	}
	if p.Size >= sum {
		t.Fatalf("arena %d bytes does not reuse memory (sum of nodes %d)", p.Size, sum)
	}
}

// TestFreeSpans allocates and frees random spans and checks after every
// step that the free list is sorted, coalesced and accounts for every byte
// not in use.
func TestFreeSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var free []span
	var total int64
	live := map[int64]int64{} // offset -> size
	for step := 0; step < 1500; step++ {
		if len(live) == 0 || r.IntN(3) > 0 {
			size := int64(1+r.IntN(8)) * 64
			off := allocSpan(&free, &total, size)
			live[off] = size
		} else {
			for off, size := range live { // a random live span
				freeSpan(&free, span{off, size})
				delete(live, off)
				break
			}
		}
		used := int64(0)
		for _, size := range live {
			used += size
		}
		for i, s := range free {
			used += s.size
			if s.size <= 0 || i > 0 && free[i-1].off+free[i-1].size >= s.off {
				t.Fatalf("step %d: free list %v is not sorted, disjoint and coalesced", step, free)
			}
			for off, size := range live {
				if off < s.off+s.size && s.off < off+size {
					t.Fatalf("step %d: free span %v overlaps live span at %d", step, s, off)
				}
			}
		}
		if used != total {
			t.Fatalf("step %d: live and free spans cover %d bytes of %d", step, used, total)
		}
	}
}

// TestMoEBuilders checks the shapes of a mixture-of-experts block and every
// refusal of its builders.
func TestMoEBuilders(t *testing.T) {
	const nIn, nOut, nExpert, k, n = 64, 32, 6, 2, 3
	gate := leaf(t, quant.Q4_0, Shape{nIn, nOut, nExpert})
	down := leaf(t, quant.Q8_0, Shape{nOut, nIn, nExpert})
	router := leaf(t, F32, Shape{nIn, nExpert})
	g := NewGraph()
	x := g.Float32s(make([]float32, nIn*n), Shape{nIn, n})
	ids, weights := g.TopKExperts(g.MulMat(router, x), k, true)
	h := g.MulMatID(gate, x, ids)
	d := g.MulMatID(down, h, ids)
	out := g.WeightedSum(d, weights)
	if g.Err() != nil {
		t.Fatal(g.Err())
	}
	for _, c := range []struct {
		t    *Tensor
		dt   DType
		want Shape
	}{{ids, I32, Shape{k, n, 1, 1}}, {weights, F32, Shape{k, n, 1, 1}}, {h, F32, Shape{nOut, k, n, 1}},
		{d, F32, Shape{nIn, k, n, 1}}, {out, F32, Shape{nIn, n, 1, 1}}} {
		if c.t.DType() != c.dt || c.t.Shape() != c.want {
			t.Errorf("%v: want %s %v", c.t, c.dt, c.want)
		}
	}
	if weights.Param() != MoEWeightsFloor {
		t.Errorf("normalised weights have floor %v", weights.Param())
	}
	if _, w := NewGraph().TopKExperts(g.Float32s(make([]float32, 12), Shape{6, 2}), 2, false); w.Param() != 0 {
		t.Errorf("weights that are not normalised have floor %v", w.Param())
	}

	input := func(g *Graph, nIn int) *Tensor { return g.Float32s(make([]float32, nIn*n), Shape{nIn, n}) }
	topk := func(g *Graph, experts int) *Tensor {
		ids, _ := g.TopKExperts(g.Float32s(make([]float32, experts*n), Shape{experts, n}), k, true)
		return ids
	}
	ints := func(g *Graph, vals ...int32) *Tensor { return g.Reshape(g.Int32s(vals), Shape{k, n}) }
	expectBuildErrors(t, []builderCase{
		{"k zero", func(g *Graph) *Tensor { i, _ := g.TopKExperts(input(g, nExpert), 0, true); return i }, "experts"},
		{"k above n_expert", func(g *Graph) *Tensor { i, _ := g.TopKExperts(input(g, nExpert), nExpert+1, true); return i }, "experts"},
		{"3-D logits", func(g *Graph) *Tensor {
			i, _ := g.TopKExperts(g.Float32s(make([]float32, 8), Shape{2, 2, 2}), 1, true)
			return i
		}, "[n_expert, n]"},
		{"id too large", func(g *Graph) *Tensor { return g.MulMatID(gate, input(g, nIn), ints(g, 0, 1, 2, 3, 4, 6)) }, "outside"},
		{"negative id", func(g *Graph) *Tensor { return g.MulMatID(gate, input(g, nIn), ints(g, 0, -1, 2, 3, 4, 5)) }, "outside"},
		{"ids over more experts", func(g *Graph) *Tensor { return g.MulMatID(gate, input(g, nIn), topk(g, nExpert+1)) }, "choose among"},
		{"ids not I32", func(g *Graph) *Tensor { return g.MulMatID(gate, input(g, nIn), input(g, k)) }, "I32"},
		{"row length", func(g *Graph) *Tensor { return g.MulMatID(gate, input(g, nIn+32), topk(g, nExpert)) }, "row lengths"},
		{"tokens", func(g *Graph) *Tensor {
			return g.MulMatID(gate, g.Float32s(make([]float32, nIn*(n+1)), Shape{nIn, n + 1}), topk(g, nExpert))
		}, "must be"},
		{"slots", func(g *Graph) *Tensor {
			return g.MulMatID(gate, g.Float32s(make([]float32, nIn*(k+1)*n), Shape{nIn, k + 1, n}), topk(g, nExpert))
		}, "must be"},
		{"4-D weight", func(g *Graph) *Tensor {
			return g.MulMatID(leaf(t, F32, Shape{nIn, 2, 2, 2}), input(g, nIn), topk(g, 2))
		}, "n_expert"},
		{"weighted sum shapes", func(g *Graph) *Tensor {
			return g.WeightedSum(g.Float32s(make([]float32, nIn*k*n), Shape{nIn, k, n}), input(g, k+1))
		}, "weights"},
	})
}
