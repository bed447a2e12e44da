package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDevicesCommand: every registered backend has a line, with devices or
// the reason it has none.
func TestDevicesCommand(t *testing.T) {
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"devices"})
	t.Cleanup(func() { rootCmd.SetArgs(nil); rootCmd.SetOut(nil) })
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	has := func(prefix string) bool {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	if !strings.HasPrefix(lines[0], "BACKEND") || !has("cpu ") || !has("vulkan ") {
		t.Errorf("ir devices:\n%s", out.String())
	}
}

func TestChooseBackend(t *testing.T) {
	t.Setenv("IR_BACKEND", "")
	defer func() { backendFlag = "" }()
	for _, c := range []struct{ flag, env, settings, want string }{
		{"", "", "auto", ""}, {"", "", "vulkan", "vulkan"}, {"", "vulkan", "cpu", "vulkan"},
		{"cpu", "vulkan", "vulkan", "cpu"}, {"auto", "vulkan", "", ""},
	} {
		backendFlag = c.flag
		t.Setenv("IR_BACKEND", c.env)
		if got := chooseBackend(c.settings); got != c.want {
			t.Errorf("--backend %q, IR_BACKEND %q, settings %q: %q, want %q", c.flag, c.env, c.settings, got, c.want)
		}
	}
}
