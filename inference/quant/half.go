package quant

import "math"

// FP16ToFloat32 converts an IEEE 754 half-precision value to float32. Every
// half is exactly representable, so the conversion is exact; NaNs keep their
// payload and come out quiet, as x86's F16C conversion makes them.
func FP16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		if mant != 0 {
			return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
		}
		return math.Float32frombits(sign | 0x7f800000)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: shift the leading one up to the implicit-bit position.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// Float32ToFP16 converts f to IEEE half precision, rounding to nearest with
// ties to even. Values too large become ±Inf, values too small become
// subnormals or ±0. Like ggml's portable conversion, every NaN becomes the
// quiet NaN 0x7e00 with f's sign.
func Float32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 31 {
		return sign | 0x7c00
	}
	if e <= 0 {
		// The result is a half subnormal (or rounds up to the smallest
		// normal, which the carry below produces naturally).
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		return sign | uint16(roundShiftEven(m, shift))
	}
	// A carry out of the mantissa bumps the exponent, up to Inf: both right.
	q := uint32(e)<<10 | mant>>13
	return sign | uint16(q+roundBitEven(q, mant&0x1fff, 0x1000))
}

// roundShiftEven returns m >> shift rounded to nearest, ties to even.
func roundShiftEven(m, shift uint32) uint32 {
	q := m >> shift
	return q + roundBitEven(q, m&(1<<shift-1), 1<<(shift-1))
}

// roundBitEven returns 1 when a truncated value q with remainder rem (half =
// the remainder of an exact tie) must be rounded up under ties-to-even.
func roundBitEven(q, rem, half uint32) uint32 {
	if rem > half || (rem == half && q&1 == 1) {
		return 1
	}
	return 0
}

// BF16ToFloat32 converts a bfloat16 (the upper half of a float32) to float32;
// the conversion is exact.
func BF16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBF16 converts f to bfloat16 the way ggml does: round to nearest,
// ties to even, overflow to ±Inf, subnormals kept; a NaN keeps its upper bits
// and is forced quiet.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
