package vulkan

/*
#include "ir_vk.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// buffer is device memory. Where the host can map it (integrated GPUs,
// lavapipe) reads and writes are copies; elsewhere they go through the
// device's staging buffer.
type buffer struct {
	dev   *device
	mu    sync.Mutex
	b     *C.ir_vk_buf
	size  int64 // as asked
	alloc int64 // as allocated: whole 16-byte units, so shaders may read whole words
	mem   []byte
}

// stagingChunk bounds the host memory of a device's staging buffer;
// larger transfers go in pieces.
const stagingChunk = 64 << 20

func (d *device) newBuffer(size int64) (*buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("vulkan: buffer of %d bytes", size)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.open(); err != nil {
		return nil, err
	}
	alloc := (size + 15) &^ 15
	var msg [256]C.char
	b := C.ir_vk_buf_new(d.ctx, C.uint64_t(alloc), 0, &msg[0], C.int(len(msg)))
	if b == nil {
		return nil, fmt.Errorf("vulkan: %s: allocating %d bytes: %s", d.name, size, C.GoString(&msg[0]))
	}
	buf := &buffer{dev: d, b: b, size: size, alloc: alloc}
	if p := C.ir_vk_buf_map(b); p != nil {
		buf.mem = unsafe.Slice((*byte)(p), alloc)
		clear(buf.mem)
	} else if C.ir_vk_transfer(d.ctx, nil, 0, b, 0, C.uint64_t(alloc), &msg[0], C.int(len(msg))) != 0 {
		C.ir_vk_buf_free(d.ctx, b)
		return nil, fmt.Errorf("vulkan: %s: clearing a buffer: %s", d.name, C.GoString(&msg[0]))
	}
	d.used.Add(alloc)
	return buf, nil
}

// Alloc returns zeroed device memory.
func (d *device) Alloc(size int64) (compute.Buffer, error) { return d.newBuffer(size) }

// WrapHost uploads data once; the device keeps its own copy, so data may
// change or go away afterwards.
func (d *device) WrapHost(data []byte) (compute.Buffer, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("vulkan: WrapHost: empty data")
	}
	b, err := d.newBuffer(int64(len(data)))
	if err != nil {
		return nil, err
	}
	if err := b.Write(0, data); err != nil {
		b.Free()
		return nil, err
	}
	return b, nil
}

func (b *buffer) Device() compute.Device { return b.dev }
func (b *buffer) Size() int64            { return b.size }

func (b *buffer) check(off int64, n int) error {
	if b.b == nil {
		return fmt.Errorf("vulkan: buffer used after Free")
	}
	if off < 0 || int64(n) > b.size || off > b.size-int64(n) {
		return fmt.Errorf("vulkan: bytes [%d, %d) outside a %d-byte buffer", off, off+int64(n), b.size)
	}
	return nil
}

func (b *buffer) Write(off int64, src []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(off, len(src)); err != nil {
		return err
	}
	if b.mem != nil {
		copy(b.mem[off:], src)
		return nil
	}
	return b.dev.stage(b.b, off, src, true)
}

func (b *buffer) Read(off int64, dst []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(off, len(dst)); err != nil {
		return err
	}
	if b.mem != nil {
		copy(dst, b.mem[off:])
		return nil
	}
	return b.dev.stage(b.b, off, dst, false)
}

func (b *buffer) Free() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b == nil {
		return nil
	}
	b.dev.mu.Lock()
	C.ir_vk_buf_free(b.dev.ctx, b.b)
	b.dev.mu.Unlock()
	b.dev.used.Add(-b.alloc)
	b.b, b.mem = nil, nil
	return nil
}

// stage copies host bytes to (up) or from device memory through the staging
// buffer, a chunk at a time.
func (d *device) stage(dst *C.ir_vk_buf, off int64, host []byte, up bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var msg [256]C.char
	want := min(int64(len(host)), stagingChunk)
	if d.stSize < want {
		if d.staging != nil {
			C.ir_vk_buf_free(d.ctx, d.staging)
			d.staging, d.stSize, d.stMap = nil, 0, nil
		}
		s := C.ir_vk_buf_new(d.ctx, C.uint64_t(want), 1, &msg[0], C.int(len(msg)))
		if s == nil {
			return fmt.Errorf("vulkan: %s: staging buffer: %s", d.name, C.GoString(&msg[0]))
		}
		d.staging, d.stSize = s, want
		d.stMap = unsafe.Slice((*byte)(C.ir_vk_buf_map(s)), want)
	}
	for done := int64(0); done < int64(len(host)); {
		n := min(int64(len(host))-done, d.stSize)
		var rc C.int
		if up {
			copy(d.stMap, host[done:done+n])
			rc = C.ir_vk_transfer(d.ctx, d.staging, 0, dst, C.uint64_t(off+done), C.uint64_t(n), &msg[0], C.int(len(msg)))
		} else {
			rc = C.ir_vk_transfer(d.ctx, dst, C.uint64_t(off+done), d.staging, 0, C.uint64_t(n), &msg[0], C.int(len(msg)))
			copy(host[done:done+n], d.stMap)
		}
		if rc != 0 {
			return fmt.Errorf("vulkan: %s: transfer: %s", d.name, C.GoString(&msg[0]))
		}
		done += n
	}
	return nil
}
