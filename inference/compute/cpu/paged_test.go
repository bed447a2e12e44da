package cpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
)

// TestPagedAttention runs the same steps of one sequence over a contiguous
// cache and over a pool of blocks whose table is shuffled, and wants the
// same bits (without a window): prompt batches (the block path), decode steps long enough to
// be split into chunks, and the per-token path, for every cache type, with
// windows, a softcap and grouped query heads.
func TestPagedAttention(t *testing.T) {
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, c := range []struct {
			hd, nh, nkv int
			dt          compute.DType
			p           compute.AttentionParams
		}{
			{64, 4, 2, compute.F32, compute.AttentionParams{Scale: 0.125}},
			{64, 4, 4, compute.F16, compute.AttentionParams{Scale: 0.125, Window: 100}},
			{128, 8, 2, compute.F16, compute.AttentionParams{Scale: 0.09, Softcap: 30}},
			{32, 6, 2, compute.Q8_0, compute.AttentionParams{Scale: 0.2, Window: 70}},
			{64, 2, 1, compute.Q4_0, compute.AttentionParams{Scale: 0.125, Softcap: 20}},
			{16, 2, 1, compute.F32, compute.AttentionParams{Scale: 0.25, Window: 33}},
		} {
			name := fmt.Sprintf("%s/hd%d-%dx%d-%s-w%d-cap%g", isa, c.hd, c.nh, c.nkv, c.dt, c.p.Window, c.p.Softcap)
			t.Run(name, func(t *testing.T) { testPaged(t, c.hd, c.nh, c.nkv, c.dt, c.p) })
		}
	}
}

func testPaged(t *testing.T, hd, nh, nkv int, dt compute.DType, p compute.AttentionParams) {
	const block, blocks, spare = 64, 6, 3
	dev, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(11, 12))
	flat := kvCaches(t, dev, dt, compute.Shape{hd, nkv, block * blocks})
	pool := kvCaches(t, dev, dt, compute.Shape{hd, nkv, block * (blocks + spare)})
	table := r.Perm(blocks + spare)[:blocks]
	paged := p
	paged.BlockSize = block
	used := 0
	for _, n := range []int{150, 1, 3, 2, 120, 1, 4, 1} {
		pos := make([]int32, n)
		for i := range pos {
			pos[i] = int32(used + i)
		}
		used += n
		withTable := slices.Clone(pos)
		for _, id := range table[:(used+block-1)/block] {
			withTable = append(withTable, int32(id))
		}
		withTable = append(withTable, block)
		q, k, v := randVec(r, hd*nh*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1)
		attend := func(caches [2]*compute.Tensor, pos []int32, p compute.AttentionParams) []float32 {
			g := compute.NewGraph()
			out := g.Attention(g.Float32s(q, compute.Shape{hd, nh, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
				g.Float32s(v, compute.Shape{hd, nkv, n}), caches[0], caches[1], g.Int32s(pos), p)
			return run(t, be, g, out)
		}
		want, got := attend(flat, pos, p), attend(pool, withTable, paged)
		if p.Window > 0 {
			// A window starts mid-block, so the runs of rows and the
			// kernels' groups of rows fall differently: rounding only.
			if e := nerr(got, float64s(want)); e > 1e-6 {
				t.Fatalf("step of %d tokens up to %d: normalised difference %.2e", n, used, e)
			}
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("step of %d tokens up to %d: output %d is %v paged, %v contiguous", n, used, i, got[i], want[i])
			}
		}
	}
}

// TestPagedAttentionChecks refuses block tables that would let the kernel
// write outside the pool or two positions into one row.
func TestPagedAttentionChecks(t *testing.T) {
	dev, _ := newCPU(t, 1)
	caches := kvCaches(t, dev, compute.F32, compute.Shape{16, 1, 256})
	for _, c := range []struct {
		name  string
		pos   []int32
		block int
		ok    bool
	}{
		{"good", []int32{0, 1, 3, 64}, 64, true},
		{"block outside the pool", []int32{0, 1, 4, 64}, 64, false},
		{"block twice", []int32{64, 0, 0, 64}, 64, false},
		{"position past the table", []int32{64, 3, 64}, 64, false},
		{"size does not divide the pool", []int32{0, 1, 48}, 48, false},
		{"size differs from the input's", []int32{0, 1, 32}, 64, false},
		{"no table", []int32{0, 64}, 64, false},
	} {
		g := compute.NewGraph()
		x := g.Float32s(make([]float32, 16), compute.Shape{16, 1, 1})
		g.Attention(x, x, x, caches[0], caches[1], g.Int32s(c.pos), compute.AttentionParams{Scale: 1, BlockSize: c.block})
		if (g.Err() == nil) != c.ok {
			t.Errorf("%s: error %v", c.name, g.Err())
		}
	}
}
