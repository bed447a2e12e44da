package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// fuzzLeaves are the weights and caches a fuzzed graph may use. reset
// rewrites their contents (Copy and Attention write into leaves) so that
// two runs of one graph start from the same state.
type fuzzLeaves struct {
	tensors []*compute.Tensor
	bufs    []compute.Buffer
	init    [][]byte
}

func newFuzzLeaves(f *testing.F, dev compute.Device) *fuzzLeaves {
	l := &fuzzLeaves{}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		dt compute.DType
		s  compute.Shape
	}{
		{quant.Q4_0, compute.Shape{32, 4}}, {quant.F16, compute.Shape{8, 3}}, {quant.Q4_K, compute.Shape{256, 2}},
		{quant.F32, compute.Shape{8, 2, 6}}, {quant.F16, compute.Shape{8, 2, 6}},
	} {
		size, err := compute.ByteSize(c.dt, c.s)
		if err != nil {
			f.Fatal(err)
		}
		data := make([]byte, size)
		switch c.dt {
		case quant.F32:
			for i := 0; i < len(data); i += 4 {
				binary.LittleEndian.PutUint32(data[i:], math.Float32bits(float32(r.NormFloat64())))
			}
		case quant.F16:
			for i := 0; i < len(data); i += 2 {
				binary.LittleEndian.PutUint16(data[i:], quant.Float32ToFP16(float32(r.NormFloat64())))
			}
		default: // random quants with small positive scales at the block start (d, dmin)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			bs := c.dt.TypeSize()
			for b := 0; b < len(data); b += bs {
				binary.LittleEndian.PutUint16(data[b:], quant.Float32ToFP16(0.01))
				binary.LittleEndian.PutUint16(data[b+2:], quant.Float32ToFP16(0.01))
			}
		}
		buf, err := dev.Alloc(size)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { buf.Free() })
		x, err := compute.NewTensor(buf, 0, c.dt, c.s)
		if err != nil {
			f.Fatal(err)
		}
		l.tensors, l.bufs, l.init = append(l.tensors, x), append(l.bufs, buf), append(l.init, data)
	}
	return l
}

func (l *fuzzLeaves) reset(t *testing.T) {
	for i, b := range l.bufs {
		if err := b.Write(0, l.init[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// buildFuzzGraph turns bytes into builder calls over the leaves. With
// keepAll every node is an output, so the backend reuses no memory.
func buildFuzzGraph(data []byte, l *fuzzLeaves, keepAll bool) (*compute.Graph, *compute.Tensor) {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := int(data[0])
		data = data[1:]
		return b
	}
	kc, vc := l.tensors[3], l.tensors[4]
	g := compute.NewGraph()
	pool := append([]*compute.Tensor{}, l.tensors...)
	pick := func() *compute.Tensor { return pool[next()%len(pool)] }
	small := func() int { return 1 + next()%9 }
	var last *compute.Tensor
	for len(data) > 0 {
		var out *compute.Tensor
		switch next() % 14 {
		case 0:
			s := compute.Shape{small() * 8, small(), 1 + next()%3}
			vals := make([]float32, s.Elements())
			r := rand.New(rand.NewPCG(uint64(next()), 7))
			for i := range vals {
				vals[i] = float32(r.NormFloat64())
			}
			out = g.Float32s(vals, s)
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
			out = g.Rows(pick(), next()%3, 1+next()%3)
		case 12:
			out = g.Copy(pick(), pick())
		case 13:
			out = g.Scale(pick(), 0.5)
		}
		if g.Err() != nil {
			break
		}
		pool = append(pool, out)
		if out.DType() == compute.F32 {
			last = out
		}
		if keepAll {
			g.Output(out)
		}
	}
	if last != nil {
		g.Output(last)
	}
	return g, last
}

// FuzzGraph builds graphs from arbitrary bytes: random ops, shapes, ids and
// positions over a few fixed weights and caches. Invalid graphs must give an
// error, never a crash; valid ones must give the same bits whether or not the
// backend reuses memory between nodes.
func FuzzGraph(f *testing.F) {
	f.Add([]byte{0, 4, 1, 2, 3, 9, 7, 5})
	f.Add([]byte{1, 32, 2, 4, 3, 0, 6, 2, 8, 8, 8, 8, 10, 1, 11, 2})
	f.Add([]byte{7, 8, 2, 1, 9, 3, 200, 5, 5, 5, 12, 0, 13, 1})
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 2, 0, 9, 2, 0, 5, 2, 0, 6, 6, 0, 1, 2, 3, 2, 0, 5})
	// A dead node, then an input of the same size created after it: the
	// input's bytes must not be reused (inputs are copied in first).
	f.Add([]byte{13, 3, 0, 1, 2, 1, 5, 13, 6})
	dev, be := newCPU(f, 2)
	leaves := newFuzzLeaves(f, dev)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			return
		}
		var results [2][]float32
		for run, keepAll := range []bool{false, true} {
			g, last := buildFuzzGraph(data, leaves, keepAll)
			leaves.reset(t)
			if err := be.Compute(g); err != nil || last == nil {
				return // an error is fine; a crash is not
			}
			results[run] = make([]float32, last.Shape().Elements())
			if err := be.Read(last, results[run]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range results[0] {
			if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
				t.Fatalf("element %d: %g with memory reuse, %g without", i, results[0][i], results[1][i])
			}
		}
	})
}
