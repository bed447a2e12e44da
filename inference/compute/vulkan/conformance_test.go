package vulkan_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/compute/backendtest"
	_ "inferenceruntime/inference/compute/vulkan"
	"inferenceruntime/internal/testshared"
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

// TestWithoutVulkan runs TestNoLoader in a process whose loader cannot be
// found, as on a machine without Vulkan.
func TestWithoutVulkan(t *testing.T) {
	if os.Getenv("IR_VULKAN_LOADER") != "" {
		t.Skip("already in the process without a loader")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestNoLoader$", "-test.v")
	cmd.Env = append(os.Environ(), "IR_VULKAN_LOADER=/nonexistent/libvulkan.so.1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNoLoader") {
		t.Fatalf("without a Vulkan loader: %v\n%s", err, out)
	}
}

// TestNoLoader: without a loader the driver says why it has no devices,
// asking for it is an error and models still run on the CPU.
func TestNoLoader(t *testing.T) {
	if os.Getenv("IR_VULKAN_LOADER") == "" {
		t.Skip("run by TestWithoutVulkan")
	}
	// A build without the headers says so instead, before looking for one.
	_, err := compute.Devices("vulkan")
	if err == nil || !strings.Contains(err.Error(), "no Vulkan loader at") && !strings.Contains(err.Error(), "without the Vulkan headers") {
		t.Errorf("Devices without a loader: %v", err)
	}
	path := filepath.Join(testshared.Dir(t, "models"), "stories260K-f32.gguf")
	if _, err := inference.Load(path, inference.Options{Backend: "vulkan"}); err == nil {
		t.Error("a model loaded on Vulkan without a loader")
	}
	m, err := inference.Load(path, inference.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(inference.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Logits(context.Background(), []int32{1, 403}); err != nil {
		t.Fatal(err)
	}
}
