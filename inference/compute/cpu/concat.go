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

// concatCopies lowers a Concat node to one copy op per part, each writing
// its rows at their place in the node's bytes: the C side needs no op of
// its own, and the barrier planner sees each copy's reads and writes.
func concatCopies(ops []C.ir_op, n *compute.Tensor, addr func(*compute.Tensor) (unsafe.Pointer, error)) error {
	dst, err := addr(n)
	if err != nil {
		return err
	}
	var at int64
	for j := range ops {
		part := n.Src(j)
		if part.DType() != compute.F32 || part.Shape()[0] != n.Shape()[0] {
			return fmt.Errorf("cpu: %v: part %v does not fit", n, part)
		}
		op := &ops[j]
		*op = C.ir_op{op: C.IR_OP_COPY, n_src: 2}
		if err := fill(&op.src[1], part, addr); err != nil {
			return err
		}
		s := part.Shape()
		op.dst.data = unsafe.Add(dst, at)
		op.dst._type = C.int32_t(compute.F32)
		for i := 0; i < 4; i++ {
			op.dst.ne[i] = C.int64_t(s[i])
		}
		op.src[0] = op.dst
		at += part.Bytes()
	}
	if at != n.Bytes() {
		return fmt.Errorf("cpu: %v: parts of %d bytes", n, at)
	}
	return nil
}
