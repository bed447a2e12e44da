package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
)

// TestMulMatIDPacked checks MulMatID over packed experts (each expert's
// rows in panels of their own; 40 rows leave a partial last panel): against
// float64, bit for bit against the packed MulMat of each expert alone, bit
// for bit for a token alone and in a batch (decode and prefill agree), and
// across thread counts.
func TestMulMatIDPacked(t *testing.T) {
	const nIn, nOut, ne = 512, 40, 6
	dev, _ := newCPU(t, 1)
	r := rand.New(rand.NewPCG(41, 42))
	for _, dt := range packedTypes {
		if !hasPacked(dt) {
			continue
		}
		w, deq := experts(t, dev, dt, nIn, nOut, ne, r)
		tol := 1e-2
		if vdt, _ := VecDotType(dt); vdt == compute.F32 {
			tol = 1e-6
		}
		for _, k := range []int{1, 3} {
			for _, n := range []int{1, 7, 130} {
				for _, perSlot := range []bool{false, true} {
					ids := routes(r, ne, k, n)
					rows := n
					xs := compute.Shape{nIn, n}
					if perSlot {
						rows, xs = k*n, compute.Shape{nIn, k, n}
					}
					x := randVec(r, nIn*rows, 1)
					src := slotRows(x, nIn, k, perSlot)
					want := expertProducts(deq, ids, src, nIn, nOut)
					t.Run(fmt.Sprintf("%s/k%d/n%d/perSlot=%v", dt, k, n, perSlot), func(t *testing.T) {
						var first []float32
						for _, th := range []int{1, 2, 3} {
							_, be := newCPU(t, th)
							g := compute.NewGraph()
							got := run(t, be, g, g.MulMatID(w, g.Float32s(x, xs), g.Reshape(g.Int32s(ids), compute.Shape{k, n})))
							if first != nil {
								if !sameBits(got, first) {
									t.Fatalf("%d threads differ from 1", th)
								}
								continue
							}
							first = got
							if !packedAsExperts(w) {
								t.Fatal("the experts were not packed")
							}
							if e := nerr(got, want); e > tol {
								t.Fatalf("normalised error %.2e vs float64", e)
							}
							checkAgainstMulMat(t, be, w, ids, src, got)
							if n > 1 {
								checkTokensAlone(t, be, w, x, ids, k, perSlot, got)
							}
						}
					})
				}
			}
		}
	}
}

// checkTokensAlone computes a few tokens of a batch one at a time (decode)
// and expects the batch's bits.
func checkTokensAlone(t *testing.T, be compute.Backend, w *compute.Tensor, x []float32, ids []int32, k int, perSlot bool, got []float32) {
	t.Helper()
	nIn, nOut := w.Shape()[0], w.Shape()[1]
	n := len(ids) / k
	for _, tok := range []int{0, n / 2, n - 1} {
		xs, xt := compute.Shape{nIn, 1}, x[tok*nIn:(tok+1)*nIn]
		if perSlot {
			xs, xt = compute.Shape{nIn, k, 1}, x[tok*k*nIn:(tok+1)*k*nIn]
		}
		g := compute.NewGraph()
		one := run(t, be, g, g.MulMatID(w, g.Float32s(xt, xs), g.Reshape(g.Int32s(ids[tok*k:(tok+1)*k]), compute.Shape{k, 1})))
		if !sameBits(one, got[tok*k*nOut:(tok+1)*k*nOut]) {
			t.Fatalf("token %d alone differs from the batch", tok)
		}
	}
}

// packedAsExperts reports whether w's buffer holds a packed copy of all its
// experts.
func packedAsExperts(w *compute.Tensor) bool {
	buf, off := w.Buffer()
	b := buf.(*buffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	s := w.Shape()
	return b.packOf(packKey{off: off, typ: w.DType(), k: int64(s[0]), m: int64(s[1]), n: int64(s[2])}) != nil
}

// slotRows returns the activation row of each (token, slot) pair: the
// token's row, or with perSlot one row per pair.
func slotRows(x []float32, nIn, k int, perSlot bool) func(p int) []float32 {
	return func(p int) []float32 {
		if !perSlot {
			p /= k
		}
		return x[p*nIn : (p+1)*nIn]
	}
}

// expertProducts is MulMatID in float64 from the dequantized experts.
func expertProducts(deq []float32, ids []int32, src func(p int) []float32, nIn, nOut int) []float64 {
	want := make([]float64, nOut*len(ids))
	for p, e := range ids {
		xr := src(p)
		for o := range nOut {
			wr := deq[(int(e)*nOut+o)*nIn:]
			for i, v := range xr {
				want[p*nOut+o] += float64(wr[i]) * float64(v)
			}
		}
	}
	return want
}
