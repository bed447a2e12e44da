package service

import "inferenceruntime/inference/compute"

// DeviceInfo is one compute device on this machine, or a backend that has
// none (Name "" and Error saying why), as `ir devices` and the desktop
// Settings list them.
type DeviceInfo struct {
	Backend     string `json:"backend"`     // the driver: "cpu", "vulkan"
	Name        string `json:"name"`        // the device, e.g. "vulkan0"; "" when the backend has none
	Description string `json:"description"` // model, driver and features
	GPU         bool   `json:"gpu"`         // a GPU (not the CPU, nor a software device)
	MemoryTotal int64  `json:"memoryTotal"` // bytes; 0 when unknown
	MemoryFree  int64  `json:"memoryFree"`  // bytes; 0 when unknown
	Error       string `json:"error,omitempty"`
}

// Devices lists every registered backend's devices; a backend without
// devices is one entry saying why (no Vulkan loader, no driver).
func Devices() []DeviceInfo {
	out := []DeviceInfo{}
	for _, name := range compute.Drivers() {
		devs, err := compute.Devices(name)
		switch {
		case err != nil:
			out = append(out, DeviceInfo{Backend: name, Error: "unavailable: " + err.Error()})
		case len(devs) == 0:
			out = append(out, DeviceInfo{Backend: name, Error: "no devices"})
		}
		for _, d := range devs {
			free, total := d.Memory()
			out = append(out, DeviceInfo{Backend: name, Name: d.Name(), Description: d.Description(),
				GPU: d.Type() == compute.DeviceGPU, MemoryTotal: total, MemoryFree: free})
		}
	}
	return out
}
