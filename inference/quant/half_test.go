package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// fp16ByFloatTrick is an independent float32-to-half conversion that lets the
// FPU do the rounding (scale into place, add a magic bias, read the bits). It
// rounds to nearest even in a different way from Float32ToFP16, so agreement
// over many inputs is a real check.
func fp16ByFloatTrick(f float32) uint16 {
	const scaleToInf = 0x1.0p+112
	const scaleToZero = 0x1.0p-110
	base := float32(abs32(f)*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7c00 + bits&0x0fff
	if shl1 > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16) | uint16(nonsign)
}

func TestFP16AllHalvesRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FP16ToFloat32(uint16(h))
		isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		if isNaN != (f != f) {
			t.Fatalf("%#04x -> %g: NaN-ness wrong", h, f)
		}
		want := uint16(h)
		if isNaN {
			want = uint16(h&0x8000) | 0x7e00
		}
		if got := Float32ToFP16(f); got != want {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, got)
		}
		// The half's value computed independently in float64.
		if !isNaN && h&0x7c00 != 0x7c00 {
			e, m := h>>10&31, float64(h&0x3ff)
			v := math.Ldexp(m, -24)
			if e != 0 {
				v = math.Ldexp(1024+m, int(e)-25)
			}
			if h&0x8000 != 0 {
				v = -v
			}
			if float64(f) != v || math.Signbit(float64(f)) != (h&0x8000 != 0) {
				t.Fatalf("%#04x: got %g, want %g", h, f, v)
			}
		}
	}
}

func TestFloat32ToFP16Rounding(t *testing.T) {
	// Between every pair of adjacent positive halves (including the step from
	// 65504 to the overflow threshold 65536), the midpoint ties to even and
	// one float32 ulp either side goes to the nearer neighbour.
	for h := uint16(0); h < 0x7c00; h++ {
		lo := float64(FP16ToFloat32(h))
		hi := float64(FP16ToFloat32(h + 1))
		if h == 0x7bff {
			hi = 65536
		}
		mid := float32((lo + hi) / 2)
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		below := math.Nextafter32(mid, 0)
		above := math.Nextafter32(mid, math.MaxFloat32)
		for _, c := range []struct {
			f    float32
			want uint16
		}{{mid, even}, {below, h}, {above, h + 1}, {-mid, even | 0x8000}} {
			if got := Float32ToFP16(c.f); got != c.want {
				t.Fatalf("Float32ToFP16(%g) = %#04x, want %#04x", c.f, got, c.want)
			}
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1e10, 0x7c00},
		{-1e10, 0xfc00},
		{float32(math.NaN()), 0x7e00},
		{math.Float32frombits(0xff800001), 0xfe00},
		{math.Float32frombits(1), 0}, // float32 subnormal
		{math.Float32frombits(0x80000001), 0x8000},
		{0x1p-25, 0}, // exactly half the smallest subnormal: even is 0
		{math.Nextafter32(0x1p-25, 1), 1},
	} {
		if got := Float32ToFP16(c.f); got != c.want {
			t.Errorf("Float32ToFP16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestFloat32ToFP16AgreesWithFloatTrick(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		if got, want := Float32ToFP16(f), fp16ByFloatTrick(f); got != want {
			t.Fatalf("Float32ToFP16(%g [%#08x]) = %#04x, float trick gives %#04x", f, b, got, want)
		}
	}
	// Every float32 exponent with a stride through the mantissa, plus the
	// mantissa patterns near rounding boundaries, plus random bits.
	for e := uint32(0); e < 256; e++ {
		for m := uint32(0); m < 1<<23; m += 997 {
			check(e<<23 | m)
			check(1<<31 | e<<23 | m)
		}
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x3001, 0x7fffff, 0x7ff000} {
			check(e<<23 | m)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1<<20; i++ {
		check(rng.Uint32())
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // 1 + 2^-8: tie, stays even
		{0x3f818000, 0x3f82}, // 1 + 3*2^-8: tie, rounds up to even
		{0x3f808001, 0x3f81}, // just above the tie
		{0x3f807fff, 0x3f80}, // just below the tie
		{0x7f7fffff, 0x7f80}, // max float rounds to Inf
		{0x7f800000, 0x7f80}, // Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN: forced quiet
		{0xffc12345, 0xffc1}, // quiet NaN keeps its upper bits
		{0x00000001, 0x0000}, // subnormal rounds to 0
		{0x00018000, 0x0002}, // subnormal tie, kept (no flush)
		{0x80000000, 0x8000}, // -0
	} {
		if got := Float32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("Float32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
	for h := 0; h < 1<<16; h++ {
		f := BF16ToFloat32(uint16(h))
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToFloat32(%#04x) = %#08x", h, math.Float32bits(f))
		}
		want := uint16(h)
		if f != f {
			want |= 0x40
		}
		if got := Float32ToBF16(f); got != want {
			t.Fatalf("round trip of %#04x gives %#04x", h, got)
		}
	}
}

func TestRoundAway(t *testing.T) {
	for _, f := range []float32{0, 0.5, -0.5, 1.5, -1.5, 2.5, 0.49999997, -0.49999997, 126.5, -127.49998, 1 << 23, 1<<23 + 1, -(1 << 24), 8388607.5, 3.4e38} {
		if got, want := roundAway(f), float32(math.Round(float64(f))); math.Float32bits(got) != math.Float32bits(want) && got != want {
			t.Errorf("roundAway(%g) = %g, want %g", f, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 1<<20; i++ {
		f := float32(rng.NormFloat64() * 200)
		if got, want := roundAway(f), float32(math.Round(float64(f))); got != want {
			t.Fatalf("roundAway(%g) = %g, want %g", f, got, want)
		}
	}
}
