package cpu

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// kBlock builds one super-block of a K-quant type from fill bytes: Q4_K
// gets scale bytes sc (all 12) and quant bytes q; Q6_K gets signed scales
// sc, low quant bytes q and high bits qh.
func kBlock(typ compute.DType, d float32, sc, q, qh byte) []byte {
	var b bytes.Buffer
	h := func(v float32) { binary.Write(&b, binary.LittleEndian, quant.Float32ToFP16(v)) }
	switch typ {
	case quant.Q4_K:
		h(d)
		h(d / 2) // dmin
		b.Write(bytes.Repeat([]byte{sc}, 12))
		b.Write(bytes.Repeat([]byte{q}, 128))
	case quant.Q6_K:
		b.Write(bytes.Repeat([]byte{q}, 128))
		b.Write(bytes.Repeat([]byte{qh}, 64))
		b.Write(bytes.Repeat([]byte{sc}, 16))
		h(d)
	}
	return b.Bytes()
}

// TestPackedKExtremes runs the packed K-quant kernels on the largest
// scales and quants each format holds, with activations at full scale, so
// that the 32-bit integer sums the kernels keep per super-block are at
// their largest: packed products must still match the unpacked kernels
// and a float64 reference.
func TestPackedKExtremes(t *testing.T) {
	const k, m = 512, 17
	ones := func(alternate bool) []float32 {
		x := make([]float32, k)
		for i := range x {
			x[i] = 1
			if alternate && i%2 == 1 {
				x[i] = -1
			}
		}
		return x
	}
	cases := []struct {
		name       string
		typ        compute.DType
		sc, q, qh  byte
		alternateX bool
	}{
		{"Q4_K/max quants and scales", quant.Q4_K, 0xff, 0xff, 0, false},
		{"Q4_K/max quants, alternating x", quant.Q4_K, 0xff, 0xff, 0, true},
		{"Q4_K/zero quants, max mins", quant.Q4_K, 0xff, 0x00, 0, false},
		{"Q4_K/low nibbles only", quant.Q4_K, 0xff, 0x0f, 0, true},
		{"Q6_K/min quants, scale -128", quant.Q6_K, 0x80, 0x00, 0x00, false},
		{"Q6_K/max quants, scale 127", quant.Q6_K, 0x7f, 0xff, 0xff, false},
		{"Q6_K/max quants, scale -128, alternating x", quant.Q6_K, 0x80, 0xff, 0xff, true},
		{"Q6_K/mixed bits", quant.Q6_K, 0x81, 0x5a, 0xc3, true},
	}
	dev, be := newCPU(t, 2)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !hasPacked(tc.typ) {
				t.Skip("no packed kernel at this kernel level")
			}
			var raw []byte
			for r := 0; r < m; r++ {
				for b := 0; b < k/256; b++ {
					raw = append(raw, kBlock(tc.typ, 0.01*float32(1+r%3), tc.sc, tc.q, tc.qh)...)
				}
			}
			buf, err := dev.WrapHost(raw)
			if err != nil {
				t.Fatal(err)
			}
			defer buf.Free()
			w, err := compute.NewTensor(buf, 0, tc.typ, compute.Shape{k, m})
			if err != nil {
				t.Fatal(err)
			}
			deq, err := DequantizeRow(tc.typ, raw, k*m)
			if err != nil {
				t.Fatal(err)
			}
			x := ones(tc.alternateX)
			var plain, packed []float32
			withPacking(false, func() { plain = mulMat(t, be, w, x, 1) })
			withPacking(true, func() { packed = mulMat(t, be, w, x, 1) })
			for i := 0; i < m; i++ {
				var want, mag float64
				for e := 0; e < k; e++ {
					p := float64(deq[i*k+e]) * float64(x[e])
					want += p
					mag += math.Abs(p)
				}
				got := float64(packed[i])
				if math.Abs(got-float64(plain[i])) > 2e-6*mag {
					t.Fatalf("row %d: packed %g, unpacked %g", i, got, plain[i])
				}
				// x = +-1 quantizes exactly, so only float rounding is left
				if math.Abs(got-want) > 1e-5*mag {
					t.Fatalf("row %d: packed %g, float64 %g", i, got, want)
				}
			}
		})
	}
}

// BenchmarkPackK measures packing a K-quant matrix (what the first prompt
// after loading a model waits for), in source bytes per second.
func BenchmarkPackK(b *testing.B) {
	const k, m = 2048, 8192
	for _, typ := range []compute.DType{quant.Q4_K, quant.Q6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			if !hasPacked(typ) {
				b.Skip("no packed kernel at this kernel level")
			}
			raw, err := quant.Quantize(typ, randVec(rand.New(rand.NewPCG(5, 6)), k*m, 1))
			if err != nil {
				b.Fatal(err)
			}
			dev, _ := newCPU(b, 1)
			cb, err := dev.WrapHost(raw)
			if err != nil {
				b.Fatal(err)
			}
			defer cb.Free()
			buf := cb.(*buffer)
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf.mu.Lock()
				buf.dropPacks()
				buf.mu.Unlock()
				if _, ok, err := buf.packedOf(0, typ, k, m, 1); err != nil || !ok {
					b.Fatalf("packing failed: ok %v, %v", ok, err)
				}
			}
		})
	}
}
