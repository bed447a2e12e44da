// Package cpu is the CPU compute backend: portable C kernels with AVX2,
// AVX-512/VNNI and NEON variants chosen at run time, and a C thread pool
// that runs a whole graph in one CGo call. Import it for its side effect of
// registering the "cpu" driver:
//
//	import _ "inferenceruntime/inference/compute/cpu"
//
// The environment variable IR_CPU_ISA (generic, avx2, avx512, neon) forces a
// kernel level at most as high as the CPU supports; tests use it to compare
// the SIMD kernels with the portable ones.
package cpu

/*
#cgo CFLAGS: -O3 -Wall -Wno-unused-function
#cgo LDFLAGS: -lpthread -lm
#include <stdlib.h>
#include "ir_cpu.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// ISA levels, as in ir_cpu.h.
var isaNames = []string{"generic", "avx2", "avx512", "neon"}

var (
	initErr error
	theCPU  = &device{}
)

func init() {
	loadIQ3SGrid()
	level := -1
	if s := os.Getenv("IR_CPU_ISA"); s != "" {
		level = indexOf(isaNames, strings.ToLower(s))
		if level < 0 {
			initErr = fmt.Errorf("cpu: IR_CPU_ISA=%q: want one of %v", s, isaNames)
		}
	}
	got := int(C.ir_init(C.int(level)))
	loadTypeKernels()
	if level >= 0 && got != level {
		initErr = fmt.Errorf("cpu: IR_CPU_ISA=%s: this CPU supports at most %s", isaNames[level], isaNames[C.ir_detect()])
	}
	compute.Register("cpu", driver{})
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// loadIQ3SGrid hands the IQ3_S codebook to C. The codebook is read back from
// the reference dequantizer of package quant (one block per entry with unit
// scale and no signs), so the table is written down in one place only.
func loadIQ3SGrid() {
	if !quant.CanDequantize(quant.IQ3_S) {
		return
	}
	block := make([]byte, quant.IQ3_S.TypeSize())
	block[1] = 0x3c // d = fp16 1.0; scales 0 give a group scale of 1
	out := make([]float32, 256)
	for i := 0; i < 512; i++ {
		block[2] = byte(i)         // qs[0]
		block[2+64] = byte(i >> 8) // qh[0] bit 0 extends the first index
		if err := quant.Dequantize(quant.IQ3_S, block, out); err != nil {
			return
		}
		var v uint32
		for j := 0; j < 4; j++ {
			v |= uint32(out[j]) << (8 * j)
		}
		C.ir_iq3s_grid[i] = C.uint32_t(v)
	}
	C.ir_iq3s_grid_ready = 1
}

// ISA returns the name of the kernel level in use.
func ISA() string { return isaNames[C.ir_isa()] }

type driver struct{}

func (driver) Devices() ([]compute.Device, error) {
	if initErr != nil {
		return nil, initErr
	}
	return []compute.Device{theCPU}, nil
}

type device struct{}

func (*device) Name() string { return "cpu" }

func (*device) Description() string {
	return fmt.Sprintf("%s CPU, %d threads, %s kernels", runtime.GOARCH, runtime.NumCPU(), ISA())
}

func (*device) Type() compute.DeviceType { return compute.DeviceCPU }

func (*device) Memory() (free, total int64) { return 0, 0 }

func (*device) Supports(op compute.Op, dt compute.DType) bool {
	switch op {
	case compute.OpGetRows:
		return kernelsOf(dt).toFloat
	case compute.OpMulMat, compute.OpMulMatID:
		return kernelsOf(dt).dot
	case compute.OpCopy:
		return dt == compute.F32 || dt == compute.F16
	case compute.OpConcat:
		return dt == compute.F32
	case compute.OpAttention, compute.OpAttentionPaged: // dt is the caches' type; q, k and v are F32
		return dt == compute.F32 || dt == compute.F16 || dt == compute.Q8_0 || dt == compute.Q4_0
	case compute.OpLeaf, compute.OpView:
		return true
	case compute.OpInput:
		return dt == compute.F32 || dt == compute.I32
	case compute.OpAdd, compute.OpMul, compute.OpScale, compute.OpRMSNorm, compute.OpRope,
		compute.OpSwiGLU, compute.OpGeGLU, compute.OpSoftmax, compute.OpSoftcap,
		compute.OpTopK, compute.OpExpertWeights, compute.OpWeightedSum, compute.OpLayerNorm, compute.OpGELU:
		return dt == compute.F32
	}
	return false
}

// buffer is C memory (Alloc) or pinned host memory (WrapHost).
type buffer struct {
	mu    sync.Mutex
	ptr   unsafe.Pointer
	size  int64
	owned bool
	pin   *runtime.Pinner
	packs map[packKey]*packMem // packed copies of weight matrices (pack.go)
	// mapped: 1 where the memory is a read-only file mapping whose packed
	// pages can be given back, -1 where not, 0 not yet known (release_*.go)
	mapped int8
	// id names the buffer to compute.Structure: a backend reuses the
	// converted ops of a graph for the next one only while the ids of its
	// leaves' buffers stay. A buffer gets a new id when the addresses kept
	// in converted ops may no longer hold: when it is freed or its packed
	// copies are dropped.
	id atomic.Uint64
}

// bufferIDs hands out buffer ids, never the same twice and never 0.
var bufferIDs atomic.Uint64

func newBuffer(ptr unsafe.Pointer, size int64, owned bool, pin *runtime.Pinner) *buffer {
	b := &buffer{ptr: ptr, size: size, owned: owned, pin: pin}
	b.id.Store(bufferIDs.Add(1))
	return b
}

func (*device) Alloc(size int64) (compute.Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("cpu: Alloc(%d): size must be positive", size)
	}
	p := C.calloc(1, C.size_t(size))
	if p == nil {
		return nil, fmt.Errorf("cpu: Alloc(%d): out of memory", size)
	}
	return newBuffer(p, size, true, nil), nil
}

func (*device) WrapHost(data []byte) (compute.Buffer, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("cpu: WrapHost: empty data")
	}
	// Pinning lets C keep the pointer when data is Go memory; for mmap'd
	// bytes it does nothing.
	pin := new(runtime.Pinner)
	pin.Pin(&data[0])
	return newBuffer(unsafe.Pointer(&data[0]), int64(len(data)), false, pin), nil
}

func (b *buffer) Device() compute.Device { return theCPU }
func (b *buffer) Size() int64            { return b.size }

func (b *buffer) bytes(off int64, n int) ([]byte, error) {
	if b.ptr == nil {
		return nil, fmt.Errorf("cpu: buffer used after Free")
	}
	if off < 0 || int64(n) > b.size || off > b.size-int64(n) {
		return nil, fmt.Errorf("cpu: bytes [%d, %d) outside a %d-byte buffer", off, off+int64(n), b.size)
	}
	return unsafe.Slice((*byte)(unsafe.Add(b.ptr, off)), n), nil
}

func (b *buffer) Write(off int64, src []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst, err := b.bytes(off, len(src))
	if err != nil {
		return err
	}
	if b.packs != nil {
		b.dropPacks()
		b.id.Store(bufferIDs.Add(1))
	}
	copy(dst, src)
	return nil
}

func (b *buffer) Read(off int64, dst []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	src, err := b.bytes(off, len(dst))
	if err != nil {
		return err
	}
	copy(dst, src)
	return nil
}

func (b *buffer) Free() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return nil
	}
	b.dropPacks()
	b.id.Store(bufferIDs.Add(1))
	if b.owned {
		C.free(b.ptr)
	}
	if b.pin != nil {
		b.pin.Unpin()
	}
	b.ptr = nil
	return nil
}

// pointer returns the address of byte off, after checking that n bytes fit.
func (b *buffer) pointer(off, n int64) (unsafe.Pointer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return nil, fmt.Errorf("cpu: buffer used after Free")
	}
	if off < 0 || n < 0 || n > b.size || off > b.size-n {
		return nil, fmt.Errorf("cpu: bytes [%d, %d) outside a %d-byte buffer", off, off+n, b.size)
	}
	return unsafe.Add(b.ptr, off), nil
}
