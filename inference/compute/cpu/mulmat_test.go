package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// zooMatrix builds a [k, m] weight from the bytes of zoo.t0 (32 rows of 256),
// laying its blocks end to end, so every weight type gets real blocks.
func zooMatrix(t testing.TB, dev compute.Device, typ string, k, m int) (*compute.Tensor, []float32) {
	t.Helper()
	qt, data := zooTensor(t, zooDir(t), typ, "zoo.t0")
	rowBytes := len(data) / 32
	per := k / 256
	var w []byte
	for r := 0; r < m; r++ {
		for p := 0; p < per; p++ {
			src := (r*per + p*7) % 32
			w = append(w, data[src*rowBytes:(src+1)*rowBytes]...)
		}
	}
	buf, err := dev.WrapHost(w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Free() })
	tensor, err := compute.NewTensor(buf, 0, qt, compute.Shape{k, m})
	if err != nil {
		t.Fatal(err)
	}
	deq, err := DequantizeRow(qt, w, k*m)
	if err != nil {
		t.Fatal(err)
	}
	return tensor, deq
}

func mulMat(t *testing.T, be compute.Backend, w *compute.Tensor, x []float32, n int) []float32 {
	t.Helper()
	g := compute.NewGraph()
	return run(t, be, g, g.MulMat(w, g.Float32s(x, compute.Shape{w.Shape()[0], n})))
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestMulMat checks, for every weight type: the float64 reference, mat-mat
// against one mat-vec per column (bit for bit), 1..4 threads (bit for bit),
// and every SIMD level against the portable kernels.
func TestMulMat(t *testing.T) {
	const k, m, n = 1024, 40, 11
	dev, _ := newCPU(t, 1)
	r := rand.New(rand.NewPCG(9, 10))
	x := randVec(r, k*n, 1)
	levels := isaLevels(t)
	for _, typ := range zooTypes {
		t.Run(typ, func(t *testing.T) {
			w, deq := zooMatrix(t, dev, typ, k, m)
			if !dev.Supports(compute.OpMulMat, w.DType()) {
				t.Fatalf("the CPU backend has no MulMat kernel for %s", typ)
			}
			want := make([]float64, m*n)
			mag := make([]float64, m*n)
			for j := 0; j < n; j++ {
				for i := 0; i < m; i++ {
					for e := 0; e < k; e++ {
						p := float64(deq[i*k+e]) * float64(x[j*k+e])
						want[j*m+i] += p
						mag[j*m+i] += math.Abs(p)
					}
				}
			}
			var base []float32
			for _, isa := range levels {
				use(t, isa)
				var first []float32
				for threads := 1; threads <= 4; threads++ {
					_, be := newCPU(t, threads)
					got := mulMat(t, be, w, x, n)
					if first == nil {
						first = got
						tol := 1e-2 // activations quantized to 8 bits
						if w.DType() == compute.F16 || w.DType() == compute.BF16 {
							tol = 1e-6
						}
						if e := nerr(got, want); e > tol {
							t.Fatalf("%s: normalised error %.2e vs float64", isa, e)
						}
						for j := 0; j < n; j++ {
							col := mulMat(t, be, w, x[j*k:(j+1)*k], 1)
							if !sameBits(col, got[j*m:(j+1)*m]) {
								t.Fatalf("%s: column %d alone differs from the batch", isa, j)
							}
						}
					} else if !sameBits(got, first) {
						t.Fatalf("%s: %d threads differ from 1 thread", isa, threads)
					}
				}
				if base == nil {
					base = first
					continue
				}
				worst := 0.0
				for i := range first {
					worst = max(worst, math.Abs(float64(first[i])-float64(base[i]))/mag[i])
				}
				if worst > 2e-6 {
					t.Fatalf("%s differs from %s by %.2e of sum|w*x|", isa, levels[0], worst)
				}
			}
		})
	}
}

// TestThreadsDeterministic runs a small transformer block with 1..4 threads
// and expects identical bits.
func TestThreadsDeterministic(t *testing.T) {
	dev, _ := newCPU(t, 1)
	const d, n, hd = 256, 7, 32
	wq, _ := zooMatrix(t, dev, "Q4_K", d, d)
	wkv, _ := zooMatrix(t, dev, "Q8_0", d, 2*hd)
	r := rand.New(rand.NewPCG(11, 12))
	x := randVec(r, d*n, 1)
	var first []float32
	for threads := 1; threads <= 4; threads++ {
		_, be := newCPU(t, threads)
		size, _ := compute.ByteSize(compute.F32, compute.Shape{hd, 2, 16})
		kb, _ := dev.Alloc(size)
		vb, _ := dev.Alloc(size)
		kc, _ := compute.NewTensor(kb, 0, compute.F32, compute.Shape{hd, 2, 16})
		vc, _ := compute.NewTensor(vb, 0, compute.F32, compute.Shape{hd, 2, 16})
		g := compute.NewGraph()
		pos := g.Int32s([]int32{0, 1, 2, 3, 4, 5, 6})
		h := g.RMSNorm(g.Float32s(x, compute.Shape{d, n}), 1e-5)
		q := g.Rope(g.Reshape(g.MulMat(wq, h), compute.Shape{hd, 8, n}), pos, compute.RopeParams{Base: 1e4})
		k := g.Rope(g.Reshape(g.MulMat(wkv, h), compute.Shape{hd, 2, n}), pos, compute.RopeParams{Base: 1e4})
		v := g.Reshape(g.MulMat(wkv, h), compute.Shape{hd, 2, n})
		a := g.Attention(q, k, v, kc, vc, pos, compute.AttentionParams{Scale: 0.17})
		out := g.SwiGLU(g.MulMat(wq, a), h)
		got := run(t, be, g, out)
		kb.Free()
		vb.Free()
		if first == nil {
			first = got
		} else if !sameBits(got, first) {
			t.Fatalf("%d threads differ from 1 thread", threads)
		}
	}
}

// TestSharedActivations checks products that share (or alternate) their
// input: the backend quantizes a shared input once, and must not reuse it
// for a different input of the same shape.
func TestSharedActivations(t *testing.T) {
	dev, be := newCPU(t, 2)
	const k, m, n = 512, 24, 3
	w, _ := zooMatrix(t, dev, "Q4_0", k, m)
	w2, _ := zooMatrix(t, dev, "Q8_0", k, m)
	r := rand.New(rand.NewPCG(13, 14))
	x1, x2 := randVec(r, k*n, 1), randVec(r, k*n, 1)
	alone := func(w *compute.Tensor, x []float32) []float32 { return mulMat(t, be, w, x, n) }
	want := [][]float32{alone(w, x1), alone(w2, x1), alone(w, x2), alone(w, x1), alone(w2, x1)}
	g := compute.NewGraph()
	a, b := g.Float32s(x1, compute.Shape{k, n}), g.Float32s(x2, compute.Shape{k, n})
	outs := []*compute.Tensor{g.MulMat(w, a), g.MulMat(w2, a), g.MulMat(w, b), g.MulMat(w, a)}
	// Ops in between that do not touch the activations (rope keeps its
	// tables at the other end of the scratch memory).
	g.Scale(outs[0], 2)
	g.Rope(g.Reshape(outs[3], compute.Shape{8, 3, n}), g.Int32s([]int32{1, 2, 3}), compute.RopeParams{Base: 1e4})
	outs = append(outs, g.MulMat(w2, g.Reshape(a, compute.Shape{k, n})))
	for _, o := range outs {
		g.Output(o)
	}
	if err := be.Compute(g); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		got := make([]float32, m*n)
		if err := be.Read(o, got); err != nil {
			t.Fatal(err)
		}
		if !sameBits(got, want[i]) {
			t.Fatalf("product %d differs from the same product computed alone", i)
		}
	}
}

// TestFloatRowTails multiplies F16/BF16/F32 rows whose length is not a
// multiple of any SIMD width: batch and single rows must agree bit for bit.
func TestFloatRowTails(t *testing.T) {
	const k, m, n = 77, 9, 6
	r := rand.New(rand.NewPCG(15, 16))
	for _, isa := range isaLevels(t) {
		use(t, isa)
		dev, be := newCPU(t, 2)
		for _, dt := range []compute.DType{compute.F32, compute.F16, compute.BF16} {
			w := randVec(r, k*m, 1)
			raw := make([]byte, 0, 4*k*m)
			for _, v := range w {
				switch dt {
				case compute.F32:
					u := math.Float32bits(v)
					raw = append(raw, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
				case compute.F16:
					h := quant.Float32ToFP16(v)
					raw = append(raw, byte(h), byte(h>>8))
				case compute.BF16:
					h := quant.Float32ToBF16(v)
					raw = append(raw, byte(h), byte(h>>8))
				}
			}
			buf, _ := dev.WrapHost(raw)
			wt, err := compute.NewTensor(buf, 0, dt, compute.Shape{k, m})
			if err != nil {
				t.Fatal(err)
			}
			x := randVec(r, k*n, 1)
			batch := mulMat(t, be, wt, x, n)
			for j := 0; j < n; j++ {
				if !sameBits(mulMat(t, be, wt, x[j*k:(j+1)*k], 1), batch[j*m:(j+1)*m]) {
					t.Fatalf("%s %s: row %d alone differs from the batch", isa, dt, j)
				}
			}
			buf.Free()
		}
	}
}

// TestBiasFusion checks products followed by the Add of a bias (fused by
// the backend into one op): the same bits as the product and the Add done
// apart, for packed, unpacked and float weights, decode and batches; a
// product used twice is not fused, and nor is one whose float input shares
// bytes with the sum.
func TestBiasFusion(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(17, 18))
	const k = 256
	for _, typ := range []compute.DType{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.F16, quant.F32} {
		for _, packed := range []bool{true, false} {
			for _, n := range []int{1, 3, 70} {
				name := fmt.Sprintf("%s/packed=%v/n=%d", typ, packed, n)
				withPacking(packed, func() {
					// m == k: the sum is the size of the input, so the
					// plan may hand it the input's bytes.
					for _, m := range []int{40, k} {
						_, w, _ := quantMatrix(t, dev, r, typ, k, m)
						x, bias := randVec(r, k*n, 1), randVec(r, m, 1)
						prod := mulMat(t, be, w, x, n)
						want := make([]float32, m*n)
						for i := range want {
							want[i] = prod[i] + bias[i%m]
						}
						g := compute.NewGraph()
						in := g.Scale(g.Float32s(x, compute.Shape{k, n}), 1) // dies at the product
						got := run(t, be, g, g.Add(g.MulMat(w, in), g.Float32s(bias, compute.Shape{m})))
						if !sameBits(got, want) {
							t.Fatalf("%s m=%d: product plus bias differs from the two apart", name, m)
						}
					}
				})
			}
		}
	}
	// q, k and v with biases: fused, the three products share one
	// quantization of x and need no meeting between them.
	_, wq, _ := quantMatrix(t, dev, r, quant.Q8_0, k, 64)
	x, bias := randVec(r, k, 1), randVec(r, 64, 1)
	prod := mulMat(t, be, wq, x, 1)
	g := compute.NewGraph()
	in, b := g.Float32s(x, compute.Shape{k}), g.Float32s(bias, compute.Shape{64})
	var outs []*compute.Tensor
	for range 3 {
		outs = append(outs, g.Add(g.MulMat(wq, in), b))
	}
	twice := g.MulMat(wq, in)
	outs = append(outs, g.Add(twice, b), g.Scale(twice, 2))
	for _, o := range outs {
		g.Output(o)
	}
	if err := be.Compute(g); err != nil {
		t.Fatal(err)
	}
	if _, phases := lastPlan(); phases != 2*4+2 {
		t.Errorf("%d phases: want 10 (4 products of 2 phases, 1 unfused Add, 1 Scale)", phases)
	}
	for i, o := range outs {
		got := make([]float32, 64)
		if err := be.Read(o, got); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			want := prod[j] + bias[j]
			if i == 4 {
				want = prod[j] * 2
			}
			if got[j] != want {
				t.Fatalf("output %d row %d: %g, want %g", i, j, got[j], want)
			}
		}
	}
}
