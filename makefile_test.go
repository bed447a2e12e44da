package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Without a display `make run` shows the window on Xvfb, where nobody sees
// it; a silent, blocking terminal looks like a hang.
func TestMakeRunSaysWhereTheWindowIs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dryRun := func(display string) string {
		t.Helper()
		// -n prints the recipes without building anything.
		out, err := exec.Command("make", "-n", "run", "DISPLAY="+display).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n run: %v\n%s", err, out)
		}
		return string(out)
	}
	out := dryRun("")
	for _, want := range []string{"virtual display", "Ctrl-C", "make screenshot", "xvfb-run"} {
		if !strings.Contains(out, want) {
			t.Errorf("headless make run does not say %q:\n%s", want, out)
		}
	}
	if out := dryRun(":9"); strings.Contains(out, "virtual display") || strings.Contains(out, "xvfb-run") {
		t.Errorf("with a display, make run still talks of a virtual one:\n%s", out)
	}
}
