// Package compute is the interface between a model's forward pass and the
// hardware that runs it. A model builds one Graph per step from a small op
// set; a Backend (CPU, later CUDA, Vulkan, Metal) runs the whole graph in one
// call. Weights and the KV cache live in Buffers that belong to a Device.
//
// The levels follow ggml-backend: a registry of drivers (Register, Devices),
// each driver exposing Devices, each device allocating Buffers and opening
// Backends (compute streams). Errors are values: graph builders record the
// first error and Compute returns it; nothing panics on bad shapes.
package compute

import (
	"fmt"

	"inferenceruntime/inference/quant"
)

// DType is a tensor element type. It reuses the ggml type ids of package
// quant, so a GGUF tensor's type is its DType.
type DType = quant.Type

// Plain element types used by activations, positions and the KV cache.
const (
	F32  DType = quant.F32
	F16  DType = quant.F16
	BF16 DType = quant.BF16
	I32  DType = quant.I32
)

// Shape holds the sizes of up to four dimensions in ggml order: Shape[0]
// (ne0) is the length of a row, the fastest-varying dimension. Unused
// trailing dimensions may be left 0; they mean 1.
type Shape [4]int

// norm returns s with zero sizes after the first dimension set to 1.
func (s Shape) norm() Shape {
	for i := 1; i < 4; i++ {
		if s[i] == 0 {
			s[i] = 1
		}
	}
	return s
}

// Elements is the number of elements of the shape.
func (s Shape) Elements() int64 {
	s = s.norm()
	return int64(s[0]) * int64(s[1]) * int64(s[2]) * int64(s[3])
}

// Rows is the number of rows: the product of every dimension but the first.
func (s Shape) Rows() int64 {
	s = s.norm()
	return int64(s[1]) * int64(s[2]) * int64(s[3])
}

// String prints the shape like [4096 7].
func (s Shape) String() string {
	s = s.norm()
	n := 4
	for n > 1 && s[n-1] == 1 {
		n--
	}
	out := "["
	for i := 0; i < n; i++ {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprint(s[i])
	}
	return out + "]"
}

// valid reports an error for a shape with a non-positive dimension or too
// many elements to address.
func (s Shape) valid() error {
	s = s.norm()
	total := int64(1)
	for i, d := range s {
		if d <= 0 {
			return fmt.Errorf("shape %v: dimension %d is %d", [4]int(s), i, d)
		}
		total *= int64(d)
		if total > 1<<40 {
			return fmt.Errorf("shape %v: too many elements", [4]int(s))
		}
	}
	return nil
}

// ByteSize returns the bytes taken by a contiguous tensor of type dt and
// shape s, or an error when a row is not a whole number of blocks.
func ByteSize(dt DType, s Shape) (int64, error) {
	if err := s.valid(); err != nil {
		return 0, err
	}
	row, err := dt.RowSize(int64(s.norm()[0]))
	if err != nil {
		return 0, err
	}
	return row * s.Rows(), nil
}
