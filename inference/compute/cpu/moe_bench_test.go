package cpu

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// One layer of Qwen3-30B-A3B: 128 experts of 768 rows, 8 chosen per token.
const (
	moeEmbd, moeFF, moeExperts, moeK = 2048, 768, 128, 8
	// moeSets is how many different weights (or choices of experts) the
	// cold benchmarks go through in turn: 16 x 7 MB, far more than the
	// last-level cache, so every step reads its weights from memory as a
	// decode step does.
	moeSets = 16
)

// repeated places copies of one random [nIn, nOut] matrix of type dt end to
// end, seen with shape s: bytes enough for a real layer's memory traffic
// without quantizing a real layer's worth of floats.
func repeated(b *testing.B, dev compute.Device, dt compute.DType, nIn, nOut, copies int, s compute.Shape) *compute.Tensor {
	b.Helper()
	one, err := quant.Quantize(dt, randVec(rand.New(rand.NewPCG(uint64(nIn), uint64(nOut))), nIn*nOut, 0.05))
	if err != nil {
		b.Fatal(err)
	}
	return placeBytes(b, dev, bytes.Repeat(one, copies), dt, s)
}

// moeChoice is the i-th choice of k experts of ne, spread over the tensor as
// a router spreads them.
func moeChoice(i, k, ne int) []int32 {
	ids := make([]int32, k)
	for j := range ids {
		ids[j] = int32((j*ne/k + i) % ne)
	}
	return ids
}

// decodeCase is one way to compute a step: graphs run in turn.
type decodeCase struct {
	name   string
	graphs []*compute.Graph
	plain  bool // weights not packed
}

// BenchmarkMulMatIDDecode compares, for one token, the gate product of a
// Qwen3-30B-A3B layer (Q4_K: 8 of 128 experts, 7 MB of active weights)
// with the same product over only 8 experts and with a dense MulMat of the
// same active bytes ([2048, 6144]; packed as the backend packs it, and
// plain). "hot" repeats one graph (its weights stay in the last-level
// cache); "cold" goes through moeSets choices of experts or weights.
func BenchmarkMulMatIDDecode(b *testing.B) {
	dev, _ := newCPU(b, 1)
	x := randVec(rand.New(rand.NewPCG(5, 5)), moeEmbd, 1)
	all := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeExperts, compute.Shape{moeEmbd, moeFF, moeExperts})
	var moe128, moe8, dense []*compute.Graph
	for i := 0; i < moeSets; i++ {
		g := compute.NewGraph()
		in := g.Float32s(x, compute.Shape{moeEmbd, 1})
		g.Output(g.MulMatID(all, in, g.Reshape(g.Int32s(moeChoice(i, moeK, moeExperts)), compute.Shape{moeK, 1})))
		moe128 = append(moe128, g)

		few := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeK, compute.Shape{moeEmbd, moeFF, moeK})
		g = compute.NewGraph()
		in = g.Float32s(x, compute.Shape{moeEmbd, 1})
		g.Output(g.MulMatID(few, in, g.Reshape(g.Int32s(moeChoice(0, moeK, moeK)), compute.Shape{moeK, 1})))
		moe8 = append(moe8, g)

		w := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeK, compute.Shape{moeEmbd, moeFF * moeK})
		g = compute.NewGraph()
		g.Output(g.MulMat(w, g.Float32s(x, compute.Shape{moeEmbd, 1})))
		dense = append(dense, g)
	}
	active := all.Bytes() / moeExperts * moeK
	runDecodeCases(b, active, []decodeCase{
		{name: "moe128of8", graphs: moe128}, {name: "moe8of8", graphs: moe8},
		{name: "dense", graphs: dense}, {name: "dense-plain", graphs: dense, plain: true},
	})
}

// BenchmarkMoEBlockDecode is one token through a whole Qwen3-30B-A3B
// feed-forward block (router, gate, up, SwiGLU, down, mix; gate and up Q4_K,
// down Q6_K as in Q4_K_M files) next to a dense SwiGLU block of the same
// active bytes ([2048, 6144] gate and up, [6144, 2048] down).
func BenchmarkMoEBlockDecode(b *testing.B) {
	dev, _ := newCPU(b, 1)
	r := rand.New(rand.NewPCG(6, 6))
	x := randVec(r, moeEmbd, 1)
	router, _ := experts(b, dev, compute.F32, moeEmbd, moeExperts, 1, r)
	m := moeWeights{router: router,
		gate: repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeExperts, compute.Shape{moeEmbd, moeFF, moeExperts}),
		up:   repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeExperts, compute.Shape{moeEmbd, moeFF, moeExperts}),
		down: repeated(b, dev, quant.Q6_K, moeFF, moeEmbd, moeExperts, compute.Shape{moeFF, moeEmbd, moeExperts}),
	}
	var moe, dense []*compute.Graph
	for i := 0; i < moeSets; i++ {
		// The router sends each graph's token elsewhere: a different input.
		g := compute.NewGraph()
		out, _ := m.build(g, g.Float32s(randVec(r, moeEmbd, 1), compute.Shape{moeEmbd, 1}), moeK)
		g.Output(out)
		moe = append(moe, g)

		gate := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeK, compute.Shape{moeEmbd, moeFF * moeK})
		up := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeK, compute.Shape{moeEmbd, moeFF * moeK})
		down := repeated(b, dev, quant.Q6_K, moeFF, moeEmbd, moeK, compute.Shape{moeFF * moeK, moeEmbd})
		g = compute.NewGraph()
		in := g.Float32s(x, compute.Shape{moeEmbd, 1})
		g.Output(g.MulMat(down, g.SwiGLU(g.MulMat(gate, in), g.MulMat(up, in))))
		dense = append(dense, g)
	}
	active := (m.gate.Bytes()+m.up.Bytes()+m.down.Bytes())/moeExperts*moeK + router.Bytes()
	runDecodeCases(b, active, []decodeCase{
		{name: "moe128of8", graphs: moe}, {name: "dense", graphs: dense}, {name: "dense-plain", graphs: dense, plain: true},
	})
}

// runDecodeCases times each case hot and cold on 1 and 2 threads, with
// active bytes of weights per step.
func runDecodeCases(b *testing.B, active int64, cases []decodeCase) {
	for _, c := range cases {
		for _, temp := range []string{"hot", "cold"} {
			graphs := c.graphs
			if temp == "hot" {
				graphs = graphs[:1]
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", c.name, temp, threads), func(b *testing.B) {
					saved := packWeights
					packWeights = !c.plain
					defer func() { packWeights = saved }()
					_, be := newCPU(b, threads)
					for _, g := range graphs { // packs weights on first use, outside the timing
						if err := be.Compute(g); err != nil {
							b.Fatal(err)
						}
					}
					b.SetBytes(active)
					b.ResetTimer()
					cpu0 := cpuTime()
					for i := 0; i < b.N; i++ {
						if err := be.Compute(graphs[i%len(graphs)]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(active)*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e9, "GB/cpu-s")
				})
			}
		}
	}
}

// BenchmarkMulMatIDPrefill is a 512-token batch through the gate product of
// a Qwen3-30B-A3B layer (8 of 128 experts per token, about 32 rows per
// expert) next to a dense MulMat with the same multiply-adds ([2048, 6144]
// by 512 rows). It reports multiply-adds per CPU-second.
func BenchmarkMulMatIDPrefill(b *testing.B) {
	const n = 512
	dev, _ := newCPU(b, 1)
	r := rand.New(rand.NewPCG(7, 7))
	x := randVec(r, moeEmbd*n, 1)
	all := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeExperts, compute.Shape{moeEmbd, moeFF, moeExperts})
	ids := make([]int32, 0, moeK*n)
	for t := 0; t < n; t++ {
		for _, e := range r.Perm(moeExperts)[:moeK] {
			ids = append(ids, int32(e))
		}
	}
	g := compute.NewGraph()
	g.Output(g.MulMatID(all, g.Float32s(x, compute.Shape{moeEmbd, n}), g.Reshape(g.Int32s(ids), compute.Shape{moeK, n})))
	w := repeated(b, dev, quant.Q4_K, moeEmbd, moeFF, moeK, compute.Shape{moeEmbd, moeFF * moeK})
	dense := compute.NewGraph()
	dense.Output(dense.MulMat(w, dense.Float32s(x, compute.Shape{moeEmbd, n})))
	for _, c := range []decodeCase{{name: "moe128of8", graphs: []*compute.Graph{g}}, {name: "dense", graphs: []*compute.Graph{dense}},
		{name: "dense-plain", graphs: []*compute.Graph{dense}, plain: true}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, threads), func(b *testing.B) {
				saved := packWeights
				packWeights = !c.plain
				defer func() { packWeights = saved }()
				_, be := newCPU(b, threads)
				if err := be.Compute(c.graphs[0]); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if err := be.Compute(c.graphs[0]); err != nil {
						b.Fatal(err)
					}
				}
				macs := float64(moeEmbd*moeFF*moeK*n) * float64(b.N)
				b.ReportMetric(macs/(cpuTime()-cpu0).Seconds()/1e9, "GMAC/cpu-s")
			})
		}
	}
}
