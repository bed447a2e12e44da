package inference

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
)

// openNet places the model of f per opts: on the backend's device,
// or with opts.GPULayers of its blocks there and the rest on the CPU. With
// opts.Fallback, a device that fails to take the model (no device, out of
// memory, a weight type it lacks) leaves it on the CPU and the warning says
// why.
func openNet(f *gguf.File, opts Options) (net model.Model, dev compute.Device, p placed, warning string, err error) {
	net, dev, p, err = openOn(f, opts)
	if err == nil || !opts.Fallback || opts.Backend == "cpu" {
		return net, dev, p, "", err
	}
	warning = fmt.Sprintf("%s could not take the model, running it on the CPU instead: %v", opts.Backend, err)
	opts.Backend, opts.Device, opts.GPULayers = "cpu", "", 0
	net, dev, p, err = openOn(f, opts)
	if err != nil {
		return nil, nil, placed{}, "", err
	}
	return net, dev, p, warning, nil
}

// placed is how much of a model a device other than the CPU holds.
type placed struct {
	layers int   // blocks
	bytes  int64 // bytes of weights
}

func openOn(f *gguf.File, opts Options) (model.Model, compute.Device, placed, error) {
	gpu, err := compute.FindDevice(opts.Backend, opts.Device)
	if err != nil {
		return nil, nil, placed{}, err
	}
	cfg, err := model.ReadConfig(f)
	if err != nil {
		return nil, nil, placed{}, err
	}
	blocks := cfg.BlockCount
	dev := gpu
	var split *compute.Split
	if n := opts.GPULayers; opts.Backend != "cpu" && n > 0 && n <= blocks {
		cpu, err := compute.FirstDevice("cpu")
		if err != nil {
			return nil, nil, placed{}, err
		}
		layers := make([]compute.Device, blocks)
		for l := range layers {
			layers[l] = cpu
			if l >= blocks-n { // the last n, as llama.cpp offloads
				layers[l] = gpu
			}
		}
		if split, err = compute.NewSplit(cpu, layers); err != nil {
			return nil, nil, placed{}, err
		}
		dev = split
	}
	net, err := model.Open(f, dev)
	if err != nil {
		if split != nil {
			split.Close()
		}
		return nil, nil, placed{}, err
	}
	var p placed
	if opts.Backend != "cpu" {
		for _, t := range f.Tensors {
			if l, ok := model.BlockOf(t.Name); split == nil || (ok && split.LayerDevice(l) == gpu) {
				p.bytes += t.Size
			}
		}
		p.layers = blocks
		if split != nil {
			p.layers = split.Layers(gpu)
		}
	}
	return net, dev, p, nil
}

// closeDevice frees what a split device copied between its devices.
func closeDevice(dev compute.Device) error {
	if s, ok := dev.(*compute.Split); ok {
		return s.Close()
	}
	return nil
}
