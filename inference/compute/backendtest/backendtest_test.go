package backendtest

import (
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/vulkan"
	"inferenceruntime/inference/internal/ref"
)

// devices returns the devices of every registered driver but the CPU, and
// skips the test, saying why, when there are none.
func devices(t *testing.T) map[string][]compute.Device {
	out := map[string][]compute.Device{}
	var why []string
	for _, name := range compute.Drivers() {
		if name == "cpu" {
			continue
		}
		devs, err := compute.Devices(name)
		switch {
		case err != nil:
			why = append(why, err.Error())
		case len(devs) == 0:
			why = append(why, name+": no devices")
		default:
			out[name] = devs
		}
	}
	if len(out) == 0 {
		t.Skipf("no device to test besides the CPU: %v (Linux: apt-get install mesa-vulkan-drivers libvulkan1 gives a software Vulkan device)", why)
	}
	return out
}

func TestOps(t *testing.T) {
	for _, devs := range devices(t) {
		for _, d := range devs {
			t.Run(d.Name(), func(t *testing.T) {
				t.Logf("%s: %s", d.Name(), d.Description())
				Ops(t, d)
			})
		}
	}
}

func TestModels(t *testing.T) {
	if testing.Short() {
		t.Skip("whole models take a while on a software device")
	}
	for name := range devices(t) {
		t.Run(name, func(t *testing.T) { Models(t, name, "", nil) })
	}
}

// TestFamilyModels runs the other families' references; a model whose ops a
// device lacks (MoE products) is skipped by name, so the gap shows.
func TestFamilyModels(t *testing.T) {
	if testing.Short() {
		t.Skip("whole models take a while on a software device")
	}
	for name, devs := range devices(t) {
		var models []string
		for _, m := range ref.FamilyModels {
			if strings.Contains(m, "moe") && !devs[0].Supports(compute.OpMulMatID, compute.F32) {
				t.Logf("%s: skipping %s: no MulMatID (mixture of experts) on %s", name, m, devs[0].Name())
				continue
			}
			models = append(models, m)
		}
		t.Run(name, func(t *testing.T) { Models(t, name, "", models) })
	}
}

// TestModelsF16Cache: the llama and qwen2 references with an F16 KV cache,
// which llama.cpp itself moves by at most 1e-2 on the F32 files.
func TestModelsF16Cache(t *testing.T) {
	if testing.Short() {
		t.Skip("whole models take a while on a software device")
	}
	for name := range devices(t) {
		t.Run(name, func(t *testing.T) { Models(t, name, "f16", nil) })
	}
}
