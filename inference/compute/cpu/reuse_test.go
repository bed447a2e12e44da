package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// decodeWorld is the state of a small decoder layer: Q4_0 weights (packed
// where the kernel level has packed kernels) with a bias, an F16 KV cache,
// and the parameters a step graph uses.
type decodeWorld struct {
	dev        compute.Device
	emb, bias  *compute.Tensor
	wBuf       compute.Buffer
	w          *compute.Tensor
	kBuf, vBuf compute.Buffer
	k, v       *compute.Tensor
	eps        float32
	rope       compute.RopeParams
	attn       compute.AttentionParams
	kvFromY    bool // keys and values from the product, not the norm
}

const worldDim, worldHead, worldCap = 64, 32, 16

func newDecodeWorld(t *testing.T) *decodeWorld {
	t.Helper()
	dev, _ := newCPU(t, 1)
	r := rand.New(rand.NewPCG(40, 41))
	wBuf, w, _ := quantMatrix(t, dev, r, quant.Q4_0, worldDim, worldDim)
	d := &decodeWorld{
		dev: dev, wBuf: wBuf, w: w, eps: 1e-5,
		emb:  leafF32(t, dev, randVec(r, worldDim*20, 1), compute.Shape{worldDim, 20}),
		bias: leafF32(t, dev, randVec(r, worldDim, 1), compute.Shape{worldDim}),
		rope: compute.RopeParams{Mode: compute.RopeNeox, Base: 10000},
		attn: compute.AttentionParams{Scale: 0.2},
	}
	d.newCache(t)
	return d
}

// newCache replaces the KV cache with an empty one, freeing the old (its
// memory may come back at the same address).
func (d *decodeWorld) newCache(t *testing.T) {
	t.Helper()
	for _, b := range []compute.Buffer{d.kBuf, d.vBuf} {
		if b != nil {
			b.Free()
		}
	}
	bytes := compute.KVBytes(compute.F16, worldCap, 1, worldHead, 1) / 2
	var err error
	for _, c := range []*compute.Buffer{&d.kBuf, &d.vBuf} {
		if *c, err = d.dev.Alloc(bytes); err != nil {
			t.Fatal(err)
		}
	}
	if d.k, err = compute.NewTensor(d.kBuf, 0, compute.F16, compute.Shape{worldHead, 1, worldCap}); err != nil {
		t.Fatal(err)
	}
	if d.v, err = compute.NewTensor(d.vBuf, 0, compute.F16, compute.Shape{worldHead, 1, worldCap}); err != nil {
		t.Fatal(err)
	}
}

// step builds the graph of tokens ids at positions pos and returns it with
// its output.
func (d *decodeWorld) step(ids, pos []int32) (*compute.Graph, *compute.Tensor) {
	g := compute.NewGraph()
	n := len(ids)
	x := g.RMSNorm(g.GetRows(d.emb, g.Int32s(ids)), d.eps)
	y := g.Add(g.MulMat(d.w, x), d.bias)
	p := g.Int32s(pos)
	q := g.Rope(g.Reshape(y, compute.Shape{worldHead, 2, n}), p, d.rope)
	src := x
	if d.kvFromY {
		src = y
	}
	kv := g.Reshape(g.Rows(g.Reshape(src, compute.Shape{worldHead, 2 * n}), 0, n), compute.Shape{worldHead, 1, n})
	out := g.MulMat(d.w, g.Attention(q, kv, kv, d.k, d.v, p, d.attn))
	g.Output(out)
	return g, out
}

// warm runs steps at positions 0, 1 and 2 on be: the first packs the
// weights, the second is kept, the third reuses it.
func (d *decodeWorld) warm(t *testing.T, be compute.Backend) {
	t.Helper()
	for i := 0; i < 3; i++ {
		g, out := d.step([]int32{int32(i)}, []int32{int32(i)})
		run(t, be, g, out)
	}
}

// fresh runs g on a backend of its own, which has nothing to reuse.
func fresh(t *testing.T, g *compute.Graph, out *compute.Tensor) []float32 {
	t.Helper()
	be, err := theCPU.NewBackend(compute.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	return run(t, be, g, out)
}

func reuses(be compute.Backend) int64 { return be.(*backend).Reuses() }

// TestReuseMatchesFresh: decode steps run with the conversion of the step
// before give the bits of a backend that converts each one afresh, also
// where an op's parameters follow the input values (attention both ways
// sees up to the batch's largest position).
func TestReuseMatchesFresh(t *testing.T) {
	for _, tokens := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d tokens", tokens), func(t *testing.T) {
			d := newDecodeWorld(t)
			d.attn.NonCausal = tokens > 1
			_, be := newCPU(t, 2)
			const steps = 7
			for i := 0; i < steps; i++ {
				ids, pos := make([]int32, tokens), make([]int32, tokens)
				for j := range ids {
					ids[j], pos[j] = int32(i*7+j)%20, int32(i*tokens+j)
				}
				g, out := d.step(ids, pos)
				got := run(t, be, g, out)
				if want := fresh(t, g, out); !sameBits(got, want) {
					t.Fatalf("step %d: reused conversion gives other bits than a fresh one", i)
				}
			}
			// The first step packs the weights, the second is kept, the rest reuse it.
			if n := reuses(be); n < steps-2 {
				t.Errorf("%d of %d steps reused the conversion before them", n, steps)
			}
		})
	}
}

// TestReuseSeesChanges: after a step is kept, a graph that differs from it
// in anything but input values is converted afresh, and one that differs
// only in input values is not; either way the bits are a fresh backend's.
func TestReuseSeesChanges(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(t *testing.T, d *decodeWorld) // before the last step
		ids    []int32                            // of the last step
		reused bool
	}{
		{"other token", func(*testing.T, *decodeWorld) {}, []int32{9}, true},
		{"two tokens", func(*testing.T, *decodeWorld) {}, []int32{9, 4}, false},
		{"norm eps", func(_ *testing.T, d *decodeWorld) { d.eps = 0.5 }, []int32{9}, false},
		{"rope base", func(_ *testing.T, d *decodeWorld) { d.rope.Base = 100 }, []int32{9}, false},
		{"attention window", func(_ *testing.T, d *decodeWorld) { d.attn.Window = 2 }, []int32{9}, false},
		{"attention softcap", func(_ *testing.T, d *decodeWorld) { d.attn.Softcap = 0.5 }, []int32{9}, false},
		{"operand wired elsewhere", func(_ *testing.T, d *decodeWorld) { d.kvFromY = true }, []int32{9}, false},
		{"weights rewritten", func(t *testing.T, d *decodeWorld) {
			if err := d.wBuf.Write(0, randWeights(t, rand.New(rand.NewPCG(5, 5)), quant.Q4_0, worldDim*worldDim)); err != nil {
				t.Fatal(err)
			}
		}, []int32{9}, !hasPacked(quant.Q4_0) || !packWeights},
		{"cache replaced", func(t *testing.T, d *decodeWorld) { d.newCache(t) }, []int32{9}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDecodeWorld(t)
			_, be := newCPU(t, 2)
			d.warm(t, be)
			c.edit(t, d)
			before := reuses(be)
			pos := make([]int32, len(c.ids))
			for i := range pos {
				pos[i] = int32(3 + i)
			}
			g, out := d.step(c.ids, pos)
			got := run(t, be, g, out)
			if reused := reuses(be) > before; reused != c.reused {
				t.Errorf("reused %v, want %v", reused, c.reused)
			}
			if want := fresh(t, g, out); !sameBits(got, want) {
				t.Errorf("other bits than a fresh conversion")
			}
		})
	}
}

// TestReuseAfterError: a graph whose conversion fails leaves nothing to
// reuse, and the next good graph runs as a fresh one would.
func TestReuseAfterError(t *testing.T) {
	d := newDecodeWorld(t)
	_, be := newCPU(t, 2)
	d.warm(t, be)
	// A leaf in another device's memory fails in conversion, after the
	// arena grew for the big input (and moved, most likely).
	g := compute.NewGraph()
	foreign, err := compute.NewTensor(foreignBuffer{}, 0, compute.F32, compute.Shape{worldDim})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]float32, worldDim*16384)
	g.Output(g.Add(g.Float32s(big, compute.Shape{worldDim, 16384}), foreign))
	if err := be.Compute(g); err == nil {
		t.Fatal("a leaf outside CPU memory was computed")
	}
	g2, out := d.step([]int32{5}, []int32{3})
	if got, want := run(t, be, g2, out), fresh(t, g2, out); !sameBits(got, want) {
		t.Error("after an error: other bits than a fresh conversion")
	}
}

// foreignBuffer is memory of no device the CPU backend knows.
type foreignBuffer struct{}

func (foreignBuffer) Device() compute.Device    { return theCPU }
func (foreignBuffer) Size() int64               { return 1 << 10 }
func (foreignBuffer) Write(int64, []byte) error { return nil }
func (foreignBuffer) Read(int64, []byte) error  { return nil }
func (foreignBuffer) Free() error               { return nil }

// TestNoReuseOfFreedBuffer: a step whose cache was freed since the kept
// one fails as a fresh conversion would, rather than run on freed memory.
func TestNoReuseOfFreedBuffer(t *testing.T) {
	d := newDecodeWorld(t)
	_, be := newCPU(t, 2)
	d.warm(t, be)
	d.vBuf.Free()
	g, _ := d.step([]int32{3}, []int32{3})
	if err := be.Compute(g); err == nil {
		t.Fatal("a step over a freed cache was computed")
	}
}
