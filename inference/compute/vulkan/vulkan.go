// Package vulkan is the Vulkan compute backend: GPUs of every vendor (and
// Mesa's software device, lavapipe) through one API. The Vulkan loader is
// opened at run time, so a binary built with this package starts, and runs
// on the CPU, where Vulkan is missing; the driver then reports why it has no
// devices. Import it for its side effect of registering the "vulkan" driver:
//
//	import _ "inferenceruntime/inference/compute/vulkan"
//
// Weights are uploaded once, the KV cache lives in device memory, and each
// graph is recorded into one command buffer and submitted once. The compute
// shaders are GLSL in shaders/, compiled to SPIR-V by `make shaders`.
//
// IR_VULKAN_LOADER names the loader library to open instead of the
// system's (a Vulkan SDK's, or a path that does not exist to check how the
// program runs without Vulkan). IR_VULKAN_STAGING=1 keeps device memory unmapped even where the host could
// map it, so that the copies through staging buffers that discrete GPUs need
// are exercised on an integrated or software device.
package vulkan

/*
#cgo CFLAGS: -O2 -Wall
#cgo linux LDFLAGS: -ldl
#include <stdlib.h>
#include "ir_vk.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

func init() { compute.Register("vulkan", driver{}) }

var (
	loadOnce sync.Once
	loadErr  error
	devs     []*device
)

// load opens the loader and lists the devices, GPUs before software ones.
func load() {
	var msg [256]C.char
	var path *C.char
	if p := os.Getenv("IR_VULKAN_LOADER"); p != "" {
		path = C.CString(p)
		defer C.free(unsafe.Pointer(path))
	}
	if C.ir_vk_init(path, &msg[0], C.int(len(msg))) != 0 {
		loadErr = fmt.Errorf("vulkan: %s", C.GoString(&msg[0]))
		return
	}
	for i := 0; i < int(C.ir_vk_device_count()); i++ {
		d := &device{index: i}
		if C.ir_vk_device_info(C.int(i), &d.info) != 0 {
			continue
		}
		devs = append(devs, d)
	}
	sort.SliceStable(devs, func(a, b int) bool { return typeRank(devs[a].info._type) < typeRank(devs[b].info._type) })
	for i, d := range devs {
		d.name = fmt.Sprintf("vulkan%d", i)
	}
}

// typeRank orders VkPhysicalDeviceType values: discrete, integrated,
// virtual, other, CPU.
func typeRank(t C.uint32_t) int {
	switch t {
	case 2:
		return 0
	case 1:
		return 1
	case 3:
		return 2
	case 4:
		return 4
	}
	return 3
}

type driver struct{}

// Devices returns the Vulkan devices, or why there are none: no loader, or
// a loader that cannot create an instance.
func (driver) Devices() ([]compute.Device, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	out := make([]compute.Device, len(devs))
	for i, d := range devs {
		out[i] = d
	}
	return out, nil
}

// device is one physical device; its logical device is created on first
// use, so that listing devices costs nothing.
type device struct {
	index int
	name  string
	info  C.ir_vk_info

	mu      sync.Mutex // the queue, the staging buffer and the pipelines
	ctx     *C.ir_vk_ctx
	openErr error
	opened  bool
	pipes   map[string]C.int
	staging *C.ir_vk_buf
	stSize  int64
	stMap   []byte

	used atomic.Int64 // bytes of buffers alive
}

var vendors = map[uint32]string{
	0x1002: "AMD", 0x1010: "ImgTec", 0x10de: "NVIDIA", 0x13b5: "ARM", 0x5143: "Qualcomm",
	0x8086: "Intel", 0x106b: "Apple", 0x10005: "Mesa",
}

var deviceTypes = []string{"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"}

func (d *device) Name() string { return d.name }

func (d *device) vendor() string {
	if v, ok := vendors[uint32(d.info.vendor_id)]; ok {
		return v
	}
	return fmt.Sprintf("vendor 0x%04x", uint32(d.info.vendor_id))
}

// Description names the device, its vendor, kind, driver, Vulkan version,
// memory and the features that matter to the kernels.
func (d *device) Description() string {
	i := &d.info
	kind := "other"
	if int(i._type) < len(deviceTypes) {
		kind = deviceTypes[i._type]
	}
	v := uint32(i.api_version)
	parts := []string{d.vendor(), kind}
	if drv := C.GoString(&i.driver[0]); drv != "" {
		parts = append(parts, "driver "+drv)
	}
	parts = append(parts, fmt.Sprintf("Vulkan %d.%d.%d", v>>22&0x7f, v>>12&0x3ff, v&0xfff),
		fmt.Sprintf("%.1f GiB", float64(i.vram)/(1<<30)))
	var feats []string
	if i.fp16 != 0 {
		feats = append(feats, "fp16")
	}
	if i.int8_dot != 0 {
		feats = append(feats, "int8 dot")
	}
	if i.subgroup != 0 {
		feats = append(feats, fmt.Sprintf("subgroup %d", i.subgroup))
	}
	if len(feats) > 0 {
		parts = append(parts, strings.Join(feats, ", "))
	}
	return fmt.Sprintf("%s (%s)", C.GoString(&i.name[0]), strings.Join(parts, "; "))
}

func (d *device) Type() compute.DeviceType {
	if d.info._type == 4 {
		return compute.DeviceCPU
	}
	return compute.DeviceGPU
}

// Memory reports the device-local memory and what is free of it: the
// driver's budget (VK_EXT_memory_budget, which counts other processes too)
// where it has one, else the total less what this process holds.
func (d *device) Memory() (free, total int64) {
	total = int64(d.info.vram)
	if b := int64(C.ir_vk_device_budget(C.int(d.index))); b >= 0 {
		return min(b, total), total
	}
	return max(total-d.used.Load(), 0), total
}

// weightTypes maps the types MulMat and GetRows read to their shaders'
// suffix.
var weightTypes = map[compute.DType]string{
	quant.F32: "f32", quant.F16: "f16", quant.BF16: "bf16", quant.Q8_0: "q8_0", quant.Q4_0: "q4_0",
	quant.Q4_1: "q4_1", quant.Q5_0: "q5_0", quant.Q5_1: "q5_1", quant.Q2_K: "q2_k", quant.Q3_K: "q3_k",
	quant.Q4_K: "q4_k", quant.Q5_K: "q5_k", quant.Q6_K: "q6_k", quant.IQ4_NL: "iq4_nl", quant.IQ4_XS: "iq4_xs",
}

func (d *device) Supports(op compute.Op, dt compute.DType) bool {
	switch op {
	case compute.OpGetRows, compute.OpMulMat, compute.OpMulMatID:
		_, ok := weightTypes[dt]
		return ok
	case compute.OpCopy:
		return dt == compute.F32 || dt == compute.F16
	case compute.OpLeaf, compute.OpView:
		return true
	case compute.OpInput:
		return dt == compute.F32 || dt == compute.I32
	case compute.OpAttention, compute.OpAttentionPaged: // dt is the caches' type: the shader reads F32 and F16 rows
		return dt == compute.F32 || dt == compute.F16
	case compute.OpAdd, compute.OpMul, compute.OpScale, compute.OpRMSNorm, compute.OpRope,
		compute.OpSwiGLU, compute.OpGeGLU, compute.OpSoftmax, compute.OpSoftcap, compute.OpLayerNorm, compute.OpGELU,
		compute.OpTopK, compute.OpExpertWeights, compute.OpWeightedSum, compute.OpConcat:
		return dt == compute.F32
	}
	return false
}

// subgroups reports whether the shaders that sum with subgroup operations
// run on the device (Vulkan 1.1 with subgroup arithmetic in compute).
// IR_VULKAN_SUBGROUPS=0 turns them off, to test the portable shaders.
func (d *device) subgroups() bool {
	v := uint32(d.info.api_version)
	major, minor := v>>22&0x7f, v>>12&0x3ff
	return d.info.subgroup_arith != 0 && (major > 1 || minor >= 1) && os.Getenv("IR_VULKAN_SUBGROUPS") != "0"
}

// open creates the logical device on first use. The caller holds d.mu.
func (d *device) open() error {
	if d.opened {
		return d.openErr
	}
	d.opened = true
	var msg [256]C.char
	staging := C.int(0)
	if os.Getenv("IR_VULKAN_STAGING") == "1" {
		staging = 1
	}
	d.ctx = C.ir_vk_open(C.int(d.index), staging, &msg[0], C.int(len(msg)))
	if d.ctx == nil {
		d.openErr = fmt.Errorf("vulkan: %s: %s", d.name, C.GoString(&msg[0]))
	}
	d.pipes = map[string]C.int{}
	return d.openErr
}

// pipeline returns the index of a shader's pipeline, creating it on first
// use. The caller holds d.mu.
func (d *device) pipeline(name string) (C.int, error) {
	if p, ok := d.pipes[name]; ok {
		return p, nil
	}
	code, err := shaderCode(name)
	if err != nil {
		return 0, err
	}
	var msg [256]C.char
	cs := C.CBytes(code)
	defer C.free(cs)
	p := C.ir_vk_pipeline(d.ctx, cs, C.size_t(len(code)), &msg[0], C.int(len(msg)))
	if p < 0 {
		return 0, fmt.Errorf("vulkan: shader %s: %s", name, C.GoString(&msg[0]))
	}
	d.pipes[name] = p
	return p, nil
}

func (d *device) NewBackend(compute.Options) (compute.Backend, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.open(); err != nil {
		return nil, err
	}
	var msg [256]C.char
	s := C.ir_vk_stream_new(d.ctx, &msg[0], C.int(len(msg)))
	if s == nil {
		return nil, fmt.Errorf("vulkan: %s: %s", d.name, C.GoString(&msg[0]))
	}
	return &backend{dev: d, stream: s}, nil
}
