package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
)

// TestRaggedAttention runs three sequences of different lengths through
// steps that mix a prompt chunk with single decode tokens, each sequence
// with its own caches, and checks every step against a float64 reference
// of each sequence alone.
func TestRaggedAttention(t *testing.T) {
	for _, cache := range []compute.DType{compute.F32, compute.F16} {
		// Several rounds: the positions of a segment once shared their
		// bytes with the output of the next op, which the barrier planner
		// did not know, and a step crashed about 4 runs in 10.
		for round := range 8 {
			t.Run(fmt.Sprintf("%v/%d", cache, round), func(t *testing.T) { raggedRounds(t, cache) })
		}
	}
}

// raggedRounds runs ragged attention steps over three sequences with
// caches of type cache, against the float64 reference.
func raggedRounds(t *testing.T, cache compute.DType) {
	const hd, nh, nkv, capacity = 16, 8, 2, 64
	dev, be := newCPU(t, 3)
	r := rand.New(rand.NewPCG(7, 8))
	p := compute.AttentionParams{Scale: 0.25}
	type seq struct {
		caches     [2]*compute.Tensor
		keys, vals [][]float32
	}
	seqs := make([]*seq, 3)
	for i := range seqs {
		seqs[i] = &seq{caches: kvCaches(t, dev, cache, compute.Shape{hd, nkv, capacity})}
	}
	round := func(v []float32) []float32 { return roundTo(cache, v) }
	// Tokens per sequence and step: a prompt joins while others decode;
	// a sequence may sit a step out.
	for _, step := range [][3]int{{5, 0, 0}, {1, 20, 0}, {1, 1, 3}, {0, 1, 1}, {1, 1, 1}, {17, 1, 1}} {
		var segs []compute.Segment
		var q, k, v []float32
		var want []float64
		g := compute.NewGraph()
		for i, n := range step {
			if n == 0 {
				continue
			}
			s := seqs[i]
			pos := make([]int32, n)
			for j := range pos {
				pos[j] = int32(len(s.keys) + j)
			}
			qs, ks, vs := randVec(r, hd*nh*n, 1), randVec(r, hd*nkv*n, 1), randVec(r, hd*nkv*n, 1)
			for j := 0; j < n; j++ {
				s.keys = append(s.keys, round(ks[j*hd*nkv:][:hd*nkv]))
				s.vals = append(s.vals, round(vs[j*hd*nkv:][:hd*nkv]))
			}
			q, k, v = append(q, qs...), append(k, ks...), append(v, vs...)
			want = append(want, attnRef(qs, s.keys, s.vals, pos, hd, nh, nkv, p)...)
			segs = append(segs, compute.Segment{Len: n, Pos: g.Int32s(pos), KCache: s.caches[0], VCache: s.caches[1]})
		}
		n := len(q) / (hd * nh)
		out := g.RaggedAttention(g.Float32s(q, compute.Shape{hd, nh, n}), g.Float32s(k, compute.Shape{hd, nkv, n}),
			g.Float32s(v, compute.Shape{hd, nkv, n}), segs, p)
		if e := nerr(run(t, be, g, out), want); e > 1e-5 {
			t.Fatalf("step %v: normalised error %.2e", step, e)
		}
	}
}

// TestConcatAndSelectRows joins parts of different row counts, more than
// one node takes, and picks rows of the result.
func TestConcatAndSelectRows(t *testing.T) {
	_, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(1, 2))
	const d = 5
	g := compute.NewGraph()
	var parts []*compute.Tensor
	var all []float32
	for i := range 9 {
		vals := randVec(r, d*(i%3+1), 1)
		all = append(all, vals...)
		parts = append(parts, g.Scale(g.Float32s(vals, compute.Shape{d, i%3 + 1}), 1))
	}
	joined := g.Concat(parts...)
	sel := g.SelectRows(joined, [][2]int{{2, 3}, {0, 1}, {17, 1}})
	got := run(t, be, g, sel)
	var want []float64
	for _, row := range []int{2, 3, 4, 0, 17} {
		for _, x := range all[row*d : (row+1)*d] {
			want = append(want, float64(x))
		}
	}
	if e := nerr(got, want); e != 0 {
		t.Fatalf("rows differ: normalised error %.2e\n got %v\nwant %v", e, got, want)
	}
	if g := compute.NewGraph(); g.Concat(g.Float32s(make([]float32, 4), compute.Shape{4}), g.Float32s(make([]float32, 3), compute.Shape{3})) != nil && g.Err() == nil {
		t.Fatal("parts of different row lengths were joined")
	}
}
