package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"inferenceruntime/backend/httpapi"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
)

// TestPsCommand: `ir ps` asks the server at IR_HOST on loopback and shows
// the model its runner loaded: size, 100% CPU, the device and until when.
func TestPsCommand(t *testing.T) {
	home := t.TempDir()
	file := runSynth(t, filepath.Join(t.TempDir(), "ps.gguf"), 3, nil)
	ctx := context.Background()
	svc, err := service.Open(ctx, service.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.ImportModel(ctx, file, library.ImportOptions{Name: "psmodel"}); err != nil {
		t.Fatal(err)
	}
	runner := svc.NewRunner(false, service.RunnerOptions{Backend: "cpu", Threads: 1, MemoryLimit: -1})
	defer runner.Close()
	srv, err := httpapi.New(httpapi.Config{Host: "127.0.0.1", Port: 0, Logger: zerolog.Nop()}, svc, runner)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	keep := 30 * time.Minute
	if _, _, err := runner.Preload(ctx, "psmodel", &keep); err != nil {
		t.Fatal(err)
	}

	t.Setenv(envHost, strings.TrimPrefix(srv.URL(), "http://"))
	t.Setenv("IR_API_KEY", "")
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"ps", "--home", home})
	t.Cleanup(func() { rootCmd.SetArgs(nil); rootCmd.SetOut(nil); homeFlag = "" })
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "PROCESSOR") {
		t.Fatalf("ir ps:\n%s", out.String())
	}
	for _, want := range []string{"psmodel", "100% CPU", "cpu", "30 minutes from now"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("ir ps has no %q:\n%s", want, out.String())
		}
	}
}

// TestPsProcessor: the processor and device columns for a model on the
// CPU, split between the CPU and a GPU, and whole on the GPU.
func TestPsProcessor(t *testing.T) {
	for _, c := range []struct {
		m            psModel
		proc, device string
	}{
		{psModel{Device: "cpu", Layers: 16}, "100% CPU", "cpu"},
		{psModel{Device: "vulkan0+cpu", GPULayers: 4, Layers: 16}, "75%/25% CPU/GPU", "vulkan0+cpu (4/16 layers)"},
		{psModel{Device: "vulkan0", GPULayers: 16, Layers: 16}, "100% GPU", "vulkan0 (16/16 layers)"},
	} {
		if p, d := processor(c.m), deviceOf(c.m); p != c.proc || d != c.device {
			t.Errorf("%+v: %q, %q; want %q, %q", c.m, p, d, c.proc, c.device)
		}
	}
	now := time.Now()
	if u := until(now.Add(100*365*24*time.Hour), now); u != "Forever" {
		t.Errorf("until, kept: %q", u)
	}
}

// TestPsNoServer: without a server the error says how to start one.
func TestPsNoServer(t *testing.T) {
	t.Setenv(envHost, "127.0.0.1:1")
	if _, err := fetchPs("http://127.0.0.1:1", ""); err == nil || !strings.Contains(err.Error(), "ir serve") {
		t.Errorf("no server: %v", err)
	}
}
