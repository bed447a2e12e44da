package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// quantFunc fills whole blocks of dst from src. The caller has checked that
// dst holds exactly len(src)/BlockSize blocks.
type quantFunc func(src []float32, dst []byte)

// quantizers lists the types Quantize supports.
var quantizers = map[Type]quantFunc{
	F32:  quantF32,
	F16:  quantF16,
	BF16: quantBF16,
	Q4_0: quantQ4_0,
	Q4_1: quantQ4_1,
	Q5_0: quantQ5_0,
	Q5_1: quantQ5_1,
	Q8_0: quantQ8_0,
	Q8_1: quantQ8_1,
	Q8_K: quantQ8_K,
	Q2_K: quantQ2_K,
	Q3_K: quantQ3_K,
	Q4_K: quantQ4_K,
	Q5_K: quantQ5_K,
	Q6_K: quantQ6_K,
}

// CanQuantize reports whether Quantize supports t.
func CanQuantize(t Type) bool { _, ok := quantizers[t]; return ok }

// Quantize converts src to type t and returns the blocks. len(src) must be a
// multiple of t's block size. Every supported type (F32, F16, BF16, Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) follows
// ggml's reference quantizer for it (quantize_row_*_ref, what llama-quantize
// uses without an importance matrix) and gives the same bytes.
func Quantize(t Type, src []float32) ([]byte, error) {
	if !CanQuantize(t) {
		return nil, fmt.Errorf("quantize: type %s is not supported", t)
	}
	bs := t.BlockSize()
	if len(src)%bs != 0 {
		return nil, fmt.Errorf("quantize: %s: %d elements is not a multiple of the block size %d", t, len(src), bs)
	}
	dst := make([]byte, len(src)/bs*t.TypeSize())
	quantizers[t](src, dst)
	return dst, nil
}

// QuantizeInto is Quantize writing into dst, which must have exactly the size
// of len(src) elements of type t; it does not allocate.
func QuantizeInto(t Type, src []float32, dst []byte) error {
	fn, ok := quantizers[t]
	if !ok {
		return fmt.Errorf("quantize: type %s is not supported", t)
	}
	if err := checkBlocks(t, len(dst), len(src)); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	fn(src, dst)
	return nil
}

// QuantizeQ8_0 quantizes src (a multiple of 32 elements) to Q8_0.
func QuantizeQ8_0(src []float32) ([]byte, error) { return Quantize(Q8_0, src) }

// QuantizeQ4_0 quantizes src (a multiple of 32 elements) to Q4_0.
func QuantizeQ4_0(src []float32) ([]byte, error) { return Quantize(Q4_0, src) }

// QuantizeQ8_1 quantizes src (a multiple of 32 elements) to Q8_1.
func QuantizeQ8_1(src []float32) ([]byte, error) { return Quantize(Q8_1, src) }

// putHalf stores f as a little-endian IEEE half at b[0:2].
func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, Float32ToFP16(f)) }

// roundAway rounds half away from zero, like C's roundf (a zero result
// may lose its sign; callers convert the result to an integer).
func roundAway(f float32) float32 {
	if !(abs32(f) < 1<<23) {
		return f // already integral, or Inf/NaN
	}
	t := float32(int32(f))
	// f-t is the exact fractional part.
	if d := f - t; d >= 0.5 {
		t++
	} else if d <= -0.5 {
		t--
	}
	return t
}

func quantF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func quantF16(src []float32, dst []byte) {
	for i, v := range src {
		putHalf(dst[2*i:], v)
	}
}

func quantBF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToBF16(v))
	}
}

// absMax returns the largest |v| in x, and the signed element that has it
// (the first one on ties).
func absMax(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, max = a, v
		}
	}
	return amax, max
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// inverse returns 1/d, or 0 when d is 0, as the reference quantizers scale.
func inverse(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// q8Block quantizes one block of 32 like quantize_row_q8_0_ref: d =
// amax/127, q = round(x/d) into qs. It returns d and the sum of the quants.
func q8Block(x []float32, qs []byte) (d float32, sum int) {
	amax, _ := absMax(x)
	d = amax / 127
	id := inverse(d)
	for j, v := range x {
		q := int8(roundAway(v * id))
		qs[j] = byte(q)
		sum += int(q)
	}
	return d, sum
}

// quantQ8_0 follows quantize_row_q8_0_ref: fp16 d, then 32 int8 quants.
func quantQ8_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		b := dst[i*34 : i*34+34]
		d, _ := q8Block(src[i*32:i*32+32], b[2:])
		putHalf(b, d)
	}
}

// quantQ8_1 follows quantize_row_q8_1_ref: as Q8_0, with s = d*sum(q) as a
// second fp16 after d.
func quantQ8_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		b := dst[i*36 : i*36+36]
		d, sum := q8Block(src[i*32:i*32+32], b[4:])
		putHalf(b, d)
		putHalf(b[2:], float32(sum)*d)
	}
}

// nibble truncates v toward zero through int8 (as the C reference casts) and
// clamps it to at most hi.
func nibble(v float32, hi int8) byte {
	q := int8(v)
	if q > hi {
		q = hi
	}
	return byte(q)
}

// QuantizeQ8_K quantizes src (a multiple of 256 elements) to Q8_K.
func QuantizeQ8_K(src []float32) ([]byte, error) { return Quantize(Q8_K, src) }

// nearestInt rounds to nearest, ties to even, the way ggml's nearest_int does
// (adding 1.5*2^23 lets the FPU round). Valid for |f| < 2^22.
func nearestInt(f float32) int {
	return int(math.Float32bits(f+12582912)&0x7fffff) - 0x400000
}

// quantQ8_K follows quantize_row_q8_K_ref. A block is 292 bytes:
//
//	d          float32  scale = -max/127, where max is the signed element of largest |x|
//	qs[256]    int8     q = min(127, nearest(x/d)); so q(max) = -127
//	bsums[16]  int16    sum of each group of 16 quants
//
// An all-zero block stores d = 0 and zero quants and sums.
func quantQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*292 : (i+1)*292]
		clear(b)
		amax, max := absMax(x)
		if amax == 0 {
			continue
		}
		iscale := -127 / max
		qs := b[4 : 4+QK_K]
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for g := 0; g < QK_K/16; g++ {
			sum := 0
			for _, q := range qs[g*16 : g*16+16] {
				sum += int(int8(q))
			}
			binary.LittleEndian.PutUint16(b[4+QK_K+2*g:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}
