package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// dequantFunc expands whole blocks of data into dst. The caller has checked
// that data holds exactly len(dst)/BlockSize blocks.
type dequantFunc func(data []byte, dst []float32)

// dequantizers lists the types Dequantize supports.
var dequantizers = map[Type]dequantFunc{
	F32:    dequantF32,
	F16:    dequantF16,
	BF16:   dequantBF16,
	Q4_0:   dequantQ4_0,
	Q4_1:   dequantQ4_1,
	Q5_0:   dequantQ5_0,
	Q5_1:   dequantQ5_1,
	Q8_0:   dequantQ8_0,
	Q8_1:   dequantQ8_1,
	Q8_K:   dequantQ8_K,
	Q2_K:   dequantQ2_K,
	Q3_K:   dequantQ3_K,
	Q4_K:   dequantQ4_K,
	Q5_K:   dequantQ5_K,
	Q6_K:   dequantQ6_K,
	IQ4_NL: dequantIQ4_NL,
	IQ4_XS: dequantIQ4_XS,
	IQ3_S:  dequantIQ3_S,
}

// CanDequantize reports whether Dequantize supports t.
func CanDequantize(t Type) bool { _, ok := dequantizers[t]; return ok }

// Dequantize expands data, a run of whole blocks of type t, into dst, one
// float32 per element. len(dst) must be a multiple of t's block size and data
// must hold exactly the bytes of len(dst) elements. The result is bit-exact
// with ggml's reference dequantization (to_float).
func Dequantize(t Type, data []byte, dst []float32) error {
	fn, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("dequantize: type %s is not supported", t)
	}
	if err := checkBlocks(t, len(data), len(dst)); err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	fn(data, dst)
	return nil
}

// checkBlocks verifies that n elements of type t are whole blocks and take
// exactly size bytes.
func checkBlocks(t Type, size, n int) error {
	bs, ts := t.BlockSize(), t.TypeSize()
	if n%bs != 0 {
		return fmt.Errorf("%s: %d elements is not a multiple of the block size %d", t, n, bs)
	}
	if want := n / bs * ts; size != want {
		return fmt.Errorf("%s: %d elements take %d bytes, got %d", t, n, want, size)
	}
	return nil
}

// half reads a little-endian IEEE half at b[0:2] as float32.
func half(b []byte) float32 { return FP16ToFloat32(binary.LittleEndian.Uint16(b)) }

// dequantF32 copies little-endian float32 values.
func dequantF32(data []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
}

// dequantF16 converts IEEE halves.
func dequantF16(data []byte, dst []float32) {
	for i := range dst {
		dst[i] = half(data[2*i:])
	}
}

// dequantBF16 converts bfloat16 values (the upper 16 bits of a float32).
func dequantBF16(data []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
	}
}

// dequantQ4_0 expands Q4_0 blocks of 32 elements in 18 bytes:
//
//	d      fp16     scale
//	qs[16] uint8    element j<16 is the low nibble of qs[j], element j+16 the high nibble
//
// value = d * (q - 8).
func dequantQ4_0(data []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*18:]
		d := half(b)
		y := dst[i*32 : i*32+32]
		for j, q := range b[2:18] {
			y[j] = float32(int(q&15)-8) * d
			y[j+16] = float32(int(q>>4)-8) * d
		}
	}
}

// dequantQ4_1 expands Q4_1 blocks of 32 elements in 20 bytes:
//
//	d, m   fp16     scale and minimum
//	qs[16] uint8    nibbles as in Q4_0
//
// value = d*q + m.
func dequantQ4_1(data []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*20:]
		d, m := half(b), half(b[2:])
		y := dst[i*32 : i*32+32]
		for j, q := range b[4:20] {
			// The explicit float32 conversions keep the product rounded
			// before the add (no fused multiply-add), as ggml computes it.
			y[j] = float32(float32(q&15)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// dequantQ5_0 expands Q5_0 blocks of 32 elements in 22 bytes:
//
//	d      fp16     scale
//	qh     uint32   bit j is the fifth (high) bit of element j
//	qs[16] uint8    low four bits, nibbles as in Q4_0
//
// value = d * (q - 16).
func dequantQ5_0(data []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*22:]
		d := half(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		y := dst[i*32 : i*32+32]
		for j, q := range b[6:22] {
			lo := int(q&15) | int(qh>>j&1)<<4
			hi := int(q>>4) | int(qh>>(j+16)&1)<<4
			y[j] = float32(lo-16) * d
			y[j+16] = float32(hi-16) * d
		}
	}
}

// dequantQ5_1 expands Q5_1 blocks of 32 elements in 24 bytes:
//
//	d, m   fp16     scale and minimum
//	qh     uint32   bit j is the fifth (high) bit of element j
//	qs[16] uint8    low four bits, nibbles as in Q4_0
//
// value = d*q + m.
func dequantQ5_1(data []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*24:]
		d, m := half(b), half(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		y := dst[i*32 : i*32+32]
		for j, q := range b[8:24] {
			lo := uint32(q&15) | (qh>>j&1)<<4
			hi := uint32(q>>4) | (qh>>(j+16)&1)<<4
			y[j] = float32(float32(lo)*d) + m
			y[j+16] = float32(float32(hi)*d) + m
		}
	}
}

// dequantQ8_0 expands Q8_0 blocks of 32 elements in 34 bytes:
//
//	d      fp16     scale
//	qs[32] int8     quants
//
// value = d * q.
func dequantQ8_0(data []byte, dst []float32) { dequantQ8x(data, dst, 34) }

// dequantQ8_1 expands Q8_1 blocks of 32 elements in 36 bytes:
//
//	d, s   fp16     scale, and d times the sum of the quants (unused here)
//	qs[32] int8     quants
//
// value = d * q.
func dequantQ8_1(data []byte, dst []float32) { dequantQ8x(data, dst, 36) }

// dequantQ8x expands blocks of size bytes that start with an fp16 scale and
// end with 32 int8 quants.
func dequantQ8x(data []byte, dst []float32, size int) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*size : (i+1)*size]
		d := half(b)
		y := dst[i*32 : i*32+32]
		for j, q := range b[size-32:] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// dequantQ8_K expands Q8_K blocks of 256 elements in 292 bytes:
//
//	d          float32  scale
//	qs[256]    int8     quants
//	bsums[16]  int16    sums of groups of 16 quants (unused here)
//
// value = d * q.
func dequantQ8_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*292:]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		y := dst[i*QK_K : (i+1)*QK_K]
		for j, q := range b[4 : 4+QK_K] {
			y[j] = d * float32(int8(q))
		}
	}
}
