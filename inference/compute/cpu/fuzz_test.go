package cpu

import (
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// FuzzGraph builds graphs from arbitrary bytes: random ops, shapes, ids and
// positions over a few fixed weights and caches. The builder and Compute
// must reject what is invalid with an error; nothing may crash in C.
func FuzzGraph(f *testing.F) {
	f.Add([]byte{0, 4, 1, 2, 3, 9, 7, 5})
	f.Add([]byte{1, 32, 2, 4, 3, 0, 6, 2, 8, 8, 8, 8, 10, 1, 11, 2})
	f.Add([]byte{7, 8, 2, 1, 9, 3, 200, 5, 5, 5, 12, 0, 13, 1})
	dev, be := newCPU(f, 2)
	wq := fuzzLeaf(f, dev, quant.Q4_0, compute.Shape{32, 4})
	wf := fuzzLeaf(f, dev, quant.F16, compute.Shape{8, 3})
	wk := fuzzLeaf(f, dev, quant.Q4_K, compute.Shape{256, 2})
	kc := fuzzLeaf(f, dev, quant.F32, compute.Shape{8, 2, 6})
	vc := fuzzLeaf(f, dev, quant.F16, compute.Shape{8, 2, 6})
	leaves := []*compute.Tensor{wq, wf, wk, kc, vc}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			return
		}
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := int(data[0])
			data = data[1:]
			return b
		}
		g := compute.NewGraph()
		pool := append([]*compute.Tensor{}, leaves...)
		pick := func() *compute.Tensor { return pool[next()%len(pool)] }
		small := func() int { return 1 + next()%9 }
		for len(data) > 0 {
			var out *compute.Tensor
			switch next() % 14 {
			case 0:
				s := compute.Shape{small() * 8, small(), 1 + next()%3}
				out = g.Float32s(make([]float32, s.Elements()), s)
			case 1:
				ids := make([]int32, 1+next()%4)
				for i := range ids {
					ids[i] = int32(next()) - 8
				}
				out = g.GetRows(pick(), g.Int32s(ids))
			case 2:
				out = g.MulMat(pick(), pick())
			case 3:
				out = g.Add(pick(), pick())
			case 4:
				out = g.Mul(pick(), pick())
			case 5:
				out = g.RMSNorm(pick(), 1e-5)
			case 6:
				x := pick()
				pos := make([]int32, x.Shape()[2])
				for i := range pos {
					pos[i] = int32(next())
				}
				out = g.Rope(x, g.Int32s(pos), compute.RopeParams{Dims: 2 * (next() % 5), Base: 1e4, Mode: compute.RopeMode(next() % 3)})
			case 7:
				q, k := pick(), pick()
				pos := make([]int32, q.Shape()[2])
				for i := range pos {
					pos[i] = int32(next() % 8)
				}
				out = g.Attention(q, k, k, kc, vc, g.Int32s(pos), compute.AttentionParams{Scale: 0.5, Window: next() % 3})
			case 8:
				out = g.SwiGLU(pick(), pick())
			case 9:
				out = g.Softmax(pick())
			case 10:
				out = g.Reshape(pick(), compute.Shape{small(), small()})
			case 11:
				x := pick()
				out = g.Rows(x, next()%3, 1+next()%3)
			case 12:
				out = g.Copy(pick(), pick())
			case 13:
				out = g.Scale(pick(), 0.5)
			}
			if g.Err() != nil {
				break
			}
			pool = append(pool, out)
		}
		if g.Err() == nil && len(pool) > len(leaves) {
			g.Output(pool[len(pool)-1])
		}
		_ = be.Compute(g) // an error is fine; a crash is not
	})
}

func fuzzLeaf(f *testing.F, dev compute.Device, dt compute.DType, s compute.Shape) *compute.Tensor {
	size, err := compute.ByteSize(dt, s)
	if err != nil {
		f.Fatal(err)
	}
	buf, err := dev.Alloc(size)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { buf.Free() })
	x, err := compute.NewTensor(buf, 0, dt, s)
	if err != nil {
		f.Fatal(err)
	}
	return x
}
