package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/quant"
)

// TestPackedF16Lengths covers the row lengths the F16 packed kernel splits
// differently (pairs of elements, an odd last element, two halves of the
// pairs that may differ by one): every batch of 1 to 8 activation rows,
// which the kernel computes in different orders of passes, must give each
// row the bits it gets alone, and match a float64 reference.
func TestPackedF16Lengths(t *testing.T) {
	if !hasPacked(quant.F16) {
		t.Skip("no packed F16 kernel at this kernel level")
	}
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(25, 26))
	const m, cols = 20, 8 // a whole panel and a partial one
	for _, k := range []int{1, 2, 4, 5, 6, 7, 8, 9, 15, 33, 255, 257, 1025} {
		t.Run(fmt.Sprintf("k%d", k), func(t *testing.T) {
			_, w, deq := quantMatrix(t, dev, r, quant.F16, k, m)
			x := randVec(r, k*cols, 1)
			withPacking(true, func() {
				alone := make([]float32, 0, cols*m)
				for j := 0; j < cols; j++ {
					alone = append(alone, mulMat(t, be, w, x[j*k:(j+1)*k], 1)...)
				}
				for n := 2; n <= cols; n++ {
					if got := mulMat(t, be, w, x[:n*k], n); !sameBits(got, alone[:n*m]) {
						t.Fatalf("a batch of %d rows differs from the rows alone", n)
					}
				}
				for j := 0; j < cols; j++ {
					for i := 0; i < m; i++ {
						want, mag := dot64(deq[i*k:(i+1)*k], x[j*k:(j+1)*k])
						if got := float64(alone[j*m+i]); math.Abs(got-want) > 1e-6*mag {
							t.Fatalf("[%d,%d]: %g, float64 %g", j, i, got, want)
						}
					}
				}
			})
		})
	}
}

// dot64 returns the dot of w and x in float64 and the sum of |w*x|, the
// scale of its rounding errors.
func dot64(w, x []float32) (dot, mag float64) {
	for e := range w {
		p := float64(w[e]) * float64(x[e])
		dot, mag = dot+p, mag+math.Abs(p)
	}
	return dot, mag
}
