package quant

// The K-quants pack 256 elements into a super-block with one or two fp16
// super-scales and small per-group scales. The layouts follow ggml's
// block_q*_K structs; all multi-byte fields are little endian.

// kScaleMin unpacks the 6-bit scale and min of group j (0..7) from the 12
// packed bytes of a Q4_K or Q5_K block. Groups 0..3 keep them in the low six
// bits of bytes j and j+4; groups 4..7 keep the low four bits in byte j+4 and
// the top two bits in the spare high bits of bytes j-4 and j.
func kScaleMin(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// decodeQ2_K decodes a Q2_K super-block of 256 elements in 84 bytes:
//
//	scales[16]  uint8  per group of 16: low nibble scale, high nibble min
//	qs[64]      uint8  2-bit quants, four per byte
//	d, dmin     fp16   super-scales for the scales and the mins
//
// Element e = 128h + 32j + 16s + l (h<2, j<4, s<2, l<16) is bits 2j..2j+1 of
// qs[32h+16s+l]; value = d*sc*q - dmin*m of its group e/16.
func decodeQ2_K(b []byte, blk *intBlock) {
	scales, qs := b[:16], b[16:80]
	blk.groups, blk.d, blk.dmin = 16, half(b[80:]), half(b[82:])
	for g, sc := range scales {
		blk.scale[g], blk.min[g] = int32(sc&0xf), int32(sc>>4)
	}
	for h := 0; h < 2; h++ {
		for j := 0; j < 4; j++ {
			for s := 0; s < 2; s++ {
				for l := 0; l < 16; l++ {
					blk.q[128*h+32*j+16*s+l] = int8(qs[32*h+16*s+l] >> (2 * j) & 3)
				}
			}
		}
	}
}

// q3Scale unpacks the 6-bit scale of group j (0..15) of a Q3_K block: the low
// four bits are a nibble of bytes 0..7, the top two bits are packed four to
// a byte in bytes 8..11. The stored value is biased by 32.
func q3Scale(j int, s []byte) int32 {
	lo := s[j%8] >> (4 * (j / 8)) & 0xf
	hi := s[8+j%4] >> (2 * (j / 4)) & 3
	return int32(lo|hi<<4) - 32
}

// decodeQ3_K decodes a Q3_K super-block of 256 elements in 110 bytes:
//
//	hmask[32]   uint8  high bit of each quant
//	qs[64]      uint8  low two bits of each quant, four per byte
//	scales[12]  uint8  sixteen 6-bit group scales (see q3Scale), biased by 32
//	d           fp16   super-scale
//
// Element e = 128h + 32j + 16s + l takes bits 2j..2j+1 of qs[32h+16s+l] and
// bit 4h+j of hmask[16s+l]; q is those two bits minus 4 when the hmask bit is
// clear; value = d*sc*q of its group e/16.
func decodeQ3_K(b []byte, blk *intBlock) {
	hmask, qs, scales := b[:32], b[32:96], b[96:108]
	blk.groups, blk.d, blk.dmin = 16, half(b[108:]), 0
	for g := 0; g < 16; g++ {
		blk.scale[g], blk.min[g] = q3Scale(g, scales), 0
	}
	for h := 0; h < 2; h++ {
		for j := 0; j < 4; j++ {
			bit := byte(1) << (4*h + j)
			for s := 0; s < 2; s++ {
				for l := 0; l < 16; l++ {
					q := int8(qs[32*h+16*s+l] >> (2 * j) & 3)
					if hmask[16*s+l]&bit == 0 {
						q -= 4
					}
					blk.q[128*h+32*j+16*s+l] = q
				}
			}
		}
	}
}

// decodeQ4_K decodes a Q4_K super-block of 256 elements in 144 bytes:
//
//	d, dmin     fp16   super-scales for the scales and the mins
//	scales[12]  uint8  eight 6-bit scales and eight 6-bit mins (see kScaleMin)
//	qs[128]     uint8  4-bit quants
//
// Element e = 64c + 32n + l (c<4, n<2, l<32) is the low (n=0) or high (n=1)
// nibble of qs[32c+l]; value = d*sc*q - dmin*m of its group e/32.
func decodeQ4_K(b []byte, blk *intBlock) {
	kHeader(b, blk)
	qs := b[16:144]
	for c := 0; c < 4; c++ {
		for l, v := range qs[32*c : 32*c+32] {
			blk.q[64*c+l] = int8(v & 0xf)
			blk.q[64*c+32+l] = int8(v >> 4)
		}
	}
}

// decodeQ5_K decodes a Q5_K super-block of 256 elements in 176 bytes:
//
//	d, dmin     fp16   super-scales for the scales and the mins
//	scales[12]  uint8  as Q4_K
//	qh[32]      uint8  fifth bit of each quant
//	qs[128]     uint8  low four bits, nibbles as Q4_K
//
// Element e = 64c + 32n + l takes its fifth bit from bit 2c+n of qh[l];
// value = d*sc*q - dmin*m of its group e/32.
func decodeQ5_K(b []byte, blk *intBlock) {
	kHeader(b, blk)
	qh, qs := b[16:48], b[48:176]
	for c := 0; c < 4; c++ {
		for l, v := range qs[32*c : 32*c+32] {
			blk.q[64*c+l] = int8(v&0xf | (qh[l]>>(2*c)&1)<<4)
			blk.q[64*c+32+l] = int8(v>>4 | (qh[l]>>(2*c+1)&1)<<4)
		}
	}
}

// kHeader decodes the super-scales and the eight scales and mins that open
// Q4_K and Q5_K blocks.
func kHeader(b []byte, blk *intBlock) {
	blk.groups, blk.d, blk.dmin = 8, half(b), half(b[2:])
	for g := 0; g < 8; g++ {
		sc, m := kScaleMin(g, b[4:16])
		blk.scale[g], blk.min[g] = int32(sc), int32(m)
	}
}

// decodeQ6_K decodes a Q6_K super-block of 256 elements in 210 bytes:
//
//	ql[128]     uint8  low four bits of each quant
//	qh[64]      uint8  top two bits of each quant, four per byte
//	scales[16]  int8   per group of 16
//	d           fp16   super-scale
//
// Element e = 128h + 32k + l (h<2, k<4, l<32) takes the low (k<2) or high
// (k>=2) nibble of ql[64h + 32(k%2) + l] and bits 2k..2k+1 of qh[32h+l];
// value = d*sc*(q-32) of its group e/16.
func decodeQ6_K(b []byte, blk *intBlock) {
	ql, qh, scales := b[:128], b[128:192], b[192:208]
	blk.groups, blk.d, blk.dmin = 16, half(b[208:]), 0
	for g, sc := range scales {
		blk.scale[g], blk.min[g] = int32(int8(sc)), 0
	}
	for h := 0; h < 2; h++ {
		for k := 0; k < 4; k++ {
			for l := 0; l < 32; l++ {
				lo := ql[64*h+32*(k%2)+l] >> (4 * (k / 2)) & 0xf
				hi := qh[32*h+l] >> (2 * k) & 3
				blk.q[128*h+32*k+l] = int8(lo|hi<<4) - 32
			}
		}
	}
}
