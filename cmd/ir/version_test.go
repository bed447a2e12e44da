package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"inferenceruntime/backend/buildinfo"
)

func TestVersionCommand(t *testing.T) {
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"version"})
	t.Cleanup(func() { rootCmd.SetArgs(nil); rootCmd.SetOut(nil) })
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Inference Runtime", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, "commit:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}

	out.Reset()
	rootCmd.SetArgs([]string{"version", "--json"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var info buildinfo.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("--json output %q: %v", out.String(), err)
	}
	if info != buildinfo.Get() {
		t.Errorf("--json gave %+v, want %+v", info, buildinfo.Get())
	}
	versionJSON = false

	// ir --version (what packaging checks run) says the same as ir version.
	out.Reset()
	rootCmd.SetArgs([]string{"--version"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != buildinfo.Get().String() {
		t.Errorf("--version printed %q, want %q", out.String(), buildinfo.Get().String())
	}
}
