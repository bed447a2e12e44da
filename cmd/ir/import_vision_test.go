package main

import (
	"strings"
	"testing"

	"inferenceruntime/internal/testshared"
)

// TestImportWithMmproj: ir import --mmproj pairs the projector, ir list and
// ir info say "vision", and ir run takes an image with no --mmproj.
func TestImportWithMmproj(t *testing.T) {
	vf := testshared.Vision(t)
	model, proj := vf.Model, vf.Projector
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
