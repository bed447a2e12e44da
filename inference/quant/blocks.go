package quant

import (
	"encoding/binary"
	"math"
)

// intBlock is one quantized block decoded to integers, the form both the
// dequantizer and the dot-product reference work from. Element e belongs to
// group g = e / (elements/groups) and stands for
//
//	(d*scale[g])*q[e] - dmin*min[g]
//
// evaluated in float32 in that order, which is how ggml's to_float computes
// every type here (Q4_1 and Q5_1 store their offset m as dmin = -m, min = 1).
type intBlock struct {
	q       [QK_K]int8
	scale   [16]int32
	min     [16]int32
	groups  int
	d, dmin float32
}

// decodeFunc decodes the block b (exactly TypeSize bytes) into blk, setting
// every field that its groups use.
type decodeFunc func(b []byte, blk *intBlock)

// blockDecoders lists the block types and their decoders.
var blockDecoders = map[Type]decodeFunc{
	Q4_0:   decodeQ4_0,
	Q4_1:   decodeQ4_1,
	Q5_0:   decodeQ5_0,
	Q5_1:   decodeQ5_1,
	Q8_0:   decodeQ8_0,
	Q8_1:   decodeQ8_1,
	Q8_K:   decodeQ8_K,
	Q2_K:   decodeQ2_K,
	Q3_K:   decodeQ3_K,
	Q4_K:   decodeQ4_K,
	Q5_K:   decodeQ5_K,
	Q6_K:   decodeQ6_K,
	IQ4_NL: decodeIQ4_NL,
	IQ4_XS: decodeIQ4_XS,
	IQ3_S:  decodeIQ3_S,
}

// expand writes the values of the block's len(y) elements to y.
func (blk *intBlock) expand(y []float32) {
	gs := len(y) / blk.groups
	for g := 0; g < blk.groups; g++ {
		dl := blk.d * float32(blk.scale[g])
		ml := blk.dmin * float32(blk.min[g])
		for e := g * gs; e < (g+1)*gs; e++ {
			// The conversion rounds the product before the subtraction
			// (no fused multiply-add), as ggml computes it.
			y[e] = float32(dl*float32(blk.q[e])) - ml
		}
	}
}

// setPlain makes blk a single group with scale 1, scale d and no offset.
func (blk *intBlock) setPlain(d float32) {
	blk.groups, blk.d, blk.dmin = 1, d, 0
	blk.scale[0], blk.min[0] = 1, 0
}

// half reads a little-endian IEEE half at b[0:2] as float32.
func half(b []byte) float32 { return FP16ToFloat32(binary.LittleEndian.Uint16(b)) }

// decodeQ4_0 decodes a Q4_0 block of 32 elements in 18 bytes:
//
//	d       fp16   scale
//	qs[16]  uint8  element j<16 is the low nibble of qs[j], element j+16 the high nibble
//
// value = d * (q - 8).
func decodeQ4_0(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	for j, v := range b[2:18] {
		blk.q[j] = int8(v&15) - 8
		blk.q[j+16] = int8(v>>4) - 8
	}
}

// decodeQ4_1 decodes a Q4_1 block of 32 elements in 20 bytes:
//
//	d, m    fp16   scale and offset
//	qs[16]  uint8  nibbles as in Q4_0
//
// value = d*q + m.
func decodeQ4_1(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	blk.dmin, blk.min[0] = -half(b[2:]), 1
	for j, v := range b[4:20] {
		blk.q[j] = int8(v & 15)
		blk.q[j+16] = int8(v >> 4)
	}
}

// decodeQ5_0 decodes a Q5_0 block of 32 elements in 22 bytes:
//
//	d       fp16    scale
//	qh      uint32  bit j is the fifth (high) bit of element j
//	qs[16]  uint8   low four bits, nibbles as in Q4_0
//
// value = d * (q - 16).
func decodeQ5_0(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	q5Quants(b[2:6], b[6:22], blk, 16)
}

// decodeQ5_1 decodes a Q5_1 block of 32 elements in 24 bytes:
//
//	d, m    fp16    scale and offset
//	qh      uint32  bit j is the fifth (high) bit of element j
//	qs[16]  uint8   low four bits, nibbles as in Q4_0
//
// value = d*q + m.
func decodeQ5_1(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	blk.dmin, blk.min[0] = -half(b[2:]), 1
	q5Quants(b[4:8], b[8:24], blk, 0)
}

// q5Quants assembles the 32 five-bit quants of Q5_0/Q5_1, minus bias.
func q5Quants(qhb, qs []byte, blk *intBlock, bias int8) {
	qh := binary.LittleEndian.Uint32(qhb)
	for j, v := range qs[:16] {
		blk.q[j] = int8(v&15|byte(qh>>j&1)<<4) - bias
		blk.q[j+16] = int8(v>>4|byte(qh>>(j+16)&1)<<4) - bias
	}
}

// decodeQ8_0 decodes a Q8_0 block of 32 elements in 34 bytes:
//
//	d       fp16  scale
//	qs[32]  int8  quants
//
// value = d * q.
func decodeQ8_0(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	int8s(blk.q[:32], b[2:34])
}

// decodeQ8_1 decodes a Q8_1 block of 32 elements in 36 bytes:
//
//	d, s    fp16  scale, and d times the sum of the quants
//	qs[32]  int8  quants
//
// value = d * q (s serves only the dot product).
func decodeQ8_1(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	int8s(blk.q[:32], b[4:36])
}

// decodeQ8_K decodes a Q8_K block of 256 elements in 292 bytes:
//
//	d          float32  scale
//	qs[256]    int8     quants
//	bsums[16]  int16    sums of each group of 16 quants (for dot products)
//
// value = d * q.
func decodeQ8_K(b []byte, blk *intBlock) {
	blk.setPlain(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	int8s(blk.q[:], b[4:4+QK_K])
}

// int8s copies bytes as signed quants.
func int8s(dst []int8, src []byte) {
	for i, v := range src[:len(dst)] {
		dst[i] = int8(v)
	}
}
