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
	cases := []struct {
		name  string
		build func(g *Graph) *Tensor
		want  string
	}{
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
