package quant

// iq4nlValues is the non-linear 4-bit codebook shared by IQ4_NL and IQ4_XS
// (ggml's kvalues_iq4nl): a quant q stands for iq4nlValues[q].
var iq4nlValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// decodeIQ4_NL decodes an IQ4_NL block of 32 elements in 18 bytes:
//
//	d       fp16   scale
//	qs[16]  uint8  4-bit codebook indices, nibbles as in Q4_0
//
// value = d * iq4nlValues[q].
func decodeIQ4_NL(b []byte, blk *intBlock) {
	blk.setPlain(half(b))
	iq4Quants(b[2:18], blk.q[:32])
}

// iq4Quants looks up 16 bytes of codebook indices: the low nibbles give
// q[0:16], the high nibbles q[16:32].
func iq4Quants(qs []byte, q []int8) {
	for j, v := range qs[:16] {
		q[j] = iq4nlValues[v&0xf]
		q[j+16] = iq4nlValues[v>>4]
	}
}

// decodeIQ4_XS decodes an IQ4_XS super-block of 256 elements in 136 bytes:
//
//	d            fp16    super-scale
//	scales_h     uint16  top two bits of the eight group scales, two bits each
//	scales_l[4]  uint8   low four bits of the group scales, two per byte
//	qs[128]      uint8   4-bit codebook indices; group g holds qs[16g:16g+16],
//	                     low nibbles first, then high nibbles
//
// Group g (32 elements) has a 6-bit scale ls; value = d*(ls-32)*iq4nlValues[q].
func decodeIQ4_XS(b []byte, blk *intBlock) {
	blk.groups, blk.d, blk.dmin = 8, half(b), 0
	scalesH := uint16(b[2]) | uint16(b[3])<<8
	scalesL, qs := b[4:8], b[8:136]
	for g := 0; g < 8; g++ {
		ls := int32(scalesL[g/2]>>(4*(g%2))&0xf) | int32(scalesH>>(2*g)&3)<<4
		blk.scale[g], blk.min[g] = ls-32, 0
		iq4Quants(qs[16*g:16*g+16], blk.q[32*g:32*g+32])
	}
}

// decodeIQ3_S decodes an IQ3_S super-block of 256 elements in 110 bytes:
//
//	d          fp16   super-scale
//	qs[64]     uint8  low eight bits of the grid indices, 8 per group
//	qh[8]      uint8  ninth bits of the grid indices, one byte per group
//	signs[32]  uint8  one sign bit per element, 4 bytes per group
//	scales[4]  uint8  4-bit group scales, two per byte (low nibble first)
//
// Group g (32 elements) has scale 1+2*s; its four runs of eight take two
// grid entries each, with indices qs[8g+2l+k] | (bit 2l+k of qh[g]) << 8
// (k<2). Element 4k+j of run l is grid byte j, negated when bit 4k+j of
// signs[4g+l] is set; value = d*(1+2s)*q.
func decodeIQ3_S(b []byte, blk *intBlock) {
	blk.groups, blk.d, blk.dmin = 8, half(b), 0
	qs, qh, signs, scales := b[2:66], b[66:74], b[74:106], b[106:110]
	for g := 0; g < 8; g++ {
		blk.scale[g], blk.min[g] = 1+2*int32(scales[g/2]>>(4*(g%2))&0xf), 0
		for l := 0; l < 4; l++ {
			sign := signs[4*g+l]
			for k := 0; k < 2; k++ {
				grid := iq3sGrid[int(qs[8*g+2*l+k])|int(qh[g]>>(2*l+k)&1)<<8]
				for j := 0; j < 4; j++ {
					q := int8(grid >> (8 * j))
					if sign&(1<<(4*k+j)) != 0 {
						q = -q
					}
					blk.q[32*g+8*l+4*k+j] = q
				}
			}
		}
	}
}
