package quant

import (
	"math/rand/v2"
	"testing"
)

// benchRow returns a 4096-element row of Gaussian values quantized to t.
func benchRow(b *testing.B, t Type) ([]byte, []float32) {
	rng := rand.New(rand.NewPCG(7, 8))
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	q, err := Quantize(t, src)
	if err != nil {
		b.Fatal(err)
	}
	return q, src
}

func BenchmarkDequantize(b *testing.B) {
	for _, t := range []Type{Q4_0, Q4_K, Q8_0, Q6_K, F16} {
		b.Run(t.String(), func(b *testing.B) {
			row, src := benchRow(b, t)
			dst := make([]float32, len(src))
			b.SetBytes(int64(len(src) * 4))
			for b.Loop() {
				if err := Dequantize(t, row, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVecDot(b *testing.B) {
	for _, t := range []Type{Q4_0, Q4_K, Q8_0} {
		b.Run(t.String(), func(b *testing.B) {
			row, src := benchRow(b, t)
			xq, err := Quantize(VecDotType(t), src)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := VecDotQuantized(t, row, xq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	for _, t := range []Type{Q8_0, Q8_K, Q4_K} {
		b.Run(t.String(), func(b *testing.B) {
			_, src := benchRow(b, F32)
			dst := make([]byte, len(src)/t.BlockSize()*t.TypeSize())
			b.SetBytes(int64(len(src) * 4))
			for b.Loop() {
				if err := QuantizeInto(t, src, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
