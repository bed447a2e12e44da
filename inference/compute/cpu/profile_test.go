package cpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
)

func TestProfileCountsOps(t *testing.T) {
	dev, be := newCPU(t, 2)
	w, _ := zooMatrix(t, dev, "Q4_0", 256, 8)
	SetProfiling(true)
	defer SetProfiling(false)
	for i := 0; i < 3; i++ {
		g := compute.NewGraph()
		run(t, be, g, g.RMSNorm(g.MulMat(w, g.Float32s(make([]float32, 256), compute.Shape{256})), 1e-5))
	}
	calls := map[string]int64{}
	for _, p := range Profile() {
		calls[fmt.Sprintf("%s %s", p.Op, p.DType)] = p.Calls
	}
	if calls["mul_mat Q4_0"] != 3 || calls["rms_norm F32"] != 3 {
		t.Fatalf("profile counts %v, want 3 mul_mat Q4_0 and 3 rms_norm F32", calls)
	}
}

// llamaLayer builds one decode step of a Llama-3.2-1B-shaped layer at a
// depth (weights of type typ tiled from the zoo).
type llamaLayer struct {
	wq, wk, wv, wo, gate, up, down *compute.Tensor
	kc, vc                         *compute.Tensor
}

func newLlamaLayer(b *testing.B, dev compute.Device, typ string, capacity int) *llamaLayer {
	const d, hd, nkv, ff = 2048, 64, 8, 8192
	l := &llamaLayer{}
	l.wq, _ = zooMatrix(b, dev, typ, d, d)
	l.wk, _ = zooMatrix(b, dev, typ, d, hd*nkv)
	l.wv, _ = zooMatrix(b, dev, typ, d, hd*nkv)
	l.wo, _ = zooMatrix(b, dev, typ, d, d)
	l.gate, _ = zooMatrix(b, dev, typ, d, ff)
	l.up, _ = zooMatrix(b, dev, typ, d, ff)
	l.down, _ = zooMatrix(b, dev, typ, ff, d)
	for _, c := range []**compute.Tensor{&l.kc, &l.vc} {
		size, _ := compute.ByteSize(compute.F32, compute.Shape{hd, nkv, capacity})
		buf, err := dev.Alloc(size)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { buf.Free() })
		*c, _ = compute.NewTensor(buf, 0, compute.F32, compute.Shape{hd, nkv, capacity})
	}
	return l
}

func (l *llamaLayer) graph(x []float32, pos []int32) *compute.Graph {
	const d, hd, nh, nkv = 2048, 64, 32, 8
	n := len(pos)
	g := compute.NewGraph()
	p := g.Int32s(pos)
	in := g.Float32s(x, compute.Shape{d, n})
	h := g.RMSNorm(in, 1e-5)
	rp := compute.RopeParams{Base: 500000}
	q := g.Rope(g.Reshape(g.MulMat(l.wq, h), compute.Shape{hd, nh, n}), p, rp)
	k := g.Rope(g.Reshape(g.MulMat(l.wk, h), compute.Shape{hd, nkv, n}), p, rp)
	v := g.Reshape(g.MulMat(l.wv, h), compute.Shape{hd, nkv, n})
	a := g.Attention(q, k, v, l.kc, l.vc, p, compute.AttentionParams{Scale: 0.125})
	xa := g.Add(in, g.MulMat(l.wo, a))
	h = g.RMSNorm(xa, 1e-5)
	out := g.Add(xa, g.MulMat(l.down, g.SwiGLU(g.MulMat(l.gate, h), g.MulMat(l.up, h))))
	g.Output(out)
	return g
}

// BenchmarkLayer runs one Llama-1B layer (decode: 1 token; prefill: 64
// tokens) and logs where the time goes. Multiply by 16 layers for a model.
func BenchmarkLayer(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, typ := range []string{"Q4_0", "Q8_0", "Q4_K", "F16"} {
		for _, n := range []int{1, 64} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n%d/t%d", typ, n, threads), func(b *testing.B) {
					dev, be := newCPU(b, threads)
					l := newLlamaLayer(b, dev, typ, 128)
					pos := make([]int32, n)
					for i := range pos {
						pos[i] = int32(i)
					}
					g := l.graph(randVec(r, 2048*n, 1), pos)
					SetProfiling(true)
					defer SetProfiling(false)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := be.Compute(g); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/16, "tok/s_16layers")
					var sb strings.Builder
					for _, p := range Profile() {
						fmt.Fprintf(&sb, " %s/%s %.0fus", p.Op, p.DType, float64(p.Time.Microseconds())/float64(b.N))
					}
					b.Log("per step:" + sb.String())
				})
			}
		}
	}
}
