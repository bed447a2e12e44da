package quant

import "math"

// The K-quant quantizers follow ggml's reference quantizers
// (quantize_row_q*_K_ref, used when no importance matrix is given): each
// group gets a scale (and min) fitted by a small search, the group scales are
// quantized against the super-block scale, and the elements are then
// requantized with the scales as stored. All arithmetic is float32; the
// explicit float32 conversions round products before they are accumulated
// so that no platform fuses them into multiply-adds.

// groupMaxEps is the magnitude below which a group counts as all zero.
const groupMaxEps = 1e-15

// clampInt limits v to [lo, hi].
func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// fitScaleMin fits x ≈ scale*L + min with L in [0, nmax] and min <= 0,
// minimising the weighted squared (or, with useMAD, absolute) error: it
// starts from the min/max range, then tries nstep+1 candidate inverse scales
// (nmax + rmin + rdelta*is)/(max-min), refitting scale and min by weighted
// least squares for each. It writes the levels to L and returns the scale
// and -min. This is ggml's make_qkx2_quants.
func fitScaleMin(nmax int, x, weights []float32, L []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, negMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		lo, hi = min(lo, x[i]), max(hi, x[i])
		sumW += weights[i]
		sumX += float32(weights[i] * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L[:n])
		return 0, -lo
	}
	errorOf := func(scale, lo float32, levels []uint8) float32 {
		var e float32
		for i, v := range x {
			diff := float32(float32(scale*float32(levels[i]))+lo) - v
			if useMAD {
				diff = abs32(diff)
			} else {
				diff = float32(diff * diff)
			}
			e += float32(weights[i] * diff)
		}
		return e
	}
	levels := func(iscale, lo float32, dst []uint8) {
		for i, v := range x {
			dst[i] = uint8(clampInt(nearestInt(float32(iscale*(v-lo))), 0, nmax))
		}
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	levels(iscale, lo, L)
	best := errorOf(scale, lo, L)
	if nstep < 1 {
		return scale, -lo
	}
	var aux [32]uint8
	laux := aux[:n]
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (hi - lo)
		levels(iscale, lo, laux)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := float32(laux[i])
			wl := float32(weights[i] * l)
			sumL += wl
			sumL2 += float32(wl * l)
			sumXL += float32(wl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		if cur := errorOf(thisScale, thisMin, laux); cur < best {
			copy(L, laux)
			best, scale, lo = cur, thisScale, thisMin
		}
	}
	return scale, -lo
}

// fitSymmetric fits x ≈ scale*(L-nmax) with L-nmax in [-nmax, nmax-1],
// weighting each element by x², trying 18 inverse scales around -nmax/max
// (max = the signed element of largest magnitude) and keeping the one with
// the best least-squares fit. It writes L and returns the scale. This is
// ggml's make_qx_quants with rmse_type 1 and no importance weights.
func fitSymmetric(nmax int, x []float32, L []int8) float32 {
	amax, maxv := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	fit := func(iscale float32) (sumLX, sumL2 float32) {
		for _, v := range x {
			l := float32(clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1))
			w := float32(v * v)
			sumLX += float32(float32(w*v) * l)
			sumL2 += float32(float32(w*l) * l)
		}
		return sumLX, sumL2
	}
	store := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1))
		}
	}
	iscale := float32(-nmax) / maxv
	store(iscale)
	sumLX, sumL2 := fit(iscale)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := float32(scale * sumLX)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = fit(iscale)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			store(iscale)
			scale = sumLX / sumL2
			best = float32(scale * sumLX)
		}
	}
	return scale
}

// fitQ3 fits x ≈ scale*(L-nmax) with L-nmax in [-nmax, nmax-1], starting
// from -nmax/max and then moving single levels while that improves the
// x²-weighted fit (up to five passes). This is ggml's make_q3_quants with
// do_rmse.
func fitQ3(nmax int, x []float32, L []int8) float32 {
	amax, maxv := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / maxv
	var sumLX, sumL2 float32
	for i, v := range x {
		l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(v * v)
		sumLX += float32(float32(w*v) * float32(l))
		sumL2 += float32(float32(w*float32(l)) * float32(l))
	}
	for try := 0; try < 5; try++ {
		changed := 0
		for i, v := range x {
			w := float32(v * v)
			li := float32(L[i])
			slx := sumLX - float32(float32(w*v)*li)
			if slx <= 0 {
				continue
			}
			sl2 := sumL2 - float32(float32(w*li)*li)
			newL := clampInt(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
			if newL == int(L[i]) {
				continue
			}
			nl := float32(newL)
			slx += float32(float32(w*v) * nl)
			sl2 += float32(float32(w*nl) * nl)
			if sl2 > 0 && float32(float32(slx*slx)*sumL2) > float32(float32(sumLX*sumLX)*sl2) {
				L[i], sumLX, sumL2 = int8(newL), slx, sl2
				changed++
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if sumL2 > 0 {
		return sumLX / sumL2
	}
	return 0
}

// levelsAt requantizes x to levels round((x+dm)/d) clamped to [lo, hi] and
// stores level+bias in L; used once the group scales are final.
func levelsAt(x []float32, d, dm float32, lo, hi, bias int, L []uint8) {
	for i, v := range x {
		L[i] = uint8(clampInt(nearestInt((v+dm)/d), lo, hi) + bias)
	}
}

// pack2Bits stores 256 2-bit levels as Q2_K and Q3_K do: element
// 128h + 32j + l goes to bits 2j..2j+1 of qs[32h+l].
func pack2Bits(L []uint8, qs []byte) {
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			e := 128*h + l
			qs[32*h+l] = L[e] | L[e+32]<<2 | L[e+64]<<4 | L[e+96]<<6
		}
	}
}

// quantQ2_K follows quantize_row_q2_K_ref (layout: see decodeQ2_K).
func quantQ2_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	var weights [16]float32
	var scales, mins [16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*84 : (i+1)*84]
		clear(b)
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xg := x[16*j : 16*j+16]
			for l, v := range xg {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = fitScaleMin(3, xg, weights[:], L[16*j:16*j+16], -0.5, 0.1, 15, true)
			maxScale, maxMin = max(maxScale, scales[j]), max(maxMin, mins[j])
		}
		if maxScale > 0 {
			iscale := 15 / maxScale
			for j := range scales {
				b[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			putHalf(b[80:], maxScale/15)
		}
		if maxMin > 0 {
			iscale := 15 / maxMin
			for j := range mins {
				b[j] |= uint8(nearestInt(float32(iscale*mins[j]))) << 4
			}
			putHalf(b[82:], maxMin/15)
		}
		d, dmin := half(b[80:]), half(b[82:])
		for j := 0; j < 16; j++ {
			dl := d * float32(b[j]&0xf)
			if dl == 0 {
				continue
			}
			levelsAt(x[16*j:16*j+16], dl, dmin*float32(b[j]>>4), 0, 3, 0, L[16*j:16*j+16])
		}
		pack2Bits(L[:], b[16:80])
	}
}

// fitGroups16 fits each group of 16 elements of a super-block with fit, and
// returns the group scales, the largest magnitude among them and the signed
// scale that has it (the first one on ties).
func fitGroups16(x []float32, L []int8, fit func(xg []float32, lg []int8) float32) (scales [16]float32, maxAbs, maxScale float32) {
	for j := range scales {
		scales[j] = fit(x[16*j:16*j+16], L[16*j:16*j+16])
		if a := abs32(scales[j]); a > maxAbs {
			maxAbs, maxScale = a, scales[j]
		}
	}
	return scales, maxAbs, maxScale
}

// quantQ3_K follows quantize_row_q3_K_ref (layout: see decodeQ3_K).
func quantQ3_K(src []float32, dst []byte) {
	var L [QK_K]int8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*110 : (i+1)*110]
		clear(b)
		hmask, qs, sc := b[:32], b[32:96], b[96:108]
		scales, _, maxScale := fitGroups16(x, L[:], func(xg []float32, lg []int8) float32 { return fitQ3(4, xg, lg) })
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j, s := range scales {
				l := uint8(clampInt(int(int8(nearestInt(float32(iscale*s)))), -32, 31) + 32)
				sc[j%8] |= (l & 0xf) << (4 * (j / 8))
				sc[8+j%4] |= (l >> 4) << (2 * (j / 4))
			}
			putHalf(b[108:], 1/iscale)
		}
		d := half(b[108:])
		var U [QK_K]uint8
		for j := range U {
			U[j] = uint8(L[j])
		}
		for j := 0; j < 16; j++ {
			dl := d * float32(q3Scale(j, sc))
			if dl == 0 {
				continue
			}
			levelsAt(x[16*j:16*j+16], dl, 0, -4, 3, 4, U[16*j:16*j+16])
		}
		for j := range U {
			if U[j] > 3 {
				hmask[j%32] |= 1 << (j / 32)
				U[j] -= 4
			}
		}
		pack2Bits(U[:], qs)
	}
}

// quantKGroups fits the eight groups of 32 of a Q4_K or Q5_K super-block
// (weights av_x + |x| with av_x the group's rms), stores the quantized
// scales, mins and super-scales in the block header b[0:16], and leaves the
// final levels (0..nmax) in L.
func quantKGroups(x []float32, nmax int, rmin, rdelta float32, nstep int, b []byte, L []uint8) {
	var weights [32]float32
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xg := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xg {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xg {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = fitScaleMin(nmax, xg, weights[:], L[32*j:32*j+32], rmin, rdelta, nstep, false)
		maxScale, maxMin = max(maxScale, scales[j]), max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sm := b[4:16]
	clear(sm)
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sm[j], sm[j+4] = ls, lm
		} else {
			sm[j+4] = ls&0xf | (lm&0xf)<<4
			sm[j-4] |= (ls >> 4) << 6
			sm[j] |= (lm >> 4) << 6
		}
	}
	putHalf(b, maxScale/63)
	putHalf(b[2:], maxMin/63)
	d, dmin := half(b), half(b[2:])
	for j := 0; j < 8; j++ {
		sc, m := kScaleMin(j, sm)
		dl := d * float32(sc)
		if dl == 0 {
			continue
		}
		levelsAt(x[32*j:32*j+32], dl, dmin*float32(m), 0, nmax, 0, L[32*j:32*j+32])
	}
}

// quantQ4_K follows quantize_row_q4_K_ref (layout: see decodeQ4_K).
func quantQ4_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*144 : (i+1)*144]
		quantKGroups(src[i*QK_K:(i+1)*QK_K], 15, -1, 0.1, 20, b, L[:])
		qs := b[16:144]
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				qs[32*c+l] = L[64*c+l] | L[64*c+32+l]<<4
			}
		}
	}
}

// quantQ5_K follows quantize_row_q5_K_ref (layout: see decodeQ5_K).
func quantQ5_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*176 : (i+1)*176]
		quantKGroups(src[i*QK_K:(i+1)*QK_K], 31, -0.5, 0.1, 15, b, L[:])
		qh, qs := b[16:48], b[48:176]
		clear(qh)
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				lo, hi := L[64*c+l], L[64*c+32+l]
				qs[32*c+l] = lo&0xf | (hi&0xf)<<4
				qh[l] |= (lo>>4)<<(2*c) | (hi>>4)<<(2*c+1)
			}
		}
	}
}

// quantQ6_K follows quantize_row_q6_K_ref (layout: see decodeQ6_K).
func quantQ6_K(src []float32, dst []byte) {
	var L [QK_K]int8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*210 : (i+1)*210]
		clear(b)
		scales, maxAbs, maxScale := fitGroups16(x, L[:], func(xg []float32, lg []int8) float32 { return fitSymmetric(32, xg, lg) })
		if maxAbs < groupMaxEps {
			continue
		}
		iscale := -128 / maxScale
		putHalf(b[208:], 1/iscale)
		for j, s := range scales {
			b[192+j] = byte(int8(min(127, nearestInt(float32(iscale*s)))))
		}
		d := half(b[208:])
		var U [QK_K]uint8
		for j := range U {
			U[j] = uint8(L[j])
		}
		for j := 0; j < 16; j++ {
			dl := d * float32(int8(b[192+j]))
			if dl == 0 {
				continue
			}
			levelsAt(x[16*j:16*j+16], dl, 0, -32, 31, 32, U[16*j:16*j+16])
		}
		ql, qh := b[:128], b[128:192]
		for h := 0; h < 2; h++ {
			for l := 0; l < 32; l++ {
				e := 128*h + l
				ql[64*h+l] = U[e]&0xf | (U[e+64]&0xf)<<4
				ql[64*h+32+l] = U[e+32]&0xf | (U[e+96]&0xf)<<4
				qh[32*h+l] = U[e]>>4 | (U[e+32]>>4)<<2 | (U[e+64]>>4)<<4 | (U[e+96]>>4)<<6
			}
		}
	}
}
