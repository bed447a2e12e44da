package cpu

/*
#include <stdlib.h>
#include "ir_cpu.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// Packed weights (see packed.c): the first product of a weight matrix whose
// type has a packed kernel makes a copy laid out for that kernel, kept with
// the buffer until the buffer is written or freed. Prompt processing gains
// most: the kernel computes 16 rows per instruction without horizontal
// sums. The copy costs memory equal to the matrix (the original bytes are
// usually a file mapping the kernel no longer touches).
//
// IR_CPU_PACK=0 turns packing off (to compare speeds, or to save memory).
var packWeights = os.Getenv("IR_CPU_PACK") != "0"

// packMem is the memory of one packed matrix.
type packMem struct {
	ptr  unsafe.Pointer
	size int64
}

func (m *packMem) free() {
	C.ir_pack_free(m.ptr, C.size_t(m.size))
	m.ptr = nil
}

type packKey struct {
	off  int64
	typ  compute.DType
	k, m int64
}

// packedOf returns the packed copy of the k x m matrix of type typ at byte
// off of b, making it on first use. ok is false where the type has no
// packed kernel at the kernel level in use.
func (b *buffer) packedOf(off int64, typ compute.DType, k, m int64) (p unsafe.Pointer, ok bool, err error) {
	if !packWeights || !hasPacked(typ) {
		return nil, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return nil, false, fmt.Errorf("cpu: buffer used after Free")
	}
	key := packKey{off, typ, k, m}
	if c, ok := b.packs[key]; ok { // checked when it was made
		return c.ptr, true, nil
	}
	size := int64(C.ir_pack_size(C.int(typ), C.int64_t(k), C.int64_t(m)))
	row := int64(C.ir_row_size(C.int(typ), C.int64_t(k)))
	if size <= 0 || row <= 0 {
		return nil, false, nil
	}
	if off < 0 || off > b.size || m > (b.size-off)/row {
		return nil, false, fmt.Errorf("cpu: %d rows of %v at byte %d do not fit a %d-byte buffer", m, typ, off, b.size)
	}
	c := &packMem{ptr: C.ir_pack_alloc(C.size_t(size)), size: size}
	if c.ptr == nil {
		return nil, false, fmt.Errorf("cpu: packing %dx%d %v weights: out of memory allocating %d bytes", k, m, typ, size)
	}
	packParallel(typ, unsafe.Add(b.ptr, off), c.ptr, k, m)
	if b.packs == nil {
		b.packs = map[packKey]*packMem{}
	}
	b.packs[key] = c
	return c.ptr, true, nil
}

// packParallel packs the panels on all cores: a model's first prompt waits
// for it.
func packParallel(typ compute.DType, src, dst unsafe.Pointer, k, m int64) {
	panels := (m + C.IR_PACK_ROWS - 1) / C.IR_PACK_ROWS
	workers := int64(min(runtime.NumCPU(), 16))
	var wg sync.WaitGroup
	for w := int64(0); w < workers; w++ {
		p0, p1 := panels*w/workers, panels*(w+1)/workers
		if p0 == p1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			C.ir_pack_panels(C.int(typ), src, dst, C.int64_t(k), C.int64_t(m), C.int64_t(p0), C.int64_t(p1))
		}()
	}
	wg.Wait()
}

// dropPacks frees the packed copies; the caller holds b.mu.
func (b *buffer) dropPacks() {
	for _, c := range b.packs {
		c.free()
	}
	b.packs = nil
}

// hasPacked reports whether typ has a packed kernel at the level in use.
func hasPacked(typ compute.DType) bool { return kernelsOf(typ).pg }
