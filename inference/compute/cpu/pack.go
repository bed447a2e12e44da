package cpu

/*
#include <stdlib.h>
#include "ir_cpu.h"
*/
import "C"

import (
	"fmt"
	"math"
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
// sums. A stack of expert matrices (MulMatID) is packed one expert after
// another.
//
// The copy is as large as the matrix, so where the matrix is a model
// file's bytes (the GGUF file mapped, or read into memory with use_mmap
// off, on Linux) its pages are given back to the kernel as they are
// packed: a model costs its file size once. Nothing reads them again:
// GetRows of a packed matrix (a tied embedding) reads the packed copy.
// Should anything else read them, they come back from the file. Where the
// file's pages were locked (use_mlock), the packed copy is locked in their
// place (release_linux.go).
//
// IR_CPU_PACK=0 turns packing off (to compare speeds).
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

// packKey is a matrix of a buffer: k x m weights of type typ at byte off,
// or n such matrices one after another (experts).
type packKey struct {
	off     int64
	typ     compute.DType
	k, m, n int64
}

// packedOf returns the packed copy of the n k x m matrices of type typ at
// byte off of b, making it on first use. ok is false where the type has no
// packed kernel at the kernel level in use.
func (b *buffer) packedOf(off int64, typ compute.DType, k, m, n int64) (p unsafe.Pointer, ok bool, err error) {
	if !packWeights || !hasPacked(typ) {
		return nil, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return nil, false, fmt.Errorf("cpu: buffer used after Free")
	}
	key := packKey{off, typ, k, m, n}
	if c, ok := b.packs[key]; ok { // checked when it was made
		return c.ptr, true, nil
	}
	one := int64(C.ir_pack_size(C.int(typ), C.int64_t(k), C.int64_t(m)))
	row := int64(C.ir_row_size(C.int(typ), C.int64_t(k)))
	if one <= 0 || row <= 0 || n <= 0 {
		return nil, false, nil
	}
	if off < 0 || off > b.size || m > (b.size-off)/row/n || one > math.MaxInt64/n {
		return nil, false, fmt.Errorf("cpu: %d x %d rows of %v at byte %d do not fit a %d-byte buffer", n, m, typ, off, b.size)
	}
	c := &packMem{ptr: C.ir_pack_alloc(C.size_t(one * n)), size: one * n}
	if c.ptr == nil {
		return nil, false, fmt.Errorf("cpu: packing %dx%dx%d %v weights: out of memory allocating %d bytes", k, m, n, typ, c.size)
	}
	src := unsafe.Add(b.ptr, off)
	rel := b.releaser(src, n*m*row)
	for e := int64(0); e < n; e++ {
		packParallel(typ, unsafe.Add(src, e*m*row), unsafe.Add(c.ptr, e*one), k, m, rel)
	}
	rel.to(unsafe.Add(src, n*m*row))
	rel.lock(c)
	if b.packs == nil {
		b.packs = map[packKey]*packMem{}
	}
	b.packs[key] = c
	return c.ptr, true, nil
}

// packOf returns the packed copy of a matrix if one was made; the caller
// holds b.mu.
func (b *buffer) packOf(key packKey) unsafe.Pointer {
	if c, ok := b.packs[key]; ok {
		return c.ptr
	}
	return nil
}

// packChunk is about how many source bytes are packed before they are
// given back: the source of a whole large matrix (a tied F16 embedding,
// 0.5 GB) resident beside its copy would break the bound on peak memory.
const packChunk = 16 << 20

// packParallel packs the panels on all cores (a model's first prompt waits
// for it), a chunk at a time, handing each chunk's source pages to rel.
func packParallel(typ compute.DType, src, dst unsafe.Pointer, k, m int64, rel *releaser) {
	row := int64(C.ir_row_size(C.int(typ), C.int64_t(k)))
	panels := (m + C.IR_PACK_ROWS - 1) / C.IR_PACK_ROWS
	step := max(1, packChunk/(row*C.IR_PACK_ROWS))
	workers := int64(min(runtime.NumCPU(), 16))
	for c0 := int64(0); c0 < panels; c0 += step {
		c1 := min(panels, c0+step)
		var wg sync.WaitGroup
		for w := int64(0); w < workers; w++ {
			p0, p1 := c0+(c1-c0)*w/workers, c0+(c1-c0)*(w+1)/workers
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
		rel.to(unsafe.Add(src, min(m, c1*C.IR_PACK_ROWS)*row))
	}
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
