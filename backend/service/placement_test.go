package service

import (
	"testing"

	"inferenceruntime/backend/library"
	_ "inferenceruntime/inference/compute/cpu"
)

func TestParseGPULayers(t *testing.T) {
	for in, want := range map[string]int{"": GPULayersAuto, "auto": GPULayersAuto, "0": GPULayersNone, "7": 7, "all": 1 << 20} {
		if got, err := ParseGPULayers(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "x", "1.5"} {
		if _, err := ParseGPULayers(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if FromNumGPU(-1) != GPULayersAuto || FromNumGPU(0) != GPULayersNone || FromNumGPU(3) != 3 {
		t.Error("num_gpu mapped wrong")
	}
}

// TestPlaceCPU: the CPU asked for, no GPU layers, or no real GPU (a
// software device only, as in CI) place the model on the CPU, without the
// fallback that only automatic choices take.
func TestPlaceCPU(t *testing.T) {
	meta := library.Meta{HParams: library.HParams{Layers: 2, Embd: 128, Heads: 4, HeadsKV: 2, KeyLength: 32, ValueLength: 32}}
	for _, c := range []struct {
		backend string
		layers  int
	}{{"cpu", GPULayersAuto}, {"vulkan", GPULayersNone}, {"", GPULayersNone}} {
		p := Place(meta, 1<<20, 256, c.backend, "", c.layers)
		if p.Options.Backend != "cpu" || p.Options.GPULayers != 0 || p.Options.Fallback {
			t.Errorf("%q with %d layers: %+v (%s)", c.backend, c.layers, p.Options, p.Note)
		}
	}
	if d, _ := realGPU(); d == nil {
		if p := Place(meta, 1<<20, 256, "auto", "", GPULayersAuto); p.Options.Backend != "cpu" {
			t.Errorf("auto without a GPU: %+v (%s)", p.Options, p.Note)
		}
	}
}
