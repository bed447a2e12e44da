package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/internal/testshared"
)

// TestLogitsWithImage: ir logits --mmproj --image --prompt --append-ids
// gives llama.cpp's teacher-forced logits of the shared image prompt.
func TestLogitsWithImage(t *testing.T) {
	vf := testshared.Vision(t)
	refDir := testshared.Dir(t, "models", "vision", "ref")
	raw, err := os.ReadFile(filepath.Join(refDir, "tiny-gemma3-f32.mmproj-f32.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Prompt string  `json:"prompt"`
		Greedy []int32 `json:"greedy_ids"`
		Logits string  `json:"logits_file"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range ref.Greedy[:len(ref.Greedy)-1] {
		ids = append(ids, fmt.Sprint(id))
	}
	out := filepath.Join(t.TempDir(), "logits.f32")
	t.Cleanup(func() { logitsMmproj, logitsImages, logitsAppendIDs, logitsPrompt, logitsOut = "", nil, "", "", "" })
	if _, _, err := pullRun(t, t.TempDir(), "logits", vf.Model, "--mmproj", vf.Projector, "--image", vf.Image,
		"--prompt", ref.Prompt, "--append-ids", strings.Join(ids, ","), "--out", out); err != nil {
		t.Fatal(err)
	}
	worst := maxAbsDiff(t, readF32(t, out), readF32(t, filepath.Join(refDir, ref.Logits)))
	if worst > 3e-2 {
		t.Errorf("largest difference from llama.cpp %g, want <= 3e-2 (the manifest's vision tolerance)", worst)
	}
	t.Logf("max |Δ| %g", worst)
}
