package quant

// The K-quants pack 256 elements into a super-block with one or two fp16
// super-scales and small per-group scales. The layouts below follow ggml's
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

// dequantQ2_K expands Q2_K super-blocks of 256 elements in 84 bytes:
//
//	scales[16]  uint8  per group of 16: low nibble scale, high nibble min
//	qs[64]      uint8  2-bit quants, four per byte
//	d, dmin     fp16   super-scales for the scales and the mins
//
// Element e = 128h + 32j + 16s + l (h<2, j<4, s<2, l<16) is bits 2j..2j+1 of
// qs[32h+16s+l], in group 8h+2j+s; value = d*sc*q - dmin*m.
func dequantQ2_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*84 : (i+1)*84]
		scales, qs := b[:16], b[16:80]
		d, dmin := half(b[80:]), half(b[82:])
		y := dst[i*QK_K : (i+1)*QK_K]
		for h := 0; h < 2; h++ {
			for j := 0; j < 4; j++ {
				for s := 0; s < 2; s++ {
					sc := scales[8*h+2*j+s]
					dl, ml := d*float32(sc&0xf), dmin*float32(sc>>4)
					q := qs[32*h+16*s : 32*h+16*s+16]
					out := y[128*h+32*j+16*s : 128*h+32*j+16*s+16]
					for l := range out {
						out[l] = float32(dl*float32(q[l]>>(2*j)&3)) - ml
					}
				}
			}
		}
	}
}

// q3Scale unpacks the 6-bit scale of group j (0..15) of a Q3_K block: the low
// four bits are a nibble of bytes 0..7, the top two bits are packed four to
// a byte in bytes 8..11. The stored value is biased by 32.
func q3Scale(j int, s []byte) int {
	lo := s[j%8] >> (4 * (j / 8)) & 0xf
	hi := s[8+j%4] >> (2 * (j / 4)) & 3
	return int(lo|hi<<4) - 32
}

// dequantQ3_K expands Q3_K super-blocks of 256 elements in 110 bytes:
//
//	hmask[32]   uint8  high bit of each quant
//	qs[64]      uint8  low two bits of each quant, four per byte
//	scales[12]  uint8  sixteen 6-bit group scales (see q3Scale), biased by 32
//	d           fp16   super-scale
//
// Element e = 128h + 32j + 16s + l takes bits 2j..2j+1 of qs[32h+16s+l] and
// bit 4h+j of hmask[16s+l], in group 8h+2j+s; value = d*sc*(q-4), where
// q-4 drops the 4 when the hmask bit is set.
func dequantQ3_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*110 : (i+1)*110]
		hmask, qs, scales := b[:32], b[32:96], b[96:108]
		d := half(b[108:])
		y := dst[i*QK_K : (i+1)*QK_K]
		for h := 0; h < 2; h++ {
			for j := 0; j < 4; j++ {
				bit := byte(1) << (4*h + j)
				for s := 0; s < 2; s++ {
					dl := d * float32(q3Scale(8*h+2*j+s, scales))
					out := y[128*h+32*j+16*s : 128*h+32*j+16*s+16]
					for l := range out {
						q := int(qs[32*h+16*s+l] >> (2 * j) & 3)
						if hmask[16*s+l]&bit == 0 {
							q -= 4
						}
						out[l] = dl * float32(q)
					}
				}
			}
		}
	}
}

// dequantQ4_K expands Q4_K super-blocks of 256 elements in 144 bytes:
//
//	d, dmin     fp16   super-scales for the scales and the mins
//	scales[12]  uint8  eight 6-bit scales and eight 6-bit mins (see kScaleMin)
//	qs[128]     uint8  4-bit quants
//
// Element e = 64c + 32n + l (c<4, n<2, l<32) is the low (n=0) or high (n=1)
// nibble of qs[32c+l], in group 2c+n; value = d*sc*q - dmin*m.
func dequantQ4_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*144 : (i+1)*144]
		d, dmin := half(b), half(b[2:])
		scales, qs := b[4:16], b[16:144]
		y := dst[i*QK_K : (i+1)*QK_K]
		for c := 0; c < 4; c++ {
			for n := 0; n < 2; n++ {
				sc, m := kScaleMin(2*c+n, scales)
				dl, ml := d*float32(sc), dmin*float32(m)
				out := y[64*c+32*n : 64*c+32*n+32]
				for l, q := range qs[32*c : 32*c+32] {
					out[l] = float32(dl*float32(q>>(4*n)&0xf)) - ml
				}
			}
		}
	}
}

// dequantQ5_K expands Q5_K super-blocks of 256 elements in 176 bytes:
//
//	d, dmin     fp16   super-scales for the scales and the mins
//	scales[12]  uint8  as Q4_K
//	qh[32]      uint8  fifth bit of each quant
//	qs[128]     uint8  low four bits, nibbles as Q4_K
//
// Element e = 64c + 32n + l takes its fifth bit from bit 2c+n of qh[l];
// value = d*sc*q - dmin*m.
func dequantQ5_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*176 : (i+1)*176]
		d, dmin := half(b), half(b[2:])
		scales, qh, qs := b[4:16], b[16:48], b[48:176]
		y := dst[i*QK_K : (i+1)*QK_K]
		for c := 0; c < 4; c++ {
			for n := 0; n < 2; n++ {
				sc, m := kScaleMin(2*c+n, scales)
				dl, ml := d*float32(sc), dmin*float32(m)
				shift := 2*c + n
				out := y[64*c+32*n : 64*c+32*n+32]
				for l, q := range qs[32*c : 32*c+32] {
					v := q>>(4*n)&0xf | (qh[l]>>shift&1)<<4
					out[l] = float32(dl*float32(v)) - ml
				}
			}
		}
	}
}

// dequantQ6_K expands Q6_K super-blocks of 256 elements in 210 bytes:
//
//	ql[128]     uint8  low four bits of each quant
//	qh[64]      uint8  top two bits of each quant, four per byte
//	scales[16]  int8   per group of 16
//	d           fp16   super-scale
//
// Element e = 128h + 32k + l (h<2, k<4, l<32) takes the low (k<2) or high
// (k>=2) nibble of ql[64h + 32(k%2) + l] and bits 2k..2k+1 of qh[32h+l], in
// group 8h + 2k + l/16; value = d*sc*(q-32).
func dequantQ6_K(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*210 : (i+1)*210]
		ql, qh, scales := b[:128], b[128:192], b[192:208]
		d := half(b[208:])
		y := dst[i*QK_K : (i+1)*QK_K]
		for h := 0; h < 2; h++ {
			for k := 0; k < 4; k++ {
				for l := 0; l < 32; l++ {
					lo := ql[64*h+32*(k%2)+l] >> (4 * (k / 2)) & 0xf
					hi := qh[32*h+l] >> (2 * k) & 3
					q := int(lo|hi<<4) - 32
					sc := int8(scales[8*h+2*k+l/16])
					y[128*h+32*k+l] = d * float32(sc) * float32(q)
				}
			}
		}
	}
}
