package cpu

/*
#include <string.h>
#include "ir_cpu.h"
static void ir_prof_reset(void) {
    memset(ir_prof_ns, 0, sizeof ir_prof_ns);
    memset(ir_prof_calls, 0, sizeof ir_prof_calls);
}
*/
import "C"

import (
	"sort"
	"time"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// OpTime is the wall time spent in one op on operands of one type.
type OpTime struct {
	Op    compute.Op
	DType compute.DType // type of the first operand (the weight for MulMat)
	Calls int64
	Time  time.Duration
}

// SetProfiling turns the per-op profile on or off and clears it. It is
// process-wide and meant for diagnosis (ir bench, benchmarks): call it while
// no graph runs.
func SetProfiling(on bool) {
	C.ir_prof_reset()
	C.ir_prof_on = 0
	if on {
		C.ir_prof_on = 1
	}
}

// Profile returns the time per op and operand type since SetProfiling(true),
// longest first. Each op's time runs from the end of the previous op to the
// barrier after it, so it includes waiting for the slowest thread.
func Profile() []OpTime {
	var out []OpTime
	for code, op := range codeOps() {
		for t := 0; t < C.IR_NTYPES; t++ {
			if n := int64(C.ir_prof_calls[code][t]); n > 0 {
				out = append(out, OpTime{Op: op, DType: compute.DType(t), Calls: n, Time: time.Duration(C.ir_prof_ns[code][t])})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time > out[j].Time })
	return out
}

// codeOps inverts opCodes.
func codeOps() map[int]compute.Op {
	m := map[int]compute.Op{}
	for op, code := range opCodes {
		m[int(code)] = op
	}
	return m
}

// lastPlan returns the barriers planned and the phases run by the last graph
// computed in this process.
func lastPlan() (barriers, phases int) { return int(C.ir_plan_barriers), int(C.ir_plan_phases) }

// streamRead reads size bytes of C memory at p with every thread of be, as
// fast as the machine allows (the memory ceiling of decode).
func streamRead(be compute.Backend, p unsafe.Pointer, size int) int64 {
	b := be.(*backend)
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(C.ir_stream_read(b.pool, p, C.size_t(size)))
}

// vnniPeak issues rounds*12 vpdpbusd on every thread of be (the int8 ceiling
// of prefill); false where the kernels in use are not AVX-512 VNNI.
func vnniPeak(be compute.Backend, rounds int64) bool {
	b := be.(*backend)
	b.mu.Lock()
	defer b.mu.Unlock()
	return C.ir_vnni_peak(b.pool, C.int64_t(rounds)) != 0
}

// hugeAlloc returns size zeroed bytes of C memory laid out like packed
// weights, and the function that frees them.
func hugeAlloc(size int) (unsafe.Pointer, func()) {
	p := C.ir_pack_alloc(C.size_t(size))
	return p, func() { C.ir_pack_free(p, C.size_t(size)) }
}
