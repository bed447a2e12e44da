package quant

import (
	"encoding/binary"
	"math"
)

// minMax returns the smallest and largest element of x, starting from
// ±MaxFloat32 as ggml's reference quantizers do.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// quantQ4_0 follows quantize_row_q4_0_ref: d = max/-8 where max is the signed
// element of largest magnitude, q = min(15, trunc(x/d + 8.5)).
func quantQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*18 : i*18+18]
		_, max := absMax(x)
		d := max / -8
		id := inverse(d)
		putHalf(b, d)
		for j := 0; j < 16; j++ {
			b[2+j] = nibble(float32(x[j]*id)+8.5, 15) | nibble(float32(x[j+16]*id)+8.5, 15)<<4
		}
	}
}

// quantQ4_1 follows quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// q = min(15, trunc((x-min)/d + 0.5)).
func quantQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*20 : i*20+20]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		id := inverse(d)
		putHalf(b, d)
		putHalf(b[2:], lo)
		for j := 0; j < 16; j++ {
			b[4+j] = nibble(float32((x[j]-lo)*id)+0.5, 15) | nibble(float32((x[j+16]-lo)*id)+0.5, 15)<<4
		}
	}
}

// quantQ5_0 follows quantize_row_q5_0_ref: d = max/-16 where max is the
// signed element of largest magnitude, q = min(31, trunc(x/d + 16.5)).
func quantQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*22 : i*22+22]
		_, max := absMax(x)
		d := max / -16
		id := inverse(d)
		putHalf(b, d)
		var q [32]byte
		for j, v := range x {
			q[j] = nibble(float32(v*id)+16.5, 31)
		}
		packQ5(q[:], b[2:6], b[6:22])
	}
}

// quantQ5_1 follows quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = trunc((x-min)/d + 0.5).
func quantQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*24 : i*24+24]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		id := inverse(d)
		putHalf(b, d)
		putHalf(b[2:], lo)
		var q [32]byte
		for j, v := range x {
			q[j] = uint8(float32((v-lo)*id) + 0.5)
		}
		packQ5(q[:], b[4:8], b[8:24])
	}
}

// packQ5 stores 32 five-bit quants: low nibbles in qs as in Q4_0, the fifth
// bit of element j in bit j of the little-endian uint32 qh.
func packQ5(q []byte, qh, qs []byte) {
	var h uint32
	for j := 0; j < 16; j++ {
		qs[j] = q[j]&0xf | (q[j+16]&0xf)<<4
		h |= uint32(q[j]>>4&1)<<j | uint32(q[j+16]>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(qh, h)
}
