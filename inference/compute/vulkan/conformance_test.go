package vulkan_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/compute/backendtest"
	_ "inferenceruntime/inference/compute/vulkan"
)

// TestOps is the shared op conformance suite on every Vulkan device.
func TestOps(t *testing.T) {
	devs, err := compute.Devices("vulkan")
	if err != nil || len(devs) == 0 {
		t.Skipf("no Vulkan device (%v); Linux: apt-get install mesa-vulkan-drivers libvulkan1", err)
	}
	for _, d := range devs {
		t.Run(d.Name(), func(t *testing.T) { backendtest.Ops(t, d) })
	}
}

// TestPortablePaths runs the op suite and the buffer tests again in a
// process that uses neither subgroup operations nor mapped device memory:
// the shaders for devices without subgroup arithmetic, and the staging
// copies that discrete GPUs need.
func TestPortablePaths(t *testing.T) {
	if os.Getenv("IR_VULKAN_STAGING") == "1" {
		t.Skip("already in the portable process")
	}
	devs, err := compute.Devices("vulkan")
	if err != nil || len(devs) == 0 {
		t.Skipf("no Vulkan device (%v)", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestOps|TestBuffers|TestGraph)$", "-test.v")
	cmd.Env = append(os.Environ(), "IR_VULKAN_STAGING=1", "IR_VULKAN_SUBGROUPS=0")
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"--- PASS: TestOps", "--- PASS: TestBuffers", "--- PASS: TestGraph"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("with IR_VULKAN_STAGING=1 IR_VULKAN_SUBGROUPS=0: %v, no %q\n%s", err, want, out)
		}
	}
}
