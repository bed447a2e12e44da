package inference_test

import (
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/internal/testshared"
)

// TestFallback: a backend that cannot take the model leaves it on the CPU
// with a warning when asked to, and fails the load when not.
func TestFallback(t *testing.T) {
	path := filepath.Join(testshared.Dir(t, "models"), "stories260K-f32.gguf")
	if _, err := inference.Load(path, inference.Options{Backend: "nosuch"}); err == nil {
		t.Fatal("loaded on a backend that does not exist")
	}
	m, err := inference.Load(path, inference.Options{Backend: "nosuch", GPULayers: 2, Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	if info.Device != "cpu" || info.GPULayers != 0 || info.VRAM != 0 || !strings.Contains(info.Warning, "nosuch") {
		t.Errorf("device %q, %d layers, %d bytes on the GPU, warning %q", info.Device, info.GPULayers, info.VRAM, info.Warning)
	}
	cpu, err := inference.Load(path, inference.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if i := cpu.Info(); i.Device != "cpu" || i.Warning != "" || i.VRAM != 0 {
		t.Errorf("on the CPU: %+v", i)
	}
}
