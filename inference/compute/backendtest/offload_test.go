package backendtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/internal/ref"
)

// TestOffload splits every conf-tiny model at each layer boundary, the
// last n blocks on the device and the rest, the embedding and the output
// head on the CPU, and checks the logits against llama.cpp's like
// TestModels: the activations crossing between the devices lose nothing,
// in a batch and in decoding steps.
func TestOffload(t *testing.T) {
	if testing.Short() {
		t.Skip("whole models take a while on a software device")
	}
	var models []string
	for _, m := range append(append([]string{}, ref.ConformanceModels...), ref.FamilyModels...) {
		if strings.HasPrefix(m, "conf-tiny/") {
			models = append(models, m)
		}
	}
	for name, devs := range devices(t) {
		t.Run(name, func(t *testing.T) {
			for n := 1; ; n++ {
				blocks := 0
				var ms []string
				for _, m := range models {
					if strings.Contains(m, "moe") && !devs[0].Supports(compute.OpMulMatID, compute.F32) {
						continue
					}
					ms = append(ms, m)
				}
				t.Run(fmt.Sprintf("gpu-layers=%d", n), func(t *testing.T) {
					ref.CheckModels(t, ms, func(t *testing.T, c ref.Case) []float32 {
						m, err := inference.Load(c.ModelPath, inference.Options{Backend: name, GPULayers: n})
						if err != nil {
							t.Fatal(err)
						}
						defer m.Close()
						info := m.Info()
						blocks = max(blocks, info.Layers)
						if info.GPULayers != min(n, info.Layers) || info.VRAM <= 0 || info.Warning != "" {
							t.Errorf("placed %d of %d blocks (%d bytes) on %s (%s), want %d", info.GPULayers, info.Layers, info.VRAM, info.Device, info.Warning, n)
						}
						s, err := m.NewSession(inference.SessionOptions{})
						if err != nil {
							t.Fatal(err)
						}
						defer s.Close()
						// Half the prompt as one batch, then a token a step,
						// as decoding reads the caches on both devices.
						h := len(c.Tokens) / 2
						got, err := s.Logits(context.Background(), c.Tokens[:h])
						if err != nil {
							t.Fatal(err)
						}
						for _, tok := range c.Tokens[h:] {
							row, err := s.Eval(context.Background(), []int32{tok})
							if err != nil {
								t.Fatal(err)
							}
							got = append(got, row...)
						}
						return got
					})
				})
				if n >= blocks {
					return
				}
			}
		})
	}
}
