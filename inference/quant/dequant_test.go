package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDequantizeErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		typ     Type
		size, n int
		want    string
	}{
		{"unsupported type", IQ2_XS, 74, 256, "IQ2_XS is not supported"},
		{"unknown type", Type(99), 4, 1, "type(99) is not supported"},
		{"partial block", Q4_0, 18, 31, "not a multiple of the block size 32"},
		{"short data", Q4_K, 143, 256, "take 144 bytes, got 143"},
		{"long data", Q8_0, 35, 32, "take 34 bytes, got 35"},
		{"data for no elements", F32, 4, 0, "take 0 bytes, got 4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Dequantize(c.typ, make([]byte, c.size), make([]float32, c.n))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	if err := Dequantize(Q4_0, nil, nil); err != nil {
		t.Fatalf("empty input: %v", err)
	}
}

// TestDequantizeHandMadeBlocks checks the layouts on blocks written by hand,
// so that the package is tested even without the zoo.
func TestDequantizeHandMadeBlocks(t *testing.T) {
	const half2 = 0x4000 // 2.0
	const halfQ = 0x3400 // 0.25
	const halfM = 0xbc00 // -1.0
	le16 := func(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	seq := func(n int, f func(i int) byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = f(i)
		}
		return b
	}
	for _, c := range []struct {
		typ  Type
		data []byte
		want func(i int) float32
	}{
		// Q4_0: qs[j] = j | (15-j)<<4, d = 2: element j<16 is 2*(j-8), j>=16 is 2*(15-(j-16)-8).
		{Q4_0, cat(le16(half2), seq(16, func(j int) byte { return byte(j) | byte(15-j)<<4 })),
			func(i int) float32 {
				if i < 16 {
					return 2 * float32(i-8)
				}
				return 2 * float32(15-(i-16)-8)
			}},
		// Q4_1: d = 0.25, m = -1, all quants 4 (low) and 12 (high).
		{Q4_1, cat(le16(halfQ), le16(halfM), seq(16, func(int) byte { return 4 | 12<<4 })),
			func(i int) float32 {
				if i < 16 {
					return 0.25*4 - 1
				}
				return 0.25*12 - 1
			}},
		// Q5_0: low nibbles 0, qh = 0xaaaaaaaa sets the fifth bit of odd elements.
		{Q5_0, cat(le16(half2), []byte{0xaa, 0xaa, 0xaa, 0xaa}, make([]byte, 16)),
			func(i int) float32 { return 2 * float32(16*(i%2)-16) }},
		// Q8_0: q = j-16.
		{Q8_0, cat(le16(halfQ), seq(32, func(j int) byte { return byte(int8(j - 16)) })),
			func(i int) float32 { return 0.25 * float32(i-16) }},
		// Q6_K: all quants 32+1 (ql low nibble 1, qh bits 2), scales 3, d = 0.25.
		{Q6_K, cat(seq(128, func(int) byte { return 0x11 }), seq(64, func(int) byte { return 0xaa }),
			seq(16, func(int) byte { return 3 }), le16(halfQ)),
			func(int) float32 { return 0.25 * 3 * float32(0x21-32) }},
		// IQ4_NL: index = element % 16 in the low nibbles, 15 - that in the high.
		{IQ4_NL, cat(le16(half2), seq(16, func(j int) byte { return byte(j) | byte(15-j)<<4 })),
			func(i int) float32 {
				if i < 16 {
					return 2 * float32(iq4nlValues[i])
				}
				return 2 * float32(iq4nlValues[15-(i-16)])
			}},
	} {
		t.Run(c.typ.String(), func(t *testing.T) {
			n := len(c.data) / c.typ.TypeSize() * c.typ.BlockSize()
			got := make([]float32, n)
			if err := Dequantize(c.typ, c.data, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if w := c.want(i); got[i] != w {
					t.Fatalf("element %d: got %g, want %g", i, got[i], w)
				}
			}
		})
	}
}

// TestQuantizeRoundTrip checks the quantizers against their own error bound:
// a value is off by at most half a step after a round trip.
func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, 4*QK_K)
	for i := range src {
		src[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(i/64%5-2)))
	}
	for _, c := range []struct {
		typ   Type
		group int
		steps float32 // quantization steps across max|x| of a group
	}{
		{Q8_0, 32, 127}, {Q8_1, 32, 127}, {Q8_K, 256, 127}, {Q4_0, 32, 4 /* the clamp at q=15 costs a whole step */}, {F16, 1, 0}, {BF16, 1, 0},
	} {
		t.Run(c.typ.String(), func(t *testing.T) {
			q, err := Quantize(c.typ, src)
			if err != nil {
				t.Fatal(err)
			}
			back := make([]float32, len(src))
			if err := Dequantize(c.typ, q, back); err != nil {
				t.Fatal(err)
			}
			for g := 0; g < len(src); g += c.group {
				amax, _ := absMax(src[g : g+c.group])
				for i := g; i < g+c.group; i++ {
					// Half a step, plus the fp16 rounding of the scale (which
					// shifts the largest element by up to 2^-11 of itself).
					tol := amax*(1.0/1024) + 1e-30
					if c.steps > 0 {
						tol += amax / c.steps / 2 * 1.001
					} else if c.typ == BF16 {
						tol = abs32(src[i]) / 256
					} else {
						tol = abs32(src[i])/2048 + 3e-8
					}
					if d := abs32(back[i] - src[i]); d > tol {
						t.Fatalf("element %d: %g came back as %g (error %g > %g)", i, src[i], back[i], d, tol)
					}
				}
			}
		})
	}
}

func TestQuantizeErrors(t *testing.T) {
	if _, err := Quantize(Q4_K+100, make([]float32, 256)); err == nil {
		t.Error("unknown type: no error")
	}
	if _, err := Quantize(IQ3_S, make([]float32, 256)); err == nil || !strings.Contains(err.Error(), "IQ3_S") {
		t.Errorf("unsupported type: got %v", err)
	}
	if _, err := QuantizeQ8_0(make([]float32, 33)); err == nil {
		t.Error("33 elements to Q8_0: no error")
	}
	if err := QuantizeInto(Q8_0, make([]float32, 32), make([]byte, 33)); err == nil {
		t.Error("QuantizeInto with a wrong destination size: no error")
	}
	dst := make([]byte, 34)
	if err := QuantizeInto(Q8_0, make([]float32, 32), dst); err != nil {
		t.Errorf("QuantizeInto: %v", err)
	}
}

// TestQuantizeQ8_KZeroAndSign checks Q8_K's sign convention and zero block.
func TestQuantizeQ8_KZeroAndSign(t *testing.T) {
	x := make([]float32, 2*QK_K)
	x[3] = 0.5
	x[7] = -2 // the element of largest magnitude: q = -127
	q, err := QuantizeQ8_K(x)
	if err != nil {
		t.Fatal(err)
	}
	d := math.Float32frombits(binary.LittleEndian.Uint32(q))
	if want := float32(2) / 127; d != want {
		t.Errorf("d = %g, want %g", d, want)
	}
	if int8(q[4+7]) != -127 || int8(q[4+3]) != 32 {
		t.Errorf("quants %d %d, want -127 32", int8(q[4+7]), int8(q[4+3]))
	}
	if s := int16(binary.LittleEndian.Uint16(q[4+QK_K:])); s != -127+32 {
		t.Errorf("bsums[0] = %d, want %d", s, -127+32)
	}
	for i, b := range q[292:] {
		if b != 0 {
			t.Fatalf("zero block: byte %d is %#x", i, b)
		}
	}
}

// FuzzDequantize feeds random bytes to every supported type: the result may
// be any floats (NaN included) but there must be no panic, and a destination
// of the wrong length must give an error.
func FuzzDequantize(f *testing.F) {
	f.Add(byte(Q4_K), make([]byte, 144))
	f.Add(byte(IQ3_S), []byte{0xff, 0x7b, 1, 2, 3})
	f.Add(byte(Q5_1), make([]byte, 48))
	f.Fuzz(func(t *testing.T, typ byte, data []byte) {
		tt := Type(typ % 40)
		if !CanDequantize(tt) {
			if err := Dequantize(tt, data, make([]float32, 256)); err == nil {
				t.Fatalf("%s: no error for an unsupported type", tt)
			}
			return
		}
		blocks := len(data) / tt.TypeSize()
		data = data[:blocks*tt.TypeSize()]
		if err := Dequantize(tt, data, make([]float32, blocks*tt.BlockSize())); err != nil {
			t.Fatalf("%s: %v", tt, err)
		}
		if err := Dequantize(tt, data, make([]float32, blocks*tt.BlockSize()+tt.BlockSize())); err == nil {
			t.Fatalf("%s: no error for a destination one block too long", tt)
		}
		if err := Dequantize(tt, append(data, 0), make([]float32, blocks*tt.BlockSize())); err == nil {
			t.Fatalf("%s: no error for a trailing byte", tt)
		}
	})
}
