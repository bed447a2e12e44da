package service

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference"
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
)

// GPU layer counts besides a number of blocks.
const (
	// GPULayersAuto puts as many blocks on the GPU as its free memory
	// takes (the zero value of the options that carry it).
	GPULayersAuto = 0
	// GPULayersNone keeps the model off the GPU.
	GPULayersNone = -1
)

// ParseGPULayers reads --gpu-layers: "auto" (or ""), "all", or a number of
// blocks, 0 meaning none.
func ParseGPULayers(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return GPULayersAuto, nil
	case "all", "max":
		return 1 << 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, Invalid("gpu-layers", "%q: want auto, all or a number of layers", s)
	}
	return FromNumGPU(n), nil
}

// FromNumGPU maps Ollama's num_gpu (-1 as many as fit, 0 the CPU only, N
// layers) to a GPU layer count of these options.
func FromNumGPU(n int) int {
	switch {
	case n < 0:
		return GPULayersAuto
	case n == 0:
		return GPULayersNone
	}
	return n
}

// Placement is where a model is to run: the options that put it there and
// one line that says what was decided and why.
type Placement struct {
	Options inference.Options
	Note    string
}

// Place decides where a model described by meta, of fileSize bytes, runs
// with ctx tokens of KV cache in all (every session's together). backend is
// "" or "auto" (a real GPU when there is one and at least one block fits in
// its free memory, else the CPU), "cpu" or a driver name, with device the
// name of one of its devices ("" = its first); gpuLayers is a number of
// blocks, GPULayersAuto or GPULayersNone. The memory estimate is
// library.EstimateFit's. Automatic choices fall back to the CPU, with a
// warning, when the device then fails to take the model.
func Place(meta library.Meta, fileSize int64, ctx int, backend, device string, gpuLayers int) Placement {
	auto := backend == "" || backend == "auto"
	if backend == "cpu" || gpuLayers == GPULayersNone {
		return Placement{Options: inference.Options{Backend: "cpu"}, Note: "CPU"}
	}
	var dev compute.Device
	if auto {
		dev, backend = realGPU()
		if dev == nil {
			return Placement{Options: inference.Options{Backend: "cpu"}, Note: "CPU (no GPU found)"}
		}
	} else if d, err := compute.FindDevice(backend, device); err == nil {
		dev = d
	} else {
		// Loading says what is missing.
		return Placement{Options: inference.Options{Backend: backend, Device: device}, Note: backend}
	}
	blocks := int(meta.HParams.Layers)
	o := inference.Options{Backend: backend, Fallback: auto}
	if !auto {
		o.Device = device
	}
	if gpuLayers == GPULayersAuto {
		free, _ := dev.Memory()
		if free <= 0 { // unknown: trust the device to take it
			return Placement{Options: o, Note: fmt.Sprintf("%s (%s): all layers", dev.Name(), dev.Description())}
		}
		gpuLayers = library.OffloadLayers(meta, fileSize, int64(ctx), 4, free)
		if gpuLayers == 0 {
			return Placement{Options: inference.Options{Backend: "cpu"},
				Note: fmt.Sprintf("CPU (no layer fits the %.1f GiB free on %s)", float64(free)/(1<<30), dev.Name())}
		}
	}
	if blocks <= 0 || gpuLayers > blocks {
		return Placement{Options: o, Note: fmt.Sprintf("%s: all layers", dev.Name())}
	}
	o.GPULayers = gpuLayers
	return Placement{Options: o, Note: fmt.Sprintf("%s: %d of %d blocks, the rest on the CPU", dev.Name(), gpuLayers, blocks)}
}

// PlaceFile is Place for a GGUF file that is not in the library.
func PlaceFile(path string, ctx int, backend string, gpuLayers int) (Placement, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return Placement{}, err
	}
	defer f.Close()
	meta := library.ReadMeta(f)
	if ctx <= 0 {
		ctx = int(min(max(meta.ContextLength, 1), 4096))
	}
	return Place(meta, f.Size(), ctx, backend, "", gpuLayers), nil
}

// realGPU returns the first GPU of a driver besides the CPU's, skipping
// software devices (lavapipe reports itself as a CPU): on those the CPU
// backend is faster.
func realGPU() (compute.Device, string) {
	for _, name := range compute.Drivers() {
		if name == "cpu" {
			continue
		}
		devs, _ := compute.Devices(name)
		for _, d := range devs {
			if d.Type() == compute.DeviceGPU {
				return d, name
			}
		}
	}
	return nil, ""
}

// warnFallback prints the one line saying that a model runs on the CPU
// instead of the device chosen for it.
func warnFallback(warn func(string), name string, info inference.Info) {
	if info.Warning == "" {
		return
	}
	line := fmt.Sprintf("warning: %s: %s", name, info.Warning)
	if warn == nil {
		fmt.Fprintln(os.Stderr, line)
		return
	}
	warn(line)
}
