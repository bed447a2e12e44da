package compute

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// DeviceType tells what kind of hardware a Device is.
type DeviceType int

// Device types.
const (
	DeviceCPU DeviceType = iota
	DeviceGPU
)

// Device is one piece of hardware: the CPU, or one GPU. It owns memory
// (Buffers) and opens Backends that run graphs on it.
type Device interface {
	// Name is a short unique name such as "cpu" or "cuda0".
	Name() string
	// Description is a human readable summary (model, instruction set).
	Description() string
	// Type is DeviceCPU or DeviceGPU.
	Type() DeviceType
	// Memory reports free and total bytes, 0 when unknown.
	Memory() (free, total int64)
	// Alloc returns a zeroed buffer of size bytes in the device's memory
	// (KV cache, graph inputs).
	Alloc(size int64) (Buffer, error)
	// WrapHost makes host bytes (usually a slice of the mmap'd GGUF file)
	// usable as weights. The CPU wraps them without copying; a GPU uploads
	// them once. The caller keeps data alive and unchanged until the buffer
	// is freed.
	WrapHost(data []byte) (Buffer, error)
	// Supports reports whether the device can run op when its first operand
	// (the weight for MulMat and GetRows) has type dt.
	Supports(op Op, dt DType) bool
	// NewBackend opens a compute stream on the device.
	NewBackend(opts Options) (Backend, error)
}

// Options configure a Backend.
type Options struct {
	// Threads is the number of CPU threads; 0 picks the number of cores.
	Threads int
}

// Buffer is a range of memory that belongs to one Device. Tensors are views
// into buffers (NewTensor).
type Buffer interface {
	// Device is the device whose memory holds the buffer.
	Device() Device
	// Size is the buffer's length in bytes.
	Size() int64
	// Write copies src into the buffer at byte offset off.
	Write(off int64, src []byte) error
	// Read copies bytes at offset off into dst.
	Read(off int64, dst []byte) error
	// Free releases the memory; later use of the buffer is an error.
	// Freeing twice is harmless.
	Free() error
}

// Backend runs graphs on one Device. A Backend is not safe for concurrent
// use: one Compute at a time.
type Backend interface {
	// Device is the device the backend runs on.
	Device() Device
	// Compute runs every op of g in order, in one call to the device. It
	// returns g's first build error, a validation error, or a kernel error.
	Compute(g *Graph) error
	// Read copies an F32 tensor into dst (len(dst) == elements): a leaf
	// tensor, or a node marked with Graph.Output of the last computed graph.
	Read(t *Tensor, dst []float32) error
	// Close releases the backend's threads and scratch memory.
	Close() error
}

// Driver exposes the devices of one kind of backend. Drivers register
// themselves from an init function, like database/sql drivers.
type Driver interface {
	Devices() ([]Device, error)
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available under name. Like sql.Register it is
// meant for init functions and panics when name is taken or d is nil: both
// are programming errors, not runtime conditions.
func Register(name string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if d == nil {
		panic("compute: Register driver is nil")
	}
	if _, dup := drivers[name]; dup {
		panic("compute: Register called twice for driver " + name)
	}
	drivers[name] = d
}

// Drivers returns the names of the registered drivers, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrNoDriver is returned for a driver name that is not registered (usually a
// missing blank import such as _ "inferenceruntime/inference/compute/cpu").
var ErrNoDriver = errors.New("compute: no such driver")

// Devices returns the devices of the named driver.
func Devices(driver string) ([]Device, error) {
	driversMu.RLock()
	d, ok := drivers[driver]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (registered: %v)", ErrNoDriver, driver, Drivers())
	}
	devs, err := d.Devices()
	if err != nil {
		return nil, fmt.Errorf("compute: driver %q: %w", driver, err)
	}
	return devs, nil
}

// FirstDevice returns the first device of the named driver.
func FirstDevice(driver string) (Device, error) {
	devs, err := Devices(driver)
	if err != nil {
		return nil, err
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("compute: driver %q has no devices", driver)
	}
	return devs[0], nil
}

// FindDevice returns the device of the named driver called name (as
// Device.Name reports it), or its first device when name is "".
func FindDevice(driver, name string) (Device, error) {
	if name == "" {
		return FirstDevice(driver)
	}
	devs, err := Devices(driver)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		if d.Name() == name {
			return d, nil
		}
		names[i] = d.Name()
	}
	return nil, fmt.Errorf("compute: driver %q has no device %q (it has %v)", driver, name, names)
}
