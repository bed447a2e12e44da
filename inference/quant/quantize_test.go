package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeRelativeError quantizes Gaussian data with every quantizer and
// bounds the relative RMS error of the round trip. The bounds sit about 20%
// above what ggml's reference quantizers achieve on such data, so a broken
// fit (wrong scale, wrong packing) fails while the reference passes.
func TestQuantizeRelativeError(t *testing.T) {
	bounds := map[Type]float64{
		F16: 0.00025, BF16: 0.002,
		Q8_0: 0.0065, Q8_1: 0.0065, Q8_K: 0.0085,
		Q4_0: 0.10, Q4_1: 0.095, Q5_0: 0.052, Q5_1: 0.046,
		Q2_K: 0.36, Q3_K: 0.18, Q4_K: 0.086, Q5_K: 0.044, Q6_K: 0.021,
	}
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, 64*QK_K)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	for typ := range quantizers {
		if typ == F32 {
			continue
		}
		bound, ok := bounds[typ]
		if !ok {
			t.Errorf("%s: quantizer has no error bound in this test", typ)
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			q, err := Quantize(typ, src)
			if err != nil {
				t.Fatal(err)
			}
			back := make([]float32, len(src))
			if err := Dequantize(typ, q, back); err != nil {
				t.Fatal(err)
			}
			var se, ss float64
			for i := range src {
				d := float64(back[i] - src[i])
				se += d * d
				ss += float64(src[i]) * float64(src[i])
			}
			if rel := math.Sqrt(se / ss); rel > bound {
				t.Errorf("relative RMS error %.5f > %.5f", rel, bound)
			}
		})
	}
}

// FuzzQuantize feeds arbitrary float32 bit patterns (NaN, Inf, subnormals)
// to every quantizer: no panic, and the result must dequantize.
func FuzzQuantize(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0xff, 1, 0, 0, 0})
	f.Add(make([]byte, 4*QK_K))
	f.Fuzz(func(t *testing.T, raw []byte) {
		src := make([]float32, QK_K)
		for i := range src {
			if 4*i+4 <= len(raw) {
				src[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		for typ := range quantizers {
			q, err := Quantize(typ, src)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if err := Dequantize(typ, q, make([]float32, len(src))); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
		}
	})
}

func TestQuantizeShorthands(t *testing.T) {
	src := make([]float32, QK_K)
	for i := range src {
		src[i] = float32(i%37) - 18.5
	}
	for _, c := range []struct {
		typ Type
		fn  func([]float32) ([]byte, error)
	}{{Q8_0, QuantizeQ8_0}, {Q8_1, QuantizeQ8_1}, {Q8_K, QuantizeQ8_K}, {Q4_0, QuantizeQ4_0}} {
		got, err1 := c.fn(src)
		want, err2 := Quantize(c.typ, src)
		if err1 != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%s shorthand differs from Quantize (%v, %v)", c.typ, err1, err2)
		}
	}
}
