package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/internal/testshared"
)

// TestImageEmbed: ir image-embed writes the projector's vectors, which
// agree with llama.cpp's for the shared tiny Gemma 3 projector.
func TestImageEmbed(t *testing.T) {
	vf := testshared.Vision(t)
	ref := testshared.Dir(t, "models", "vision", "ref", "img1-40x28.tiny-gemma3-mmproj-f32.embd.f32")
	out := filepath.Join(t.TempDir(), "img.f32")
	t.Cleanup(func() { imageEmbedOut = "" })
	stdout, _, err := pullRun(t, t.TempDir(), "image-embed", vf.Projector, vf.Image, "--out", out)
	if err != nil || !strings.Contains(stdout, "9 tokens of 128 values") {
		t.Fatalf("image-embed: %v\n%s", err, stdout)
	}
	if worst := maxAbsDiff(t, readF32(t, out), readF32(t, ref)); worst > 1e-2 {
		t.Errorf("largest difference from llama.cpp %g, want <= 1e-2", worst)
	}
}

// maxAbsDiff is the largest |got-want| of two vectors of one length.
func maxAbsDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, llama.cpp has %d", len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	return worst
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
