package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// dequantFunc expands whole blocks of data into dst. The caller has checked
// that data holds exactly len(dst)/BlockSize blocks.
type dequantFunc func(data []byte, dst []float32)

// plainDequantizers lists the types without blocks; the block types are in
// blockDecoders.
var plainDequantizers = map[Type]dequantFunc{
	F32:  dequantF32,
	F16:  dequantF16,
	BF16: dequantBF16,
}

// CanDequantize reports whether Dequantize supports t.
func CanDequantize(t Type) bool { return dequantizer(t) != nil }

// dequantizer returns the function that expands type t, or nil.
func dequantizer(t Type) dequantFunc {
	if fn, ok := plainDequantizers[t]; ok {
		return fn
	}
	decode, ok := blockDecoders[t]
	if !ok {
		return nil
	}
	bs, ts := t.BlockSize(), t.TypeSize()
	return func(data []byte, dst []float32) {
		var blk intBlock
		for i := 0; i < len(dst)/bs; i++ {
			decode(data[i*ts:(i+1)*ts], &blk)
			blk.expand(dst[i*bs : (i+1)*bs])
		}
	}
}

// Dequantize expands data, a run of whole blocks of type t, into dst, one
// float32 per element. len(dst) must be a multiple of t's block size and data
// must hold exactly the bytes of len(dst) elements. The result is bit-exact
// with ggml's reference dequantization (to_float).
func Dequantize(t Type, data []byte, dst []float32) error {
	fn := dequantizer(t)
	if fn == nil {
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
