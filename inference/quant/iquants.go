package quant

// iq4nlValues is the non-linear 4-bit codebook shared by IQ4_NL and IQ4_XS
// (ggml's kvalues_iq4nl): a quant q stands for iq4nlValues[q].
var iq4nlValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// dequantIQ4_NL expands IQ4_NL blocks of 32 elements in 18 bytes:
//
//	d       fp16   scale
//	qs[16]  uint8  4-bit codebook indices, nibbles as in Q4_0
//
// value = d * iq4nlValues[q].
func dequantIQ4_NL(data []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := data[i*18:]
		iq4Run(half(b), b[2:18], dst[i*32:i*32+32])
	}
}

// iq4Run expands 16 bytes of codebook indices into 32 values d*iq4nlValues[q]:
// the low nibbles give y[0:16], the high nibbles y[16:32].
func iq4Run(d float32, qs []byte, y []float32) {
	for j, q := range qs[:16] {
		y[j] = d * float32(iq4nlValues[q&0xf])
		y[j+16] = d * float32(iq4nlValues[q>>4])
	}
}

// dequantIQ4_XS expands IQ4_XS super-blocks of 256 elements in 136 bytes:
//
//	d            fp16    super-scale
//	scales_h     uint16  top two bits of the eight group scales, two bits each
//	scales_l[4]  uint8   low four bits of the group scales, two per byte
//	qs[128]      uint8   4-bit codebook indices; group g holds qs[16g:16g+16],
//	                     low nibbles first, then high nibbles
//
// Group g (32 elements) has ls = 6-bit scale; value = d*(ls-32)*iq4nlValues[q].
func dequantIQ4_XS(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*136 : (i+1)*136]
		d := half(b)
		scalesH := uint16(b[2]) | uint16(b[3])<<8
		scalesL, qs := b[4:8], b[8:136]
		for g := 0; g < 8; g++ {
			ls := int(scalesL[g/2]>>(4*(g%2))&0xf) | int(scalesH>>(2*g)&3)<<4
			iq4Run(d*float32(ls-32), qs[16*g:16*g+16], dst[i*QK_K+32*g:i*QK_K+32*g+32])
		}
	}
}

// dequantIQ3_S expands IQ3_S super-blocks of 256 elements in 110 bytes:
//
//	d          fp16   super-scale
//	qs[64]     uint8  low eight bits of the grid indices, 8 per group
//	qh[8]      uint8  ninth bit of the grid indices, one byte per group
//	signs[32]  uint8  one sign bit per element, 4 bytes per group
//	scales[4]  uint8  4-bit group scales, two per byte (low nibble first)
//
// Group g (32 elements) has db = d*(1+2*scale); its four runs of eight take
// two grid entries each, with indices qs[8g+2l] | bit 2l of qh[g] << 8 and
// qs[8g+2l+1] | bit 2l+1 of qh[g] << 8. Element j of run l is
// ±db*grid byte, negative when bit j of signs[4g+l] is set.
func dequantIQ3_S(data []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := data[i*110 : (i+1)*110]
		d := half(b)
		qs, qh, signs, scales := b[2:66], b[66:74], b[74:106], b[106:110]
		for g := 0; g < 8; g++ {
			db := d * float32(1+2*int(scales[g/2]>>(4*(g%2))&0xf))
			for l := 0; l < 4; l++ {
				sign := signs[4*g+l]
				y := dst[i*QK_K+32*g+8*l : i*QK_K+32*g+8*l+8]
				for k := 0; k < 2; k++ {
					idx := int(qs[8*g+2*l+k]) | int(qh[g]>>(2*l+k)&1)<<8
					grid := iq3sGrid[idx]
					for j := 0; j < 4; j++ {
						v := db * float32(grid>>(8*j)&0xff)
						if sign&(1<<(4*k+j)) != 0 {
							v = -v
						}
						y[4*k+j] = v
					}
				}
			}
		}
	}
}
