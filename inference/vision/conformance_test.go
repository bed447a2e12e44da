package vision

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/internal/testshared"
)

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func maxDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, the reference has %d", len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

func cpuDevice(t testing.TB) compute.Device {
	t.Helper()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// TestConformance checks each step against llama.cpp: the preprocessed
// pixels exactly, the encoder's output and the image embeddings within the
// manifest's 1e-2, for both images and both projector files.
func TestConformance(t *testing.T) {
	// Projectors, images and llama.cpp's outputs for them
	// (../shared/models/MANIFEST.md, "vision/").
	visionDir := testshared.Dir(t, "models", "vision")
	dev := cpuDevice(t)
	for _, mm := range []string{"tiny-gemma3-mmproj-f32", "tiny-gemma3-mmproj-F16"} {
		p, err := Open(filepath.Join(visionDir, mm+".gguf"), dev)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if p.Tokens() != 9 || p.Dim() != 128 {
			t.Fatalf("%s: %d tokens of %d, want 9 of 128", mm, p.Tokens(), p.Dim())
		}
		for _, img := range []string{"img1-40x28", "img2-37x53"} {
			t.Run(mm+"/"+img, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(visionDir, img+".png"))
				if err != nil {
					t.Fatal(err)
				}
				rgb, err := DecodeImage(data)
				if err != nil {
					t.Fatal(err)
				}
				ref := filepath.Join(visionDir, "ref", img+"."+mm)
				cfg := p.Config()
				pixels, err := Preprocess(rgb, &cfg)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(t, pixels, readF32(t, ref+".pixels.f32")); d > 1e-5 {
					t.Errorf("pixels differ by %g (want exact)", d)
				}
				_, vit, err := p.run(pixels, compute.Options{Threads: 2}, true)
				if err != nil {
					t.Fatal(err)
				}
				dv := maxDiff(t, vit, readF32(t, ref+".vit.f32"))
				emb, err := p.Encode(rgb, compute.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				de := maxDiff(t, emb.Data, readF32(t, ref+".embd.f32"))
				t.Logf("max abs difference: encoder %.2e, embeddings %.2e", dv, de)
				if dv > 1e-2 || de > 1e-2 {
					t.Errorf("encoder differs by %g, embeddings by %g (tolerance 1e-2)", dv, de)
				}
			})
		}
	}
}
