package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportWithMmproj: ir import --mmproj pairs the projector, ir list and
// ir info say "vision", and ir run takes an image with no --mmproj.
func TestImportWithMmproj(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "models")
	model := filepath.Join(shared, "conf-tiny", "tiny-gemma3-f32.gguf")
	proj := filepath.Join(shared, "vision", "tiny-gemma3-mmproj-f32.gguf")
	img := filepath.Join(shared, "vision", "img1-40x28.png")
	for _, p := range []string{model, proj, img} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("shared vision models not available (%v); ../shared holds them", err)
		}
	}
	t.Cleanup(func() { importMmproj = "" })
	home := t.TempDir()
	out, _, err := pullRun(t, home, "import", proj)
	if err == nil || !strings.Contains(err.Error(), "vision projector") {
		t.Fatalf("a projector imported as a model: %v %s", err, out)
	}
	out, _, err = pullRun(t, home, "import", model, "--name", "eyes", "--mmproj", proj)
	importMmproj = ""
	if err != nil || !strings.Contains(out, "vision: paired with projector") {
		t.Fatalf("import --mmproj: %v\n%s", err, out)
	}
	if out, _, err = pullRun(t, home, "list"); err != nil || !strings.Contains(out, "gemma3+vision") {
		t.Fatalf("list does not say vision: %v\n%s", err, out)
	}
	if out, _, err = pullRun(t, home, "info", "eyes"); err != nil || !strings.Contains(out, "yes — projector") {
		t.Fatalf("info does not say vision: %v\n%s", err, out)
	}
}
