package cpu

/*
#include "ir_cpu.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// This file exposes single kernels to Go, for tests and for tools that want
// one dot product without building a graph. Every entry checks sizes first.

// VecDotType returns the type activations are converted to before a dot
// product with a weight row of type t (F32 for the float types).
func VecDotType(t compute.DType) (compute.DType, bool) {
	if C.ir_has_dot(C.int(t)) == 0 {
		return 0, false
	}
	return compute.DType(C.ir_vdt(C.int(t))), true
}

func rowBytes(t compute.DType, n int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("cpu: %d elements", n)
	}
	sz := int64(C.ir_row_size(C.int(t), C.int64_t(n)))
	if sz < 0 {
		return 0, fmt.Errorf("cpu: %d elements of %v are not whole blocks of a supported type", n, t)
	}
	return int(sz), nil
}

// QuantizeRow converts x to the activation type vdt (Q8_0, Q8_1 or Q8_K) with
// the kernels in use.
func QuantizeRow(vdt compute.DType, x []float32) ([]byte, error) {
	n, err := rowBytes(vdt, len(x))
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if C.ir_quantize_row(C.int(vdt), (*C.float)(&x[0]), unsafe.Pointer(&out[0]), C.int(len(x))) != 0 {
		return nil, fmt.Errorf("cpu: no quantizer for %v", vdt)
	}
	return out, nil
}

// DequantizeRow converts n elements of type t to float32.
func DequantizeRow(t compute.DType, w []byte, n int) ([]float32, error) {
	sz, err := rowBytes(t, n)
	if err != nil {
		return nil, err
	}
	if len(w) < sz {
		return nil, fmt.Errorf("cpu: %d bytes for %d elements of %v, want %d", len(w), n, t, sz)
	}
	out := make([]float32, n)
	if C.ir_to_float_row(C.int(t), unsafe.Pointer(&w[0]), (*C.float)(&out[0]), C.int(n)) != 0 {
		return nil, fmt.Errorf("cpu: cannot dequantize %v", t)
	}
	return out, nil
}

// VecDot returns the dot product of a weight row w (type t, n elements) with
// an activation row xq already in VecDotType(t) (F32 rows as little-endian
// floats).
func VecDot(t compute.DType, w, xq []byte, n int) (float32, error) {
	vdt, ok := VecDotType(t)
	if !ok {
		return 0, fmt.Errorf("cpu: no dot product for %v", t)
	}
	ws, err := rowBytes(t, n)
	if err != nil {
		return 0, err
	}
	xs, err := rowBytes(vdt, n)
	if err != nil {
		return 0, err
	}
	if len(w) < ws || len(xq) < xs {
		return 0, fmt.Errorf("cpu: VecDot of %d %v elements: have %d and %d bytes, want %d and %d", n, t, len(w), len(xq), ws, xs)
	}
	var s C.float
	C.ir_dot_row(C.int(t), unsafe.Pointer(&w[0]), unsafe.Pointer(&xq[0]), C.int(n), &s)
	return float32(s), nil
}

// setISA switches the kernel tables to level (for tests; not safe while a
// graph runs) and returns the level in use.
func setISA(level string) (string, error) {
	l := indexOf(isaNames, level)
	if l < 0 {
		return "", fmt.Errorf("cpu: unknown ISA %q", level)
	}
	got := int(C.ir_init(C.int(l)))
	loadTypeKernels()
	if got != l {
		return isaNames[got], fmt.Errorf("cpu: ISA %s not available (using %s)", level, isaNames[got])
	}
	return isaNames[got], nil
}

// typeKernel is what the kernel tables in use offer for one type, read
// once per ir_init: a decode graph asks for each of its few hundred
// products, and a call into C costs more than the lookup.
type typeKernel struct {
	vdt              compute.DType // activation type of its products; valid where dot
	dot, toFloat, pg bool          // products, rows to float, packed products
}

var typeKernels [256]typeKernel

func loadTypeKernels() {
	for t := range typeKernels {
		k := typeKernel{dot: C.ir_has_dot(C.int(t)) != 0, toFloat: C.ir_has_to_float(C.int(t)) != 0, pg: C.ir_has_pgemm(C.int(t)) != 0}
		if k.dot {
			k.vdt = compute.DType(C.ir_vdt(C.int(t)))
		}
		typeKernels[t] = k
	}
}

// kernelsOf returns the kernels of type t (none for an unknown type).
func kernelsOf(t compute.DType) typeKernel {
	if int(t) < 0 || int(t) >= len(typeKernels) {
		return typeKernel{}
	}
	return typeKernels[t]
}

// detectISA returns the best level the CPU supports.
func detectISA() int { return int(C.ir_detect()) }
