package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// vecDotTypes maps each weight type to the type ggml quantizes activations
// to before its dot product (the type traits' vec_dot_type).
var vecDotTypes = map[Type]Type{
	F32:    F32,
	F16:    F16,
	BF16:   BF16,
	Q4_0:   Q8_0,
	Q5_0:   Q8_0,
	Q8_0:   Q8_0,
	IQ4_NL: Q8_0,
	Q4_1:   Q8_1,
	Q5_1:   Q8_1,
	Q2_K:   Q8_K,
	Q3_K:   Q8_K,
	Q4_K:   Q8_K,
	Q5_K:   Q8_K,
	Q6_K:   Q8_K,
	IQ4_XS: Q8_K,
	IQ3_S:  Q8_K,
}

// VecDotType returns the type that activations are converted to before a dot
// product with weights of type t: Q8_0 for Q4_0, Q5_0, Q8_0 and IQ4_NL; Q8_1
// for Q4_1 and Q5_1; Q8_K for the K-quants, IQ4_XS and IQ3_S; the type itself
// for F32, F16 and BF16. For a type CanVecDot rejects it returns F32.
func VecDotType(t Type) Type {
	if v, ok := vecDotTypes[t]; ok {
		return v
	}
	return F32
}

// CanVecDot reports whether VecDot supports weights of type t.
func CanVecDot(t Type) bool { _, ok := vecDotTypes[t]; return ok }

// The explicit float32 conversions below round each product before it is
// accumulated, so that no platform fuses them into multiply-adds and the
// result is the same everywhere.

// VecDot returns the dot product of row, whole blocks of type t, with x,
// computed as ggml's CPU backend does for one token: x is first converted to
// VecDotType(t) (with the reference quantizers), then the quantized values
// are multiplied in integers block by block and the block sums scaled and
// accumulated in float32 (F32, F16 and BF16 rows accumulate float32 products
// in float64). It is the reference the compute kernels are tested against.
func VecDot(t Type, row []byte, x []float32) (float32, error) {
	vt, ok := vecDotTypes[t]
	if !ok {
		return 0, fmt.Errorf("vec dot: type %s is not supported", t)
	}
	xq, err := Quantize(vt, x)
	if err != nil {
		return 0, fmt.Errorf("vec dot: %w", err)
	}
	return VecDotQuantized(t, row, xq)
}

// VecDotQuantized is VecDot with x already converted to VecDotType(t); row
// and xq must hold the same number of elements.
func VecDotQuantized(t Type, row, xq []byte) (float32, error) {
	vt, ok := vecDotTypes[t]
	if !ok {
		return 0, fmt.Errorf("vec dot: type %s is not supported", t)
	}
	if len(row)%t.TypeSize() != 0 {
		return 0, fmt.Errorf("vec dot: %s: %d bytes is not a whole number of blocks", t, len(row))
	}
	n := len(row) / t.TypeSize() * t.BlockSize()
	if err := checkBlocks(vt, len(xq), n); err != nil {
		return 0, fmt.Errorf("vec dot: activations for %d %s weights: %w", n, t, err)
	}
	switch vt {
	case F32, F16, BF16:
		return dotFloat(t, row, xq, n), nil
	case Q8_K:
		return dotQ8_K(blockDecoders[t], t.TypeSize(), row, xq), nil
	default:
		return dotQ8_32(blockDecoders[t], t.TypeSize(), vt, row, xq), nil
	}
}

// dotFloat multiplies element by element in float32 and sums in float64, as
// ggml_vec_dot_f32/f16/bf16 do without SIMD.
func dotFloat(t Type, row, xq []byte, n int) float32 {
	w := make([]float32, n)
	x := make([]float32, n)
	plainDequantizers[t](row, w)
	plainDequantizers[t](xq, x)
	var sum float64
	for i := range w {
		sum += float64(float32(w[i] * x[i]))
	}
	return float32(sum)
}

// dotQ8_32 dots 32-element weight blocks with Q8_0 or Q8_1 activation blocks:
// per block d_w*d_x*sum(q_w*q_x), plus m_w*s_x when the weights have an
// offset (Q4_1, Q5_1 with Q8_1, whose s_x = d_x*sum(q_x)).
func dotQ8_32(decode decodeFunc, ts int, vt Type, row, xq []byte) float32 {
	vts := vt.TypeSize()
	var blk intBlock
	var sum float32
	for i := 0; i < len(row)/ts; i++ {
		decode(row[i*ts:(i+1)*ts], &blk)
		xb := xq[i*vts : (i+1)*vts]
		qx := xb[vts-32:]
		var isum int32
		for j, q := range blk.q[:32] {
			isum += int32(q) * int32(int8(qx[j]))
		}
		isum *= blk.scale[0]
		sum += float32(float32(blk.d*half(xb)) * float32(isum))
		if vt == Q8_1 && blk.min[0] != 0 {
			// dmin*min is the offset with its sign flipped (see intBlock).
			sum -= float32(float32(blk.dmin*float32(blk.min[0])) * half(xb[2:]))
		}
	}
	return sum
}

// dotQ8_K dots 256-element super-blocks with Q8_K activation blocks: per
// super-block d_w*d_x*sum_g(scale_g*sum(q_w*q_x)) - dmin_w*d_x*sum_g(min_g*
// sum(q_x)), taking the sums of q_x from the block's bsums as ggml does.
func dotQ8_K(decode decodeFunc, ts int, row, xq []byte) float32 {
	var blk intBlock
	var sum, minSum float32
	for i := 0; i < len(row)/ts; i++ {
		decode(row[i*ts:(i+1)*ts], &blk)
		xb := xq[i*292 : (i+1)*292]
		dx := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		qx, bsums := xb[4:4+QK_K], xb[4+QK_K:]
		gs := QK_K / blk.groups
		var isum, msum int32
		for g := 0; g < blk.groups; g++ {
			var gsum int32
			for e := g * gs; e < (g+1)*gs; e++ {
				gsum += int32(blk.q[e]) * int32(int8(qx[e]))
			}
			isum += blk.scale[g] * gsum
			if blk.min[g] != 0 {
				var xsum int32
				for k := g * gs / 16; k < (g+1)*gs/16; k++ {
					xsum += int32(int16(binary.LittleEndian.Uint16(bsums[2*k:])))
				}
				msum += blk.min[g] * xsum
			}
		}
		sum += float32(float32(blk.d*dx) * float32(isum))
		minSum -= float32(float32(blk.dmin*dx) * float32(msum))
	}
	return minSum + sum
}
