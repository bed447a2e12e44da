package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// TestBarrierPlan runs chains of ops that reuse each other's memory and
// change how rows are split between threads (a reshape between two row ops
// gives a thread other rows of the same bytes), with 1 to 4 threads many
// times: every run must give the one-thread bits. A decode-shaped graph must
// also meet at fewer barriers than it has phases (row ops on one token chain
// without meeting).
func TestBarrierPlan(t *testing.T) {
	const k, m = 256, 64
	r := rand.New(rand.NewPCG(31, 32))
	dev, _ := newCPU(t, 1)
	_, wq, _ := quantMatrix(t, dev, r, quant.Q4_0, k, m)
	_, wo, _ := quantMatrix(t, dev, r, quant.Q8_0, m, k)
	norm := randVec(r, k, 1)
	for _, n := range []int{1, 5} {
		t.Run(fmt.Sprintf("n%d", n), func(t *testing.T) {
			x := randVec(r, k*n, 1)
			build := func() (*compute.Graph, *compute.Tensor) {
				g := compute.NewGraph()
				nw := g.Float32s(norm, compute.Shape{k})
				h := g.Float32s(x, compute.Shape{k, n})
				for layer := 0; layer < 3; layer++ {
					a := g.Mul(g.RMSNorm(h, 1e-5), nw)
					q := g.MulMat(wq, a)                                        // [m, n]
					q = g.Scale(g.Reshape(q, compute.Shape{8, m / 8 * n}), 0.5) // other rows, same bytes
					q = g.Softmax(g.Reshape(q, compute.Shape{m, n}))
					u := g.MulMat(wq, a) // shares a's quantization
					s := g.SwiGLU(q, u)
					h = g.Add(h, g.MulMat(wo, s))
					h = g.Scale(g.Mul(h, h), 0.25)
				}
				return g, h
			}
			g, out := build()
			_, be1 := newCPU(t, 1)
			want := run(t, be1, g, out)
			for threads := 2; threads <= 4; threads++ {
				_, be := newCPU(t, threads)
				for rep := 0; rep < 20; rep++ {
					g, out := build()
					if got := run(t, be, g, out); !sameBits(got, want) {
						t.Fatalf("%d threads, run %d: differs from 1 thread", threads, rep)
					}
				}
				if barriers, phases := lastPlan(); n == 1 && barriers >= phases {
					t.Errorf("%d threads: %d barriers for %d phases", threads, barriers, phases)
				}
			}
		})
	}
}
